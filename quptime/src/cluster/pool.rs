//! Cached, key-pinned connections to other members, for forwarding
//! proposals and liveness pings. A broken or re-keyed connection is
//! replaced on the next use; fault injection applies here too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::consensus::{Faults, Member};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::transport::{Connection, Dialer};

/// Connections by member.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    dialer: Dialer,
    faults: Faults,
    conns: Arc<Mutex<HashMap<NodeId, Connection>>>,
}

impl Pool {
    pub(crate) fn new(dialer: Dialer, faults: Faults) -> Pool {
        Pool {
            dialer,
            faults,
            conns: Arc::default(),
        }
    }

    /// A live connection to `id` at `member`, dialled if needed.
    pub(crate) async fn get(&self, id: &NodeId, member: &Member) -> Result<Connection> {
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
