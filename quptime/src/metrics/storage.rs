//! The storage gauges of a node: what its data directory and Raft log
//! hold and how much room the disk has left, so an operator sees a disk
//! filling up (or a log that stopped being compacted) before writes are
//! refused. Kept apart from the rest of the registry because they are
//! sampled from the filesystem, not from the replicated state.

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// The storage figures of a node, sampled at scrape time.
#[derive(Debug, Clone, Default)]
pub struct StorageSample {
    /// Bytes of the regular files under the data directory.
    pub data_dir_bytes: u64,
    /// Bytes free on the filesystem holding the Raft directory (0 if unknown).
    pub disk_free_bytes: u64,
    /// Size of that filesystem in bytes (0 if unknown).
    pub disk_size_bytes: u64,
    /// Bytes of `raft/log/log.dat`.
    pub raft_log_bytes: u64,
    /// Entries in the Raft log.
    pub raft_log_entries: u64,
    /// What `/healthz` answers: the node can commit and apply.
    pub healthy: bool,
}

#[derive(Debug, Default)]
pub(super) struct StorageGauges {
    data_dir: Gauge,
    disk_free: Gauge,
    disk_size: Gauge,
    log_bytes: Gauge,
    log_entries: Gauge,
    healthy: Gauge,
}

impl StorageGauges {
    /// Register every gauge on `r` (already prefixed `quptime_`).
    pub(super) fn register(&self, r: &mut Registry) {
        let bytes = [
            (
                "data_dir",
                "Bytes of the regular files under this node's data directory",
                &self.data_dir,
            ),
            (
                "disk_free",
                "Bytes free on the filesystem holding this node's Raft log",
                &self.disk_free,
            ),
            (
                "disk_size",
                "Size of the filesystem holding this node's Raft log",
                &self.disk_size,
            ),
            (
                "raft_log",
                "Bytes of this node's Raft log file",
                &self.log_bytes,
            ),
        ];
        for (name, help, gauge) in bytes {
            r.register_with_unit(name, help, Unit::Bytes, gauge.clone());
        }
        r.register(
            "raft_log_entries",
            "Entries in this node's Raft log (compaction keeps it near the snapshot interval)",
            self.log_entries.clone(),
        );
        r.register(
            "healthy",
            "1 while this node can commit and apply (what /healthz answers), 0 when its Raft \
             stopped or its disk is below the reserve",
            self.healthy.clone(),
        );
    }

    pub(super) fn set(&self, s: &StorageSample) {
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.data_dir.set(int(s.data_dir_bytes));
        self.disk_free.set(int(s.disk_free_bytes));
        self.disk_size.set(int(s.disk_size_bytes));
        self.log_bytes.set(int(s.raft_log_bytes));
        self.log_entries.set(int(s.raft_log_entries));
        self.healthy.set(i64::from(s.healthy));
    }
}
