//! The workload: a few worker threads issuing `qu check add`, `edit` and
//! `remove` through random nodes while the faults run, each recording
//! every answer with its times. Every worker owns its names (never
//! reused), so its history is sequential per name; after an answer that
//! is not a success the outcome is unknown and the worker leaves that
//! name alone (the checker skips it as well).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::checker::{Op, OpKind};
use crate::faults::TARGET_PORT;
use crate::node::Cli;
use crate::now_ms;
use crate::schedule::SplitMix;

/// Running workers; [`Workload::finish`] stops them and returns the ops.
#[derive(Debug)]
pub struct Workload {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<Op>>>,
}

/// The check target every workload check probes (the rig's HTTP target).
pub fn target(target_ip: &str) -> String {
    format!("{target_ip}:{TARGET_PORT}")
}

impl Workload {
    /// Start `n` workers over `nodes`, drawing from `seed`.
    pub fn start(n: usize, nodes: Vec<Cli>, seed: u64, target_ip: &str) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..n)
            .map(|w| {
                let stop = stop.clone();
                let nodes = nodes.clone();
                let tgt = target(target_ip);
                std::thread::spawn(move || {
                    worker(w, nodes, seed ^ ((w as u64 + 1) << 32), tgt, &stop)
                })
            })
            .collect();
        Workload { stop, workers }
    }

    /// Stop the workers (each ends its call in flight) and collect the ops.
    pub fn finish(self) -> Vec<Op> {
        self.stop.store(true, Ordering::SeqCst);
        self.workers
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    }
}

fn worker(w: usize, nodes: Vec<Cli>, seed: u64, target: String, stop: &AtomicBool) -> Vec<Op> {
    let mut r = SplitMix::new(seed);
    let mut ops = Vec::new();
    // Names whose last operation was acknowledged and that exist.
    let mut live: Vec<String> = Vec::new();
    let mut next = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let node = &nodes[r.below(nodes.len() as u64) as usize];
        let roll = r.below(10);
        // Pacing, not a wait: a steady stream of writes that does not
        // grow the check list without bound.
        std::thread::sleep(std::time::Duration::from_millis(150));
        let adding = live.is_empty() || (live.len() < 12 && roll < 4);
        let (kind, name, interval) = if adding {
            next += 1;
            (OpKind::Add, format!("w{w}-{next}"), Some(r.between(10, 90)))
        } else {
            let k = r.below(live.len() as u64) as usize;
            if roll < 8 {
                (OpKind::Edit, live[k].clone(), Some(r.between(10, 90)))
            } else {
                (OpKind::Remove, live[k].clone(), None)
            }
        };
        let iv = interval.map(|s| format!("{s}s"));
        let args: Vec<&str> = match kind {
            OpKind::Add => vec![
                "check",
                "add",
                "tcp",
                &name,
                &target,
                "--interval",
                iv.as_deref().unwrap_or("30s"),
            ],
            OpKind::Edit => vec![
                "check",
                "edit",
                &name,
                "--interval",
                iv.as_deref().unwrap_or("30s"),
            ],
            OpKind::Remove => vec!["check", "remove", &name],
        };
        let start_ms = now_ms();
        let acked = node.qu(&args).is_ok_and(|o| o.status.success());
        let end_ms = now_ms();
        live.retain(|n| *n != name);
        if acked && kind != OpKind::Remove {
            live.push(name.clone());
        }
        ops.push(Op {
            worker: w,
            kind,
            name,
            interval_s: interval,
            node: node.name.clone(),
            start_ms,
            end_ms,
            acked,
        });
    }
    ops
}
