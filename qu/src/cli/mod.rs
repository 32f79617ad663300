//! The command-line surface, declared with clap. Every command carries help
//! text and an example; `check` lives in its own file.

mod alert;
mod backup;
mod check;
mod maintenance;
mod ops;

use clap::{Args, Parser, Subcommand};

pub use alert::{AlertAdd, AlertCmd, AlertCommon, BaseUrl, Reach, WebhookArgs};
pub use backup::{BackupCmd, RecoverArgs};
pub use check::{CheckAdd, CheckCmd, CheckCommon, DnsEditOpts, HttpOpts};
pub use maintenance::{MaintenanceCmd, SilenceArgs};
pub use ops::{ApplyArgs, ExportArgs, LeaderCmd, StatusArgs, TopArgs};

/// `qu --version`: the package version and the commit it was built from
/// (stamped by `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("QU_BUILD_COMMIT"),
    ")"
);

/// quptime: a quorum-based uptime monitor.
///
/// Several nodes in different networks probe the same targets; a check is
/// DOWN only when a majority of them see it fail. Most commands talk to the
/// local daemon (`qu serve`) over its control socket ($QUPTIME_SOCKET).
#[derive(Debug, Parser)]
#[command(name = "qu", version = VERSION, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant costs nothing, and
// boxing it would only add noise to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate this node's identity (key pair, certificate) and node.yaml.
    ///
    /// Refuses to overwrite an existing identity. Without --secret this node
    /// founds a new cluster and prints its join secret; with --secret it
    /// waits to be added to an existing cluster (`qu node add` on a member).
    ///
    /// Example: qu init --advertise alpha.example.com:9901
    Init(InitArgs),
    /// Run the daemon in the foreground (wire it into systemd for production).
    ///
    /// Initialises the node from QUPTIME_* variables first if it has no
    /// identity yet. SIGINT and SIGTERM stop it gracefully (the master hands
    /// its role to another member first).
    ///
    /// Example: qu serve --log-format json
    Serve(ServeArgs),
    /// Show term, master, quorum, config version, members and checks.
    ///
    /// --watch redraws it every --interval until Ctrl-C.
    ///
    /// Example: qu status --watch --interval 5s
    Status(StatusArgs),
    /// A live dashboard of the cluster in the terminal.
    ///
    /// Members (LIVE), master, term and quorum; every check with its state,
    /// each member's latest vote, latency and when it last changed, updated
    /// every --interval. Keys: / filter, s cycle the sort, Up/Down select,
    /// Enter opens a check's evidence, q or Esc quits. Works in 80x24 and
    /// without colours (NO_COLOR, TERM=dumb).
    ///
    /// Example: qu top
    Top(TopArgs),
    /// Manage cluster members.
    ///
    /// Example: qu node add bravo.example.com:9901
    #[command(subcommand)]
    Node(NodeCmd),
    /// Manage checks.
    ///
    /// Example: qu check add http homepage https://example.com --expect 2xx
    #[command(subcommand)]
    Check(CheckCmd),
    /// Manage alert channels (SMTP, Discord, webhooks, Slack, Teams, PagerDuty, …).
    ///
    /// Example: qu alert add discord oncall --webhook https://discord.com/api/webhooks/…
    #[command(subcommand)]
    Alert(AlertCmd),
    /// Join nodes with single-use enrollment tokens.
    ///
    /// Example: qu enroll create --auto-approve
    #[command(subcommand)]
    Enroll(EnrollCmd),
    /// Make the cluster's checks and alert channels match a declaration file.
    ///
    /// Prints the difference (`+` add, `~` change with the changed fields,
    /// `-` remove) and applies all of it as one replicated change, or
    /// nothing if any part is invalid; errors name the line and field.
    /// Records the file does not declare are kept unless --prune. `qu
    /// export` writes the current declaration in the same format.
    ///
    /// Example: qu apply -f cluster.yaml --dry-run
    Apply(ApplyArgs),
    /// Write the current checks, alert channels and retention as a
    /// declaration for `qu apply -f` (alert secrets included).
    ///
    /// Example: qu export -o cluster.yaml
    Export(ExportArgs),
    /// Snapshot the replicated state now and purge the Raft log behind it;
    /// prints the disk use that results.
    ///
    /// Example: qu snapshot
    Snapshot(JsonArg),
    /// Move the master role by hand (maintenance).
    ///
    /// Example: qu leader transfer --hold 30m
    #[command(subcommand)]
    Leader(LeaderCmd),
    /// Inspect this node's trust store.
    ///
    /// Example: qu trust list
    #[command(subcommand)]
    Trust(TrustCmd),
    /// This node's key pair.
    ///
    /// Example: qu key rotate
    #[command(subcommand)]
    Key(KeyCmd),
    /// API tokens for the HTTP API and the dashboard.
    ///
    /// A read token reads the status, checks, channels (masked),
    /// transitions and maintenance windows; a write token also changes
    /// them. The token is printed once; the cluster keeps only its hash.
    ///
    /// Example: qu token create --role read grafana
    #[command(subcommand)]
    Token(TokenCmd),
    /// Cluster-wide DNS resolvers for dns checks without --resolver.
    ///
    /// Every node then asks the same servers instead of its own system
    /// configuration, so a node's local resolver cannot make it disagree.
    ///
    /// Example: qu resolvers set 9.9.9.9 1.1.1.1
    #[command(subcommand)]
    Resolvers(ResolversCmd),
    /// Cluster-wide settings: how many days of uptime history are kept.
    ///
    /// Example: qu settings set --history-days 30
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// The connectivity canary: reference targets every node probes to
    /// learn whether its own network works. A node whose canary fails
    /// abstains (its results are not counted), so the monitor's own
    /// network faults never page.
    ///
    /// Example: qu canary set 1.1.1.1:443 https://example.com/
    #[command(subcommand)]
    Canary(CanaryCmd),
    /// Maintenance windows: no DOWN is sent for their checks while open.
    ///
    /// Example: qu maintenance add --checks web --every sun --at 02:00 --for 1h --tz Europe/Berlin
    #[command(subcommand)]
    Maintenance(MaintenanceCmd),
    /// Silence one check for a while from now (a one-off maintenance window).
    ///
    /// Example: qu silence web --for 30m   (qu silence --clear web ends it)
    Silence(SilenceArgs),
    /// Back up this node (checks, alert channels, identity) or restore a backup.
    ///
    /// Example: qu backup create /var/backups/quptime.json
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Disaster recovery: re-found this node alone after a majority is lost for good.
    ///
    /// With the daemon stopped, reads the latest state in this node's Raft
    /// storage and makes the node the only voter of a new cluster that keeps
    /// every check and alert channel. The other members rejoin as new
    /// members. Asks for the node id unless --yes.
    ///
    /// Example: qu recover --force-new-cluster
    Recover(RecoverArgs),
    /// Try quptime: a 3-node cluster in this process, watching a flapping target.
    ///
    /// Starts three nodes on loopback (temporary data directories, free
    /// ports, real mutual TLS), a local web server that flips between 200
    /// and 503 every --flip, an HTTP check on it and an alert channel that
    /// prints to this terminal. Shows the status and every transition until
    /// Ctrl-C (or --duration), then stops the nodes and removes the
    /// directories. Touches nothing outside its temporary directory.
    ///
    /// Example: qu demo --flip 20s
    Demo(DemoArgs),
    /// Print a shell completion script.
    ///
    /// bash: qu completion bash > /etc/bash_completion.d/qu;
    /// zsh: qu completion zsh > "${fpath[1]}/_qu";
    /// fish: qu completion fish > ~/.config/fish/completions/qu.fish
    ///
    /// Example: source <(qu completion bash)
    Completion {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff) of qu or of one of its commands.
    ///
    /// Example: qu man check add | man -l -
    Man {
        /// A command path, such as `check add` [default: qu itself]
        command: Vec<String>,
    },
}

/// Shells `qu completion` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How often the demo target flips between healthy (200) and failing (503)
    #[arg(long, default_value = "20s", value_name = "DURATION")]
    pub flip: String,
    /// Stop by itself after this long (for scripted runs) [default: run until Ctrl-C]
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// How often to print the status table
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub status_every: String,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON (a stable schema) instead of the human layout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// host:port that other nodes dial to reach this one [default: bind:port]
    #[arg(long, env = "QUPTIME_ADVERTISE", value_name = "HOST:PORT")]
    pub advertise: Option<String>,
    /// IP address to listen on for peers
    #[arg(
        long,
        env = "QUPTIME_BIND_ADDR",
        default_value = "0.0.0.0",
        value_name = "IP"
    )]
    pub bind: String,
    /// Port to listen on for peers [default: the port of --advertise, else 9901]
    #[arg(long, env = "QUPTIME_BIND_PORT", value_name = "PORT",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Join secret of an existing cluster (printed by its first node's `qu init`);
    /// without it this node founds a new cluster
    #[arg(
        long,
        env = "QUPTIME_CLUSTER_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// Use this NodeID instead of a random UUID
    #[arg(long, env = "QUPTIME_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,
    /// A label of this node, which checks select judging nodes by (repeatable: --label region=eu --label tier=1)
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Log format: human text, or one JSON object per line (for journald)
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Raft heartbeat interval
    #[arg(
        long,
        env = "QUPTIME_HEARTBEAT",
        default_value = "400ms",
        value_name = "DURATION"
    )]
    pub heartbeat: String,
    /// Minimum election timeout (the maximum is twice this); raise it for slow links
    #[arg(
        long,
        env = "QUPTIME_ELECTION_TIMEOUT",
        default_value = "800ms",
        value_name = "DURATION"
    )]
    pub election_timeout: String,
    /// How long a lower NodeID must be continuously live before it takes the master role back
    #[arg(
        long,
        env = "QUPTIME_MASTER_COOLDOWN",
        default_value = "2m",
        value_name = "DURATION"
    )]
    pub master_cooldown: String,
    /// Snapshot the replicated state every this many applied Raft entries
    /// (the log behind a snapshot is purged, keeping 100); bounds disk use
    #[arg(
        long,
        env = "QUPTIME_SNAPSHOT_EVERY",
        default_value_t = 1000,
        value_name = "ENTRIES",
        value_parser = clap::value_parser!(u64).range(10..=1_000_000)
    )]
    pub snapshot_every: u64,
    /// Serve Prometheus metrics, /healthz and /readyz over plain HTTP at IP:PORT (off by default)
    #[arg(long, env = "QUPTIME_METRICS_ADDR", value_name = "IP:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Serve the read-only status page (/, badges, /api/status) over plain HTTP at IP:PORT (off by default)
    #[arg(long = "http", env = "QUPTIME_HTTP_ADDR", value_name = "IP:PORT")]
    pub http_addr: Option<std::net::SocketAddr>,
    /// Speak HTTPS on --http and --metrics-addr with this PEM certificate chain (needs --http-tls-key)
    #[arg(long, env = "QUPTIME_HTTP_TLS_CERT", value_name = "FILE")]
    pub http_tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --http-tls-cert
    #[arg(long, env = "QUPTIME_HTTP_TLS_KEY", value_name = "FILE")]
    pub http_tls_key: Option<std::path::PathBuf>,
    /// Disk budget of this node's raw probe results (results.redb), e.g. 64MiB; oldest go first
    #[arg(
        long,
        env = "QUPTIME_RESULTS_MAX_SIZE",
        default_value = "64MiB",
        value_name = "SIZE"
    )]
    pub results_max_size: String,
    /// A connectivity canary reference target of this node (host:port or an http(s) URL; repeatable),
    /// probed besides the cluster's `qu canary set` list: while none answers, this node abstains
    #[arg(long = "canary-target", value_name = "TARGET")]
    pub canary_targets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum NodeCmd {
    /// Add the node at HOST:PORT (initialised with `qu init --secret`).
    ///
    /// Shows the node's id and key fingerprint and asks for confirmation
    /// (trust on first use), then proves the cluster secret to it and waits
    /// until it is a voting member.
    ///
    /// Example: qu node add bravo.example.com:9901
    Add {
        /// The new node's advertised address
        #[arg(value_name = "HOST:PORT")]
        addr: String,
        /// Do not ask for confirmation
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// List members with liveness.
    ///
    /// Example: qu node list --json
    List(JsonArg),
    /// Set or remove labels of a member (checks with --nodes select by them).
    ///
    /// Example: qu node label c0d4e5f6-… region=eu --remove tier
    Label {
        /// The member's NodeID
        node_id: String,
        /// Labels to set
        #[arg(value_name = "K=V")]
        labels: Vec<String>,
        /// Label keys to remove (repeatable)
        #[arg(long, value_name = "KEY")]
        remove: Vec<String>,
    },
    /// Remove a member: it stops voting and every node revokes its key.
    ///
    /// Example: qu node remove c0d4e5f6-…
    Remove {
        /// The member's NodeID
        node_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnrollCmd {
    /// Create a single-use join token.
    ///
    /// Example: qu enroll create --name delta --ttl 1h --auto-approve
    Create {
        /// Label shown by `qu enroll list`
        #[arg(long)]
        name: Option<String>,
        /// How long the token is valid
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        ttl: String,
        /// Admit the node without `qu enroll approve`
        #[arg(long)]
        auto_approve: bool,
    },
    /// Join a cluster with a token (on the new host, before `qu serve`).
    ///
    /// Example: qu enroll join eyJ2Ijox… --advertise delta.example.com:9901
    Join {
        /// The token printed by `qu enroll create`
        token: String,
        /// Do not ask to confirm the cluster's keys
        #[arg(short = 'y', long)]
        yes: bool,
        /// host:port other nodes dial to reach this one
        #[arg(long, value_name = "HOST:PORT")]
        advertise: Option<String>,
        /// IP address to listen on
        #[arg(long, default_value = "0.0.0.0", value_name = "IP")]
        bind: String,
        /// Port to listen on [default: the port of --advertise, else 9901]
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        port: Option<u16>,
        /// How long to wait for an approval
        #[arg(long, default_value = "10m", value_name = "DURATION")]
        wait: String,
    },
    /// List tokens and join requests.
    ///
    /// Example: qu enroll list --json
    List(JsonArg),
    /// Approve the join request made with a token.
    ///
    /// Example: qu enroll approve 3f2a9c1e
    Approve {
        /// Token id
        id: String,
    },
    /// Revoke a token.
    ///
    /// Example: qu enroll revoke 3f2a9c1e
    Revoke {
        /// Token id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// Show the cluster-wide settings.
    ///
    /// Example: qu settings show --json
    Show(JsonArg),
    /// Change cluster-wide settings (replicated to every node).
    ///
    /// Example: qu settings set --history-days 30
    Set {
        /// Days of uptime history kept per check (1 to 400; default 90); older days go at once
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=400))]
        history_days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResolversCmd {
    /// Show the cluster-wide DNS resolvers ("system" when none are set).
    ///
    /// Example: qu resolvers list --json
    List(JsonArg),
    /// Replace the cluster-wide DNS resolvers (asked in the order given).
    ///
    /// Example: qu resolvers set 9.9.9.9 [2620:fe::fe]:53
    Set {
        /// ip or ip:port of each server (port 53 by default; at most 8)
        #[arg(required = true, value_name = "IP[:PORT]")]
        servers: Vec<String>,
    },
    /// Go back to each node's system resolver configuration.
    ///
    /// Example: qu resolvers clear
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum CanaryCmd {
    /// Show the reference targets, this node's canary and the monitor's health.
    ///
    /// Example: qu canary show --json
    Show(JsonArg),
    /// Replace the cluster's reference targets (a node abstains while none answers).
    ///
    /// Example: qu canary set 1.1.1.1:443 https://example.com/
    Set {
        /// host:port (a TCP connect) or an http(s) URL (a GET; any answer counts); at most 16
        #[arg(required = true, value_name = "HOST:PORT|URL")]
        targets: Vec<String>,
    },
    /// Remove the reference targets: each node's peers alone are its canary.
    ///
    /// Example: qu canary clear
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum TrustCmd {
    /// List trusted keys.
    ///
    /// Example: qu trust list --json
    List(JsonArg),
    /// Stop trusting a node that is not a member.
    ///
    /// Example: qu trust remove c0d4e5f6-…
    Remove {
        /// NodeID
        node_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create an API token and print it (once).
    ///
    /// Example: qu token create --role write deploy-bot
    Create {
        /// What it may do: read or write
        #[arg(long, value_name = "read|write")]
        role: String,
        /// Its name (unique): letters, digits, '.', '_', '-'
        name: String,
    },
    /// List API tokens with their role and last use (to within a minute).
    ///
    /// Example: qu token list --json
    List(JsonArg),
    /// Revoke an API token: every node refuses it from now on.
    ///
    /// Example: qu token revoke deploy-bot
    Revoke {
        /// Token id or name
        token: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Give this node a new key pair; the cluster trusts the new key instead
    /// of the old one (the running daemon does it; see docs/security.md).
    ///
    /// Example: qu key rotate
    Rotate(JsonArg),
}
