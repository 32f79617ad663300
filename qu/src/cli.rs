//! The command-line surface, declared with clap. Every command carries help
//! text and an example.

use clap::{Args, Parser, Subcommand};

/// quptime: a quorum-based uptime monitor.
///
/// Several nodes in different networks probe the same targets; a check is
/// DOWN only when a majority of them see it fail. Most commands talk to the
/// local daemon (`qu serve`) over its control socket ($QUPTIME_SOCKET).
#[derive(Debug, Parser)]
#[command(name = "qu", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

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
    /// Example: qu status --json
    Status(JsonArg),
    /// Manage cluster members.
    #[command(subcommand)]
    Node(NodeCmd),
    /// Manage checks.
    #[command(subcommand)]
    Check(CheckCmd),
    /// Join nodes with single-use enrollment tokens.
    #[command(subcommand)]
    Enroll(EnrollCmd),
    /// Inspect this node's trust store.
    #[command(subcommand)]
    Trust(TrustCmd),
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
    /// Port to listen on for peers
    #[arg(long, env = "QUPTIME_BIND_PORT", default_value_t = 9901, value_name = "PORT",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
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
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Log format: human text, or one JSON object per line (for journald)
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
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
    /// Remove a member: it stops voting and every node revokes its key.
    ///
    /// Example: qu node remove c0d4e5f6-…
    Remove {
        /// The member's NodeID
        node_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCmd {
    /// Add a check.
    #[command(subcommand)]
    Add(CheckAdd),
    /// List checks.
    ///
    /// Example: qu check list --json
    List(JsonArg),
    /// Remove a check by id or name.
    ///
    /// Example: qu check remove homepage
    Remove {
        /// Id or name
        check: String,
    },
}

#[derive(Debug, Args)]
pub struct CheckCommon {
    /// Time between probes (Go syntax: 5s, 1m30s, 2h)
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Per-probe timeout
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Alert channels to notify (names or ids, comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub alerts: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum CheckAdd {
    /// HTTP(S) GET; up when the status matches.
    ///
    /// Example: qu check add http homepage https://example.com --expect 200 --alerts oncall
    Http {
        /// Unique name
        name: String,
        /// http:// or https:// URL
        url: String,
        /// Expected status code
        #[arg(long, value_name = "CODE")]
        expect: Option<u16>,
        /// Substring the body must contain
        #[arg(long, value_name = "TEXT")]
        body_match: Option<String>,
        #[command(flatten)]
        common: CheckCommon,
    },
    /// TCP connect.
    ///
    /// Example: qu check add tcp db db.internal:5432 --interval 15s
    Tcp {
        /// Unique name
        name: String,
        /// host:port
        #[arg(value_name = "HOST:PORT")]
        target: String,
        #[command(flatten)]
        common: CheckCommon,
    },
    /// ICMP echo.
    ///
    /// Example: qu check add icmp gateway 10.0.0.1 --interval 5s
    Icmp {
        /// Unique name
        name: String,
        /// Host name or IP address
        host: String,
        #[command(flatten)]
        common: CheckCommon,
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
        /// Port to listen on
        #[arg(long, default_value_t = 9901, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
        /// How long to wait for an approval
        #[arg(long, default_value = "10m", value_name = "DURATION")]
        wait: String,
    },
    /// List tokens and join requests.
    List(JsonArg),
    /// Approve the join request made with a token.
    Approve {
        /// Token id
        id: String,
    },
    /// Revoke a token.
    Revoke {
        /// Token id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrustCmd {
    /// List trusted keys.
    List(JsonArg),
    /// Stop trusting a node that is not a member.
    Remove {
        /// NodeID
        node_id: String,
    },
}
