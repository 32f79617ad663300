//! Cached, key-pinned connections to other members, for forwarding
//! proposals and liveness pings. A broken or re-keyed connection is
//! replaced on the next use; fault injection applies here too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::consensus::Member;
use crate::error::{Error, ErrorKind, Result};
use crate::faults::Faults;
use crate::identity::NodeId;
use crate::state::ClusterState;
use crate::transport::{Connection, Dialer};

/// Connections by member.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    dialer: Dialer,
    faults: Faults,
    conns: Arc<Mutex<HashMap<NodeId, Connection>>>,
    /// A member's recorded address wins over the one given (from the Raft
    /// membership), so a node that moved is dialled where it listens now.
    state: watch::Receiver<Arc<ClusterState>>,
}

impl Pool {
    pub(crate) fn new(
        dialer: Dialer,
        faults: Faults,
        state: watch::Receiver<Arc<ClusterState>>,
    ) -> Pool {
        Pool {
            dialer,
            faults,
            conns: Arc::default(),
            state,
        }
    }

    /// A live connection to `id` at `member` (or where `id` is recorded to
    /// listen now), dialled if needed.
    pub(crate) async fn get(&self, id: &NodeId, member: &Member) -> Result<Connection> {
        // The replicated record is the authority: a member that moved
        // listens at its recorded address, and one that rotated its key
        // proves the recorded key (the Raft membership keeps the first).
        let recorded = self
            .state
            .borrow()
            .peers
            .get(id)
            .filter(|p| !p.advertise.is_empty())
            .map(|p| (p.advertise.clone(), p.fingerprint.clone()));
        let moved;
        let member = match recorded {
            Some((addr, fingerprint))
                if addr != member.addr || fingerprint != member.fingerprint =>
            {
                moved = Member { addr, fingerprint };
                &moved
            }
            _ => member,
        };
        if self.faults.is_cut(id) {
            return Err(Error::new(
                ErrorKind::Transport,
                format!("traffic to {id} is cut (fault injection)"),
            ));
        }
        let cached = self.conns.lock().ok().and_then(|c| c.get(id).cloned());
        if let Some(conn) = cached
            && !conn.is_closed()
            && *conn.peer_fingerprint() == member.fingerprint
            && *conn.local_fingerprint() == self.dialer.fingerprint()
            && conn.addr() == member.addr
        {
            return Ok(conn);
        }
        let conn = self
            .dialer
            .connect(&member.addr, Some(&member.fingerprint))
            .await?;
        if let Ok(mut c) = self.conns.lock() {
            c.insert(id.clone(), conn.clone());
        }
        Ok(conn)
    }

    /// Forget the connection to `id` (after an error).
    pub(crate) fn drop_conn(&self, id: &NodeId) {
        if let Ok(mut c) = self.conns.lock() {
            c.remove(id);
        }
    }

    /// The dialer, for one-off connections (TOFU previews).
    pub(crate) fn dialer(&self) -> &Dialer {
        &self.dialer
    }
}
