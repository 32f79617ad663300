//! The master's decisions without I/O, in the style of openraft's
//! engine/runtime split and quinn-proto.
//!
//! An engine holds the master's own memory (retry books, clocks, the
//! aggregator) and is fed events with the time passed in
//! (`on_tick(&state, now)`, `on_delivery(id, outcome, now)`,
//! `on_report(from, results, now)`); it answers with a list of actions
//! (propose this mutation, send this notification, promote this learner).
//! It never touches a socket, a task or the clock, so its rules are
//! unit-tested with virtual time in microseconds. The drivers in `cluster/`
//! run it while the node is master, perform its actions and feed the
//! results back; a new master builds a fresh engine, which starts from the
//! replicated state alone.
//!
//! - [`canary`]: the connectivity canary (when a node abstains) and the
//!   monitor's health; driven by `cluster/canary.rs` and the evaluator.
//! - [`deliver`]: alert delivery (order, retries, reminders); driven by
//!   `cluster/dispatch.rs`.
//! - [`evaluate`]: check verdicts (who counts, warm-up, cadence,
//!   hysteresis); driven by `cluster/verdict.rs`.
//! - [`members`]: Raft membership following the peers table (add learner,
//!   promote, remove, prune expired tokens); driven by
//!   `cluster/reconcile.rs`.
//! - [`flap`]: when to propose `SetFlapping` (flap control); driven with
//!   the delivery engine.
//! - [`escalate`]: when to propose `QueueEscalation` (escalation after a
//!   channel's delay); driven with the delivery engine.
//! - [`digest`]: the storm digest (many DOWNs on one channel at once go
//!   as one message); part of the delivery engine.
//! - [`leader`]: the one leadership preference.
//! - [`push`]: push check verdicts from beats and their absence; driven
//!   with the evaluation engine.
//!
//! Each engine has its own `Action` enum rather than one shared type: a
//! driver then matches exactly what its engine can ask, with no arm for
//! another engine's actions to mark unreachable, and adding an action to
//! one engine makes only its own driver fail to compile until it performs
//! it.

pub(crate) mod canary;
pub(crate) mod deliver;
#[cfg(test)]
mod deliver_tests;
#[cfg(test)]
mod depends_tests;
pub(crate) mod digest;
pub(crate) mod escalate;
#[cfg(test)]
mod escalate_tests;
pub(crate) mod evaluate;
#[cfg(test)]
mod evaluate_tests;
pub(crate) mod flap;
#[cfg(test)]
mod flap_tests;
pub(crate) mod leader;
#[cfg(test)]
mod maintenance_tests;
pub(crate) mod members;
#[cfg(test)]
mod members_tests;
pub(crate) mod push;
