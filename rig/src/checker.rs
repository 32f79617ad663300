//! The checker: pure judgement over what a run recorded (no I/O, no
//! clock). It answers with the figures of the run and the violations,
//! each worded so a reader can find it in the logs.
//!
//! - Writes: names are never reused and each belongs to one workload
//!   worker, whose operations are sequential; so the last acknowledged
//!   operation on a name says what every node must hold at the end. After
//!   an operation that was not acknowledged the outcome is unknown and the
//!   worker leaves the name alone; the checker skips it too.
//! - Two masters: each node's duty log gives its stretches of duty (start
//!   → stop, the stop at the earlier of when it was noticed and when the
//!   lease ran out; a stretch a kill -9 left open ends at that kill). Any
//!   overlap between two nodes is an instant with two masters. All
//!   namespaces share the host clock, so the times compare directly.
//! - Alerts: each target outage owns the time from its start to the next
//!   outage's start (or the end). An outage seen by every node must bring
//!   exactly one DOWN and one RECOVERED; one seen by a minority, none. A
//!   DOWN before the first outage is false.

use std::collections::BTreeMap;

use quptime::consensus::duty_log::{DutyEvent, DutyRecord};
use serde::{Deserialize, Serialize};

use crate::schedule::FaultKind;

/// A workload operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    /// `qu check add`.
    Add,
    /// `qu check edit --interval`.
    Edit,
    /// `qu check remove`.
    Remove,
}

/// One operation as the workload saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// The worker that issued it.
    pub worker: usize,
    /// What it asked.
    pub kind: OpKind,
    /// The check's name.
    pub name: String,
    /// The interval set (add, edit), seconds.
    pub interval_s: Option<u64>,
    /// The node it went through.
    pub node: String,
    /// When it was sent and answered (ms, host clock).
    pub start_ms: u64,
    /// When it was answered.
    pub end_ms: u64,
    /// Whether the answer was a success.
    pub acked: bool,
}

/// A target outage the rig made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// When the target started refusing.
    pub from_ms: u64,
    /// When it answered again.
    pub to_ms: u64,
    /// Refused for every node (else for a minority only).
    pub all: bool,
}

/// An alert the receiver got for the rig's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The webhook `kind`: `down`, `recovered`, ….
    pub kind: String,
    /// When it arrived.
    pub at_ms: u64,
}

/// Everything a run recorded.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Workload operations.
    pub ops: Vec<Op>,
    /// Each node's checks at the end: node → (name → interval seconds).
    pub finals: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every node's duty log records.
    pub duty: Vec<DutyRecord>,
    /// kill -9 instants: (node, ms).
    pub kills: Vec<(String, u64)>,
    /// When the run ended.
    pub end_ms: u64,
    /// The target outages.
    pub outages: Vec<Outage>,
    /// Alerts for the rig's check, as received.
    pub alerts: Vec<Alert>,
    /// Faults injected, by kind.
    pub faults: Vec<FaultKind>,
}

/// The figures of one or more runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Faults injected, by kind name.
    pub faults: BTreeMap<String, usize>,
    /// Acknowledged writes.
    pub acked_writes: usize,
    /// Acknowledged writes missing (or undone) at the end on some node.
    pub writes_lost: usize,
    /// Overlapping duty stretches of two nodes.
    pub two_master_instants: usize,
    /// DOWN with no majority outage.
    pub false_down: usize,
    /// Majority outages with no DOWN.
    pub missed_down: usize,
    /// DOWN beyond the first of an outage.
    pub duplicate_down: usize,
    /// Majority outages with a DOWN and no RECOVERED.
    pub lost_recovered: usize,
    /// RECOVERED beyond the first of an outage.
    pub duplicate_recovered: usize,
}

impl Figures {
    /// Add `other` into these.
    pub fn add(&mut self, other: &Figures) {
        for (k, v) in &other.faults {
            *self.faults.entry(k.clone()).or_default() += v;
        }
        self.acked_writes += other.acked_writes;
        self.writes_lost += other.writes_lost;
        self.two_master_instants += other.two_master_instants;
        self.false_down += other.false_down;
        self.missed_down += other.missed_down;
        self.duplicate_down += other.duplicate_down;
        self.lost_recovered += other.lost_recovered;
        self.duplicate_recovered += other.duplicate_recovered;
    }
}

/// The checker's answer.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The figures.
    pub figures: Figures,
    /// What broke a promise, one line each.
    pub violations: Vec<String>,
}

/// Judge `h`.
pub fn check(h: &History) -> Report {
    let mut r = Report::default();
    for k in &h.faults {
        *r.figures.faults.entry(k.name().to_string()).or_default() += 1;
    }
    check_writes(h, &mut r);
    check_duty(h, &mut r);
    check_alerts(h, &mut r);
    r
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Present(u64),
    Absent,
    Unknown,
}

fn check_writes(h: &History, r: &mut Report) {
    let mut by_name: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in &h.ops {
        by_name.entry(op.name.as_str()).or_default().push(op);
        if op.acked {
            r.figures.acked_writes += 1;
        }
    }
    for (name, mut ops) in by_name {
        ops.sort_by_key(|o| o.start_ms);
        let mut expect = Expect::Unknown;
        for op in &ops {
            expect = match (op.acked, op.kind) {
                (false, _) => Expect::Unknown,
                (true, OpKind::Remove) => Expect::Absent,
                (true, OpKind::Add | OpKind::Edit) => match op.interval_s {
                    Some(iv) => Expect::Present(iv),
                    None => Expect::Unknown,
                },
            };
        }
        let mut lost = false;
        for (node, checks) in &h.finals {
            let got = checks.get(name).copied();
            let wrong = match expect {
                Expect::Present(iv) => got != Some(iv),
                Expect::Absent => got.is_some(),
                Expect::Unknown => false,
            };
            if wrong {
                lost = true;
                let last = ops.last().map(|o| format!("{:?} via {}", o.kind, o.node));
                r.violations.push(format!(
                    "lost write: check {name} on {node}: expected {expect:?}, found interval {got:?} (last acked op: {})",
                    last.unwrap_or_default()
                ));
            }
        }
        if lost {
            r.figures.writes_lost += 1;
        }
    }
}

/// A node's stretch of duty: (node, from, until), ms.
pub type Stretch = (String, u64, u64);

/// Each node's stretches of duty from its records and the kills.
pub fn stretches(h: &History) -> Vec<Stretch> {
    let mut by_node: BTreeMap<&str, Vec<&DutyRecord>> = BTreeMap::new();
    for d in &h.duty {
        by_node.entry(d.node.as_str()).or_default().push(d);
    }
    let mut out = Vec::new();
    for (node, mut recs) in by_node {
        recs.sort_by_key(|d| d.at_ms);
        let kill_after = |t: u64| {
            h.kills
                .iter()
                .filter(|(n, at)| n == node && *at >= t)
                .map(|(_, at)| *at)
                .min()
        };
        let mut open: Option<u64> = None;
        for d in recs {
            match d.event {
                DutyEvent::Start => {
                    if let Some(s) = open.take() {
                        // A restart after a crash: the old stretch ended
                        // with the process, at the latest.
                        let end = kill_after(s).unwrap_or(d.at_ms).min(d.at_ms);
                        out.push((node.to_string(), s, end));
                    }
                    open = Some(d.at_ms);
                }
                DutyEvent::Stop => {
                    if let Some(s) = open.take() {
                        out.push((node.to_string(), s, d.ended_ms().max(s)));
                    }
                }
            }
        }
        if let Some(s) = open {
            out.push((node.to_string(), s, kill_after(s).unwrap_or(h.end_ms)));
        }
    }
    out
}

fn check_duty(h: &History, r: &mut Report) {
    let all = stretches(h);
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.0 == b.0 {
                continue;
            }
            let from = a.1.max(b.1);
            let until = a.2.min(b.2);
            if from < until {
                r.figures.two_master_instants += 1;
                r.violations.push(format!(
                    "two masters for {} ms: {} ({}..{}) and {} ({}..{})",
                    until - from,
                    a.0,
                    a.1,
                    a.2,
                    b.0,
                    b.1,
                    b.2
                ));
            }
        }
    }
}

fn check_alerts(h: &History, r: &mut Report) {
    let mut outages = h.outages.clone();
    outages.sort_by_key(|o| o.from_ms);
    let first = outages.first().map_or(u64::MAX, |o| o.from_ms);
    for a in h
        .alerts
        .iter()
        .filter(|a| a.at_ms < first && a.kind == "down")
    {
        r.figures.false_down += 1;
        r.violations
            .push(format!("false DOWN at {} before any outage", a.at_ms));
    }
    for (i, o) in outages.iter().enumerate() {
        let until = outages.get(i + 1).map_or(u64::MAX, |n| n.from_ms);
        let in_window = |kind: &str| {
            h.alerts
                .iter()
                .filter(|a| a.kind == kind && a.at_ms >= o.from_ms && a.at_ms < until)
                .count()
        };
        let (downs, ups) = (in_window("down"), in_window("recovered"));
        let what = format!(
            "outage {}..{} ({})",
            o.from_ms,
            o.to_ms,
            if o.all { "all nodes" } else { "a minority" }
        );
        if o.all {
            if downs == 0 {
                r.figures.missed_down += 1;
                r.violations.push(format!("missed DOWN: {what}"));
            }
            if downs > 1 {
                r.figures.duplicate_down += downs - 1;
                r.violations.push(format!("{downs} DOWN for one {what}"));
            }
            if ups == 0 && downs > 0 {
                r.figures.lost_recovered += 1;
                r.violations.push(format!("lost RECOVERED: {what}"));
            }
            if ups > 1 {
                r.figures.duplicate_recovered += ups - 1;
                r.violations.push(format!("{ups} RECOVERED for one {what}"));
            }
        } else if downs > 0 {
            r.figures.false_down += downs;
            r.violations
                .push(format!("false DOWN ({downs}) for {what}"));
        }
    }
}

#[cfg(test)]
#[path = "checker_tests.rs"]
mod tests;
