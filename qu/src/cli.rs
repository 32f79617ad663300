//! The command-line surface, declared with clap. Every command carries help
//! text and an example; the man page and completions are generated from this.

use clap::{Args, Parser, Subcommand};

/// quptime: a quorum-based uptime monitor.
///
/// Several nodes in different networks probe the same targets; a check is
/// DOWN only when a majority of them see it fail.
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
    /// Refuses to overwrite an existing identity. The data directory is
    /// $QUPTIME_DIR, else /etc/quptime as root, else
    /// $XDG_CONFIG_HOME/quptime or ~/.config/quptime.
    ///
    /// Example: qu init --advertise alpha.example.com:9901
    Init(InitArgs),
    /// Run the daemon in the foreground (wire it into systemd for production).
    ///
    /// Initialises the node from QUPTIME_* variables first if it has no
    /// identity yet. SIGINT and SIGTERM stop it gracefully.
    ///
    /// Example: qu serve --log-format json
    Serve(ServeArgs),
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
    /// Cluster join secret (printed by the first node's `qu init`); generated when absent
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
