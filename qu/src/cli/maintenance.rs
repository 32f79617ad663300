//! Command-line surface of maintenance windows and silences.

use clap::{Args, Subcommand};

use super::JsonArg;

#[derive(Debug, Subcommand)]
pub enum MaintenanceCmd {
    /// Add a window: once (--start … --for 2h) or weekly (--every mon,wed
    /// --at 02:00 --for 1h --tz Europe/Berlin).
    ///
    /// During a window the checks keep being probed and show `maintenance`
    /// in `qu status`, but no DOWN (and no reminder) is sent; a check still
    /// down when the window ends alerts then, once.
    ///
    /// Example: qu maintenance add --checks web,api --start now --for 2h --reason "db upgrade"
    Add(MaintenanceAdd),
    /// List the windows and silences.
    ///
    /// Example: qu maintenance list
    List(JsonArg),
    /// Remove a window by id (see `qu maintenance list`).
    ///
    /// Example: qu maintenance remove 3f9a1c2b
    Remove {
        /// The window's id
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct MaintenanceAdd {
    /// The checks it covers (names or ids, comma-separated)
    #[arg(long, value_delimiter = ',', required = true, value_name = "CHECKS")]
    pub checks: Vec<String>,
    /// When a one-off window opens: `now` or an RFC 3339 time
    #[arg(long, value_name = "TIME", conflicts_with = "every")]
    pub start: Option<String>,
    /// The days of a weekly window (mon,tue,…,sun)
    #[arg(long, value_delimiter = ',', value_name = "DAYS", requires = "at")]
    pub every: Vec<String>,
    /// The local time of day a weekly window opens (HH:MM)
    #[arg(long, value_name = "HH:MM", requires = "every")]
    pub at: Option<String>,
    /// The time zone of --at (IANA name, e.g. Europe/Berlin)
    #[arg(long, value_name = "ZONE", default_value = "UTC", requires = "every")]
    pub tz: String,
    /// How long each occurrence lasts (at most 365d; weekly at most 7d)
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: String,
    /// Why (shown in `qu maintenance list`)
    #[arg(long, default_value = "")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct SilenceArgs {
    /// The check (name or id)
    pub check: String,
    /// How long, from now
    #[arg(
        long = "for",
        value_name = "DURATION",
        required_unless_present = "clear"
    )]
    pub duration: Option<String>,
    /// End the check's silences now instead
    #[arg(long, conflicts_with = "duration")]
    pub clear: bool,
}
