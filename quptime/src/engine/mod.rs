//! The master's decisions without I/O: pure functions of what the node
//! observed and `now`, unit-tested in microseconds; `cluster/` and
//! `consensus/` are the drivers that observe and act.

pub(crate) mod leader;
