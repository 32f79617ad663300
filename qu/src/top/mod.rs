//! `qu top`: a live terminal dashboard of the local daemon. The same
//! control call as `qu status` (`GetStatus`) is polled every `--interval`
//! on a thread, so keys never wait on the daemon; the model (`model.rs`)
//! takes keys and answers, the renderer (`render.rs`) draws it. This file
//! is only the loop: terminal set-up and restore, reading keys, drawing.
//!
//! ratatui (with crossterm) because it draws into a plain buffer that
//! tests can read, redraws only what changed (cheap over SSH), and
//! restores the terminal on exit and on panic.

pub mod model;
pub mod render;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use quptime::api::GetStatus;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::cli::TopArgs;
use model::{Action, Key, Model};

pub fn run(args: TopArgs) -> Result<()> {
    let interval = quptime::state::duration::parse(&args.interval)
        .map_err(|e| anyhow::anyhow!("--interval: {}", e.message()))?;
    if interval < Duration::from_millis(200) || interval > Duration::from_secs(3600) {
        anyhow::bail!(
            "--interval {}: use between 200ms and 1h, such as 1s",
            args.interval
        );
    }
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "qu top needs a terminal (for a script, use `qu status --watch` or `qu status --json`)"
        );
    }
    let colour = model::colour_wanted(
        std::env::var("NO_COLOR").ok().as_deref(),
        std::env::var("TERM").ok().as_deref(),
    );
    let (tx, rx) = mpsc::channel();
    // The poller stops when the loop drops `rx` (its next send fails).
    std::thread::spawn(move || {
        loop {
            let answer = crate::client::call::<GetStatus>(&()).map_err(|e| crate::render(&e));
            if tx.send(answer).is_err() {
                return;
            }
            std::thread::sleep(interval);
        }
    });
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let result = event_loop(&mut terminal, &rx, Model::new(colour));
    ratatui::try_restore().context("cannot restore the terminal")?;
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    rx: &mpsc::Receiver<std::result::Result<quptime::cluster::Status, String>>,
    mut model: Model,
) -> Result<()> {
    let mut dirty = true;
    loop {
        while let Ok(answer) = rx.try_recv() {
            match answer {
                Ok(s) => model.update(s, quptime::trust::now_rfc3339()),
                Err(e) => model.failed(e),
            }
            dirty = true;
        }
        if dirty {
            terminal.draw(|f| render::draw(&model, f.area(), f.buffer_mut()))?;
            dirty = false;
        }
        // Wake at least every 100 ms to pick up a new status.
        let until = Instant::now() + Duration::from_millis(100);
        while event::poll(until.saturating_duration_since(Instant::now()))? {
            let key = match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => match k.code {
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                        Key::Interrupt
                    }
                    KeyCode::Char(c) => Key::Char(c),
                    KeyCode::Enter => Key::Enter,
                    KeyCode::Esc => Key::Esc,
                    KeyCode::Backspace => Key::Backspace,
                    KeyCode::Up => Key::Up,
                    KeyCode::Down => Key::Down,
                    _ => continue,
                },
                Event::Resize(..) => {
                    dirty = true;
                    continue;
                }
                _ => continue,
            };
            if model.key(key) == Action::Quit {
                return Ok(());
            }
            dirty = true;
        }
    }
}
