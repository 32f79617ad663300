//! The figures table `qurig` prints (and docs/fault-rig.md quotes).

use std::fmt::Write;

use crate::checker::Figures;
use crate::schedule::FaultKind;

/// The table for `seeds` seeds with totals `f`.
pub fn table(seeds: u64, f: &Figures) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| figure | value |");
    let _ = writeln!(s, "|---|---|");
    let _ = writeln!(s, "| seeds | {seeds} |");
    for k in FaultKind::ALL {
        let _ = writeln!(
            s,
            "| faults: {} | {} |",
            k.name(),
            f.faults.get(k.name()).copied().unwrap_or(0)
        );
    }
    let rows = [
        ("acked writes", f.acked_writes),
        ("writes lost", f.writes_lost),
        ("instants with two masters", f.two_master_instants),
        ("false DOWN", f.false_down),
        ("missed DOWN", f.missed_down),
        ("duplicate DOWN", f.duplicate_down),
        ("lost RECOVERED", f.lost_recovered),
        ("duplicate RECOVERED", f.duplicate_recovered),
    ];
    for (name, v) in rows {
        let _ = writeln!(s, "| {name} | {v} |");
    }
    s
}
