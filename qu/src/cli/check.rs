//! `qu check …`: the check commands and their flags.
//!
//! The probe flags ([`HttpOpts`], [`TlsOpts`], [`DnsOpts`], [`TcpOpts`], [`IcmpOpts`]) serialize to
//! the probe settings' document names (`--expect` is `expect_status`), so
//! a flag reaches its setting in `quptime::state::probe` through serde and
//! adding an option means its field there and its flag here.

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::JsonArg;

#[derive(Debug, Subcommand)]
pub enum CheckCmd {
    /// Add a check (http, tcp, icmp, tls, dns or push).
    ///
    /// Example: qu check add tcp db db.internal:5432 --interval 15s
    #[command(subcommand)]
    Add(CheckAdd),
    /// List checks.
    ///
    /// Example: qu check list --json
    List(JsonArg),
    /// Change a check's settings (only the flags given change).
    ///
    /// Example: qu check edit homepage --interval 1m --expect 2xx
    Edit {
        /// Id or name
        check: String,
        /// Rename the check
        #[arg(long)]
        name: Option<String>,
        /// New target (URL, host:port or host)
        #[arg(long)]
        target: Option<String>,
        #[command(flatten)]
        common: CheckCommon,
        #[command(flatten)]
        http: Box<HttpOpts>,
        #[command(flatten)]
        tls: TlsOpts,
        #[command(flatten)]
        dns: DnsEditOpts,
        #[command(flatten)]
        tcp: Box<TcpEditOpts>,
        #[command(flatten)]
        icmp: Box<IcmpOpts>,
        #[command(flatten)]
        push: PushOpts,
    },
    /// Probe a check again (enable it).
    ///
    /// Example: qu check enable db
    Enable {
        /// Id or name
        check: String,
    },
    /// Stop probing a check but keep it (disable it).
    ///
    /// Example: qu check disable db
    Disable {
        /// Id or name
        check: String,
    },
    /// Fire a synthetic transition through the check's alert channels (nothing is recorded).
    ///
    /// Example: qu check test homepage --state down
    Test {
        /// Id or name
        check: String,
        /// down, up or recovered
        #[arg(long, default_value = "down", value_parser = ["down", "up", "recovered"])]
        state: String,
    },
    /// Remove a check by id or name.
    ///
    /// Example: qu check remove homepage
    Remove {
        /// Id or name
        check: String,
    },
    /// Make a push check's URL (shown once; --rotate replaces the current one).
    ///
    /// Example: qu check push-url nightly-backup --rotate
    PushUrl {
        /// Id or name
        check: String,
        /// Make a new URL; the old one stops working
        #[arg(long)]
        rotate: bool,
        #[command(flatten)]
        json: JsonArg,
    },
}

#[derive(Debug, Args)]
pub struct CheckCommon {
    /// Time between probes (Go syntax: 5s, 1m30s, 2h) [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Per-probe timeout [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Alert channels to notify (names or ids, comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub alerts: Option<Vec<String>>,
    /// Default alert channels this check must not notify (names, comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub suppress: Option<Vec<String>>,
    /// Repeat the alert this often while the check stays down (off by default)
    #[arg(long, value_name = "DURATION")]
    pub remind: Option<String>,
    /// Failing rounds in a row before the check goes down (1 to 20) [default: 2]
    #[arg(long, value_name = "N")]
    pub fail_after: Option<u32>,
    /// Passing rounds in a row before it comes back up (1 to 20) [default: 2]
    #[arg(long, value_name = "N")]
    pub recover_after: Option<u32>,
    /// Judging nodes that must fail for down: majority, all, any or 'at-least K' [default: majority]
    #[arg(long, value_name = "POLICY")]
    pub quorum: Option<String>,
    /// Only nodes with these labels probe and judge it (K=V, comma-separated, all must match; '' for every node)
    #[arg(long, value_delimiter = ',', value_name = "K=V")]
    pub nodes: Option<Vec<String>>,
    /// Checks this one depends on (names or ids, comma-separated; '' for none): while one is down, its DOWN is held back
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub depends_on: Option<Vec<String>>,
    /// State changes within the flap window beyond which it is flapping: one FLAPPING notice, then quiet until stable (0 = off) [default: 5]
    #[arg(long, value_name = "N")]
    pub flap_threshold: Option<u32>,
    /// The flap window [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub flap_window: Option<String>,
}

/// The flags of http checks, named in serde as their settings.
#[derive(Debug, Args, Serialize)]
pub struct HttpOpts {
    /// Accepted statuses: a code, a class, or a list (200, 2xx, 200,204,3xx) [default: 200]
    #[arg(long, value_name = "STATUS")]
    #[serde(rename = "expect_status", skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// Substring the body must contain (first 1 MiB)
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_match: Option<String>,
    /// Accept any TLS certificate (self-signed targets; also --insecure=true|false)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Redirects to follow (0 = none; also --max-redirects) [default: 10]
    #[arg(long = "follow-redirects", alias = "max-redirects", value_name = "N")]
    #[serde(rename = "max_redirects", skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<u8>,
    /// Request method: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS [default: GET]
    #[arg(long, value_name = "METHOD")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request header, 'Name: value' (repeatable; at most 32)
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    #[serde(rename = "headers", skip_serializing_if = "Option::is_none")]
    pub header: Option<Vec<String>>,
    /// Request body (at most 64 KiB)
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Basic auth, user:password (shown masked)
    #[arg(long, value_name = "USER:PASS", conflicts_with = "bearer")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<String>,
    /// Bearer token (shown masked)
    #[arg(long, value_name = "TOKEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer: Option<String>,
    /// Connect over IPv4 only
    #[arg(long, conflicts_with = "ip6")]
    #[serde(skip)]
    pub ip4: bool,
    /// Connect over IPv6 only
    #[arg(long)]
    #[serde(skip)]
    pub ip6: bool,
    /// PEM file of CA certificates to trust for this check (stored in the check)
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub ca: Option<std::path::PathBuf>,
    /// Condition every response must meet (repeatable): 'status in 200..299',
    /// 'response_time < 300ms', 'json $.status == "ok"', 'header Content-Type contains "json"',
    /// 'body matches "up|ok"', 'cert_expiry > 7d'
    #[arg(long = "condition", value_name = "EXPR")]
    #[serde(rename = "conditions", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Vec<String>>,
    /// Reuse connections between probes (default: a fresh connection per probe; also =true|false)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<bool>,
}

/// The flags of tls checks, named as their settings.
#[derive(Debug, Args, Serialize)]
pub struct TlsOpts {
    /// Down when the certificate expires within this many days [default: 14]
    #[arg(long, value_name = "DAYS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn_days: Option<u32>,
    /// Server name for the handshake [default: the host]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
}

/// The flags of tcp checks on `check add tcp`, named as their settings.
#[derive(Debug, Args, Serialize)]
pub struct TcpOpts {
    /// Text to send once connected; escapes \r \n \t \\ (like 'PING\r\n')
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Text the reply must contain (first 4 KiB within the timeout); alone, checks the banner
    #[arg(long, value_name = "TEXT")]
    #[serde(rename = "expect_reply", skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// Talk TLS once connected, the chain verified like a tls check's (also --tls=true|false)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
}

/// The flags of tcp checks on `check edit` (`--expect` is http's there).
#[derive(Debug, Args, Serialize)]
pub struct TcpEditOpts {
    /// Text to send once connected (tcp; '' to stop sending)
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Text the reply must contain (tcp; '' to only connect)
    #[arg(long = "expect-reply", value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_reply: Option<String>,
    /// Talk TLS once connected (tcp; --tls=false to stop)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
}

/// The flags of icmp checks (on `check add icmp` and `check edit`).
#[derive(Debug, Args, Serialize)]
pub struct IcmpOpts {
    /// Echoes per probe (icmp; 1 to 20) [default: 1]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u8>,
    /// Down when more of the echoes are lost (icmp; 0% to 99%) [default: down only when all are]
    #[arg(long, value_name = "P%", value_parser = percent)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_loss: Option<u8>,
    /// Down when the average round trip is longer (icmp; like 200ms)
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rtt: Option<String>,
}

/// `40%` or `40` as 40.
fn percent(s: &str) -> Result<u8, String> {
    s.trim()
        .trim_end_matches('%')
        .parse::<u8>()
        .map_err(|_| format!("{s:?}: use a percentage like 40%"))
}

/// The flags of dns checks on `check add dns`, named as their settings.
#[derive(Debug, Args, Serialize)]
pub struct DnsOpts {
    /// Record type: a, aaaa, cname, mx, txt, ns [default: a]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Resolver address [default: the system's]
    #[arg(long, value_name = "IP[:PORT]")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
    /// Substring one answer must contain
    #[arg(long, value_name = "TEXT")]
    #[serde(rename = "expect_answer", skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// A value that must be among the answers (repeatable; others may be there too):
    /// 192.0.2.1, 2001:db8::1, host.example.com, '10 mail.example.com', TXT text
    #[arg(long = "expect-value", value_name = "VALUE")]
    #[serde(rename = "expect_values", skip_serializing_if = "Option::is_none")]
    pub expect_value: Option<Vec<String>>,
    /// Exactly this many answers of the type (with one --expect-value each: the set must equal them)
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_count: Option<u16>,
    /// Up only when the name does not exist (NXDOMAIN)
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expect_nxdomain: bool,
}

/// The flags of dns checks on `check edit` (`--expect` is http's there).
#[derive(Debug, Args, Serialize)]
pub struct DnsEditOpts {
    /// Record type (dns): a, aaaa, cname, mx, txt, ns
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Resolver address (dns)
    #[arg(long, value_name = "IP[:PORT]")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
    /// Substring an answer must contain (dns)
    #[arg(long = "expect-answer", value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_answer: Option<String>,
    /// A value that must be among the answers (dns; repeatable, replaces the list; '' for none)
    #[arg(long = "expect-value", value_name = "VALUE")]
    #[serde(rename = "expect_values", skip_serializing_if = "Option::is_none")]
    pub expect_value: Option<Vec<String>>,
    /// Exactly this many answers (dns; 0 to drop the expectation)
    #[arg(long, value_name = "N")]
    #[serde(skip)]
    pub expect_count: Option<u16>,
    /// Up only when the name does not exist (dns; also --expect-nxdomain=true|false)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_nxdomain: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum CheckAdd {
    /// HTTP(S) GET; up when the status matches (and the body, if asked).
    ///
    /// Example: qu check add http homepage https://example.com --expect 2xx --alerts oncall
    Http {
        /// Unique name
        name: String,
        /// http:// or https:// URL
        url: String,
        #[command(flatten)]
        http: Box<HttpOpts>,
        #[command(flatten)]
        common: CheckCommon,
    },
    /// TCP connect; with --send/--expect, a banner or reply check.
    ///
    /// Example: qu check add tcp cache redis.internal:6379 --send 'PING\r\n' --expect +PONG
    Tcp {
        /// Unique name
        name: String,
        /// host:port
        #[arg(value_name = "HOST:PORT")]
        target: String,
        #[command(flatten)]
        tcp: TcpOpts,
        #[command(flatten)]
        common: CheckCommon,
    },
    /// ICMP echo; with --count, several, judged by --max-loss and --max-rtt.
    ///
    /// Example: qu check add icmp gateway 10.0.0.1 --count 5 --max-loss 40% --max-rtt 200ms
    Icmp {
        /// Unique name
        name: String,
        /// Host name or IP address
        host: String,
        #[command(flatten)]
        icmp: IcmpOpts,
        #[command(flatten)]
        common: CheckCommon,
    },
    /// TLS handshake; down when the certificate expires within --warn-days.
    ///
    /// Example: qu check add tls api-cert api.example.com:443 --warn-days 21
    Tls {
        /// Unique name
        name: String,
        /// host or host:port (default port 443)
        #[arg(value_name = "HOST[:PORT]")]
        target: String,
        #[command(flatten)]
        tls: TlsOpts,
        #[command(flatten)]
        common: CheckCommon,
    },
    /// DNS lookup; up when the answer is as expected (by default: any record of the type).
    ///
    /// Example: qu check add dns www-a www.example.com --resolver 9.9.9.9 --expect-value 192.0.2.10 --expect-count 1
    Dns {
        /// Unique name
        name: String,
        /// Name to look up
        host: String,
        #[command(flatten)]
        dns: DnsOpts,
        #[command(flatten)]
        common: CheckCommon,
    },
    /// A push check: the job calls the printed URL; down when no call comes within period + grace.
    ///
    /// Example: qu check add push nightly-backup --period 24h --grace 1h
    Push {
        /// Unique name
        name: String,
        #[command(flatten)]
        push: PushOpts,
        #[command(flatten)]
        common: CheckCommon,
    },
}

/// The flags of push checks, named in serde as their settings.
#[derive(Debug, Args, Serialize)]
pub struct PushOpts {
    /// Push checks: the longest time between two beats (24h for a nightly job)
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Push checks: how much later than the period a beat may come [default: 0s]
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
}
