//! The master's decisions without I/O, in the style of openraft's
//! engine/runtime split and quinn-proto.
//!
//! An engine holds the master's own memory (retry books, clocks) and is
//! fed events with the time passed in (`on_tick(&state, now)`,
//! `on_delivery(id, outcome, now)`); it answers with a list of actions
//! (propose this mutation, send this notification). It never touches a
//! socket, a task or the clock, so its rules are unit-tested with virtual
//! time in microseconds. The drivers in `cluster/` run it while the node is
//! master, perform its actions and feed the results back; a new master
//! builds a fresh engine, which starts from the replicated state alone.

pub(crate) mod deliver;
#[cfg(test)]
mod deliver_tests;
pub(crate) mod leader;
