//! `qu alert …`: alert channel commands and their flags.

use clap::{Args, Subcommand};

use crate::cli::JsonArg;

#[derive(Debug, Subcommand)]
pub enum AlertCmd {
    /// Add an alert channel (smtp, discord or webhook).
    ///
    /// Example: qu alert add webhook pager --url https://hooks.example.com/qu
    #[command(subcommand)]
    Add(AlertAdd),
    /// List channels (passwords, secrets and webhook paths masked).
    ///
    /// Example: qu alert list --json
    List(JsonArg),
    /// Change settings of a channel: --set key=value (empty value removes it).
    ///
    /// Example: qu alert edit ops --set port=465 --set tls=tls
    Edit {
        /// Id or name
        alert: String,
        /// key=value (repeatable)
        #[arg(long = "set", value_name = "KEY=VALUE", required = true)]
        set: Vec<String>,
    },
    /// Send again through a channel.
    ///
    /// Example: qu alert enable oncall
    Enable {
        /// Id or name
        alert: String,
    },
    /// Stop sending through a channel, keeping it.
    ///
    /// Example: qu alert disable oncall
    Disable {
        /// Id or name
        alert: String,
    },
    /// Attach (on) or detach (off) a channel to every check.
    ///
    /// Example: qu alert default oncall on
    Default {
        /// Id or name
        alert: String,
        /// on or off
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Remove a channel (checks stop referring to it).
    ///
    /// Example: qu alert remove oncall
    Remove {
        /// Id or name
        alert: String,
    },
    /// Send `[quptime] test alert` through a channel and report the receiver's answer.
    ///
    /// Example: qu alert test oncall
    Test {
        /// Id or name
        alert: String,
    },
}

#[derive(Debug, Args)]
pub struct AlertCommon {
    /// Attach this channel to every check (also --default=true|false)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub default: bool,
    /// Subject template ({check} {target} {state} {from} {evidence} {master} {time} {type} {detail})
    #[arg(long, value_name = "TEMPLATE")]
    pub subject_template: Option<String>,
    /// Body template (same placeholders)
    #[arg(long, value_name = "TEMPLATE")]
    pub body_template: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AlertAdd {
    /// E-mail through an SMTP server.
    ///
    /// Example: qu alert add smtp ops --host smtp.example.com --port 587 --from monitor@example.com --to ops@example.com --user bot --password '****' --starttls
    Smtp {
        /// Unique name
        name: String,
        /// Mail server
        #[arg(long)]
        host: String,
        /// Port (587 for STARTTLS, 465 for implicit TLS, 25 for local relays)
        #[arg(long)]
        port: u16,
        /// Sender address
        #[arg(long)]
        from: String,
        /// Recipients, comma-separated
        #[arg(long)]
        to: String,
        /// Login user (PLAIN/LOGIN auth)
        #[arg(long)]
        user: Option<String>,
        /// Login password
        #[arg(long)]
        password: Option<String>,
        /// Transport security: starttls, tls (implicit) or none (local relays only);
        /// --tls=true is tls, --tls=false is none
        #[arg(long, value_parser = ["starttls", "tls", "none", "true", "false"], default_value = "starttls")]
        tls: String,
        /// The original qu's flag: --starttls (or --starttls=true) is --tls starttls,
        /// --starttls=false is --tls none
        #[arg(long, conflicts_with = "tls", num_args = 0..=1, require_equals = true,
              default_missing_value = "true", value_name = "BOOL")]
        starttls: Option<bool>,
        /// Allow --user/--password over --tls none: the password travels in
        /// clear (only for a trusted local relay)
        #[arg(long)]
        allow_plain_auth: bool,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// A Discord channel webhook.
    ///
    /// Example: qu alert add discord oncall --webhook https://discord.com/api/webhooks/…
    Discord {
        /// Unique name
        name: String,
        /// The channel's webhook URL
        #[arg(long)]
        webhook: String,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// A JSON webhook (documented body; optional HMAC-SHA256 signature).
    ///
    /// Example: qu alert add webhook pager --url https://hooks.example.com/qu --header 'Authorization: Bearer x' --secret s3cret
    Webhook {
        /// Unique name
        name: String,
        /// Receiver URL
        #[arg(long)]
        url: String,
        /// HTTP method: POST, PUT or PATCH
        #[arg(long, default_value = "POST")]
        method: String,
        /// Extra header `Name: value` (repeatable)
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// Shared secret: adds X-Quptime-Signature: sha256=<HMAC of the body>
        #[arg(long)]
        secret: Option<String>,
        #[command(flatten)]
        common: AlertCommon,
    },
}
