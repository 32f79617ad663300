//! `qurig`: the fault rig from the command line (`scripts/soak` runs it).
//!
//! `qurig --qu target/debug/qu --seeds 100 [--first 1] [--steps 12]`
//! runs seeds `first..first+seeds`, prints each seed's result and then the
//! figures table; exits 1 when any seed broke a promise. With
//! `--expect-violation` (the planted-bug build) it exits 0 only when every
//! seed was caught.

use std::path::PathBuf;

use quptime_rig::checker::Figures;
use quptime_rig::run::{Config, run_seed};

fn usage() -> ! {
    eprintln!(
        "usage: qurig --qu PATH [--seeds N] [--first S] [--steps K] [--workers W] [--expect-violation]"
    );
    std::process::exit(2)
}

fn main() {
    let mut qu: Option<PathBuf> = None;
    let (mut seeds, mut first, mut steps, mut workers) = (1u64, 1u64, 12usize, 3usize);
    let mut expect_violation = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--qu" => qu = Some(PathBuf::from(val())),
            "--seeds" => seeds = val().parse().unwrap_or_else(|_| usage()),
            "--first" => first = val().parse().unwrap_or_else(|_| usage()),
            "--steps" => steps = val().parse().unwrap_or_else(|_| usage()),
            "--workers" => workers = val().parse().unwrap_or_else(|_| usage()),
            "--expect-violation" => expect_violation = true,
            _ => usage(),
        }
    }
    let Some(qu) = qu else { usage() };
    if !quptime_rig::is_root() {
        eprintln!("qurig: needs root (network namespaces and iptables)");
        std::process::exit(2);
    }
    let mut total = Figures::default();
    let (mut failed, mut errors) = (Vec::new(), 0);
    for seed in first..first + seeds {
        let cfg = Config {
            qu: qu.clone(),
            seed,
            steps,
            workers,
        };
        match run_seed(&cfg) {
            Ok(out) => {
                total.add(&out.report.figures);
                // One machine-readable line per seed, so a run cut short
                // still has its figures.
                println!(
                    "seed {seed} figures: {}",
                    serde_json::to_string(&out.report.figures).unwrap_or_default()
                );
                if out.report.violations.is_empty() {
                    println!("seed {seed}: ok");
                } else {
                    println!("seed {seed}: {} violation(s)", out.report.violations.len());
                    for v in &out.report.violations {
                        println!("  {v}");
                    }
                    failed.push(seed);
                }
            }
            Err(e) => {
                println!("seed {seed}: rig error: {e}");
                errors += 1;
            }
        }
    }
    println!();
    print!("{}", quptime_rig::report::table(seeds, &total));
    if !failed.is_empty() {
        println!("seeds with violations: {failed:?}");
    }
    let caught = failed.len() as u64 == seeds;
    let ok = if expect_violation {
        caught
    } else {
        failed.is_empty() && errors == 0
    };
    std::process::exit(if ok { 0 } else { 1 });
}
