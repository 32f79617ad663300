//! `qu`: the quptime daemon and CLI.
//!
//! Thin by design: parse the command line, call the library (or, for most
//! commands, the local daemon over its control socket), print. Errors go to
//! stderr as `error: <what went wrong>; <what to do>` with exit code 1; usage
//! errors exit 2 (clap's convention).

mod cli;
mod client;
mod cmd;
mod logging;
mod output;
mod top;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if !matches!(cli.command, cli::Command::Serve(_) | cli::Command::Demo(..)) {
        // A CLI whose output is cut short (`qu status | head -1`) should
        // just stop, as other Unix tools do, not panic on EPIPE. The daemons
        // keep ignoring SIGPIPE: their sockets report it as an error.
        // SAFETY: setting a signal disposition before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let outcome = match cli.command {
        cli::Command::Init(args) => cmd::init::run(args),
        cli::Command::Serve(args) => cmd::serve::run(args),
        cli::Command::Status(args) => cmd::status::run(args),
        cli::Command::Top(args) => top::run(args),
        cli::Command::Node(c) => cmd::node::run(c),
        cli::Command::Check(c) => cmd::check::run(c),
        cli::Command::Alert(c) => cmd::alert::run(c),
        cli::Command::Enroll(c) => cmd::enroll::run(c),
        cli::Command::Trust(c) => cmd::trust::run(c),
        cli::Command::Key(c) => cmd::trust::key(c),
        cli::Command::Token(c) => cmd::token::run(c),
        cli::Command::Apply(args) => cmd::ops::apply(args),
        cli::Command::Export(args) => cmd::ops::export(args),
        cli::Command::Snapshot(args) => cmd::ops::snapshot(args),
        cli::Command::Leader(c) => cmd::ops::leader(c),
        cli::Command::Resolvers(c) => cmd::resolvers::run(c),
        cli::Command::Settings(c) => cmd::settings::run(c),
        cli::Command::Canary(c) => cmd::canary::run(c),
        cli::Command::Maintenance(c) => cmd::maintenance::run(c),
        cli::Command::Silence(a) => cmd::maintenance::silence(a),
        cli::Command::Backup(c) => cmd::backup::run(c),
        cli::Command::Recover(args) => cmd::backup::recover(args),
        cli::Command::Demo(args) => cmd::demo::run(args),
        cli::Command::Completion { shell } => cmd::generate::completion(shell),
        cli::Command::Man { command } => cmd::generate::man(&command),
    };
    if let Err(err) = outcome {
        eprintln!("error: {}", render(&err));
        std::process::exit(1);
    }
}

/// The error and its context on one line. A library error's text is
/// complete (it already names the cause and the fix), so the chain stops
/// there instead of repeating the OS error underneath it.
fn render(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let c = match cause.downcast_ref::<quptime::Error>() {
            Some(e) => cli_text(e),
            None => cause.to_string(),
        };
        if !text.contains(&c) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&c);
        }
        if cause.downcast_ref::<quptime::Error>().is_some() {
            break;
        }
    }
    text
}

/// A library error as `qu` words it: the field as the flag that set it
/// (`--interval: …`) and the `qu` hint in brackets after the text.
fn cli_text(e: &quptime::Error) -> String {
    let mut text = match e.field() {
        Some(f) => format!("--{}: {}", flag_of(f), e.message()),
        None => e.message().to_string(),
    };
    if let Some(h) = e.hint() {
        text.push_str(&format!(" ({h})"));
    }
    text
}

/// The `qu` flag that sets the library field `field`.
fn flag_of(field: &str) -> String {
    match field {
        "election_min" | "election_max" => "election-timeout".into(),
        "expect_status" => "expect".into(),
        "expect_values" => "expect-value".into(),
        "bind_addr" => "bind".into(),
        "bind_port" => "port".into(),
        f => f.replace('_', "-"),
    }
}
