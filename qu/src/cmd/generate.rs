//! `qu completion` and `qu man`: shell completions and manual pages,
//! generated from the clap definition so they never drift from the CLI.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::CommandFactory;

use crate::cli::{Cli, Shell};

/// Print the completion script for `shell`.
pub fn completion(shell: Shell) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(generator, &mut cmd, "qu", &mut out);
    emit(&out)
}

/// Print the roff manual page of `qu` or of the command at `path`
/// (`["check", "add"]` gives `qu-check-add(1)`).
pub fn man(path: &[String]) -> Result<()> {
    let mut cmd = Cli::command();
    // Building fills in the display names (`qu-check-add`) and the usage
    // lines (`qu check add …`) of every subcommand.
    cmd.build();
    let mut page = cmd;
    for (i, name) in path.iter().enumerate() {
        let Some(sub) = page.find_subcommand(name).cloned() else {
            let parent = std::iter::once("qu")
                .chain(path[..i].iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            bail!("`{parent}` has no command {name:?}: see `{parent} --help` for the list");
        };
        page = sub;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("qu {}", crate::cli::VERSION))
        .manual("quptime")
        .render(&mut out)
        .context("render the manual page")?;
    emit(&out)
}

/// Write to stdout; a reader that stops early (`| head`) is not an error.
fn emit(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("write to stdout"),
    }
}
