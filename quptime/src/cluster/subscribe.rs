//! [`Subscription`]: the committed check transitions, in order, on any node.
//!
//! Transitions are replicated records with a cluster-wide sequence number,
//! so every node yields the same transitions in the same order, whichever
//! node decided them and across master failovers.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::watch;

use crate::state::{ClusterState, TransitionRecord};

/// A stream of committed transitions, starting after the moment of
/// subscribing.
#[derive(Debug)]
pub struct Subscription {
    rx: watch::Receiver<Arc<ClusterState>>,
    stopped: watch::Receiver<bool>,
    next_seq: u64,
    ready: VecDeque<TransitionRecord>,
    missed: u64,
}

impl Subscription {
    pub(crate) fn new(
        rx: watch::Receiver<Arc<ClusterState>>,
        stopped: watch::Receiver<bool>,
    ) -> Subscription {
        let next_seq = rx.borrow().last_seq + 1;
        Subscription {
            rx,
            stopped,
            next_seq,
            ready: VecDeque::new(),
            missed: 0,
        }
    }

    fn collect(&mut self) {
        let state = self.rx.borrow_and_update().clone();
        if let Some(first) = state.transitions.front()
            && first.seq > self.next_seq
        {
            // The subscriber fell behind the retained history.
            self.missed += first.seq - self.next_seq;
            self.next_seq = first.seq;
        }
        let from = self.next_seq;
        for t in state.transitions.iter().filter(|t| t.seq >= from) {
            self.ready.push_back(masked(t));
            self.next_seq = t.seq + 1;
        }
    }

    /// The next transition; `None` once the node has stopped and every
    /// transition committed before is taken.
    pub async fn next(&mut self) -> Option<TransitionRecord> {
        loop {
            if let Some(t) = self.ready.pop_front() {
                return Some(t);
            }
            self.collect();
            if let Some(t) = self.ready.pop_front() {
                return Some(t);
            }
            if self.is_closed() {
                return None;
            }
            tokio::select! {
                changed = self.rx.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                _ = self.stopped.changed() => {}
            }
        }
    }

    /// The next transition if one is already committed, without waiting.
    pub fn try_next(&mut self) -> Option<TransitionRecord> {
        if self.ready.is_empty() {
            self.collect();
        }
        self.ready.pop_front()
    }

    /// Whether the node has stopped (no more transitions will come once
    /// the already-committed ones are taken).
    pub fn is_closed(&self) -> bool {
        self.stopped.has_changed().is_err() || *self.stopped.borrow()
    }

    /// How many transitions were skipped because this subscriber fell more
    /// than the retained history behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

/// `t` as subscribers see it: the target's password and any password a
/// probe's detail quotes masked (`user:***@host`), like every place that
/// shows a target.
fn masked(t: &TransitionRecord) -> TransitionRecord {
    use crate::state::mask_credentials;
    let mut t = t.clone();
    t.target = mask_credentials(&t.target).into_owned();
    for e in &mut t.evidence {
        e.detail = mask_credentials(&e.detail).into_owned();
    }
    t
}
