//! Push beats on their way to the master: the node whose web listener got
//! `/push/<token>` finds the check in its replicated state and hands the
//! beat to the master over the cluster RPC (or records it itself when it
//! is the master). The master keeps beats in memory only
//! ([`crate::engine::push`]); its evaluator turns their presence or
//! absence into transitions.
//!
//! The master names the node a beat came through from its TLS key, never
//! from the message, and takes only beats for push checks it knows.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, Core};
use crate::consensus::no_quorum;
use crate::engine::evaluate::Evaluator;
use crate::engine::push::{Beat, MAX_MESSAGE};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::state::Probe;
use crate::transport::Rpc;

/// How long the receiving node waits for the master to take a beat.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);

/// A node hands a push beat to the master.
#[derive(Debug)]
pub enum PushBeatRpc {}
impl Rpc for PushBeatRpc {
    const METHOD: &'static str = "checks.push";
    type Request = PushBeat;
    type Response = ();
}

/// One beat, as forwarded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushBeat {
    /// The push check's id.
    pub check_id: String,
    /// The job failed (`?status=fail`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fail: bool,
    /// Its message (`?msg=`), at most [`MAX_MESSAGE`] bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub msg: String,
}

impl PushBeat {
    fn beat(&self) -> Beat {
        if self.fail {
            Beat::Fail(self.msg.clone())
        } else {
            Beat::Ok
        }
    }
}

impl Core {
    /// Record a beat that reached node `via` (master only).
    pub(crate) fn record_beat(&self, via: &NodeId, beat: &PushBeat) -> Result<()> {
        if !self.acting_master() {
            return Err(no_quorum("this node is not the master"));
        }
        if beat.msg.len() > MAX_MESSAGE {
            return Err(Error::invalid_field(
                "msg",
                format!("at most {MAX_MESSAGE} bytes"),
            ));
        }
        let state = self.state();
        let known = state
            .checks
            .get(&beat.check_id)
            .is_some_and(|c| matches!(c.probe, Probe::Push(_)));
        if !known {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no push check {:?} on the master", beat.check_id),
            ));
        }
        let mut guard = self
            .verdicts
            .lock()
            .map_err(|_| Error::internal("verdict lock"))?;
        // The evaluator builds the engine on its next round; a beat that
        // comes first starts it (as that round would) rather than wait.
        let term = self.consensus.view().term;
        let engine = guard.get_or_insert_with(|| {
            tracing::info!(term, "master duty: evaluating checks");
            Evaluator::new(&state, term, Instant::now())
        });
        engine
            .push
            .on_beat(&beat.check_id, via, beat.beat(), Instant::now());
        Ok(())
    }

    /// Hand a beat to the master: here when this node is the master, else
    /// over the cluster RPC, within [`FORWARD_TIMEOUT`].
    pub(crate) async fn forward_beat(&self, beat: &PushBeat) -> Result<()> {
        if self.acting_master() {
            return self.record_beat(self.me(), beat);
        }
        let (leader, member) = self.leader()?;
        if leader == *self.me() {
            return Err(no_quorum("this node leads but holds no lease yet"));
        }
        let send = async {
            let conn = self.pool.get(&leader, &member).await?;
            let res = conn
                .call_with_timeout::<PushBeatRpc>(beat, FORWARD_TIMEOUT)
                .await;
            if res.is_err() {
                self.pool.drop_conn(&leader);
            }
            res
        };
        match tokio::time::timeout(FORWARD_TIMEOUT, send).await {
            Ok(res) => res,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("the master {leader} did not take the beat within 2s"),
            )),
        }
    }
}

impl Cluster {
    /// The push check (id, name) whose token is `token`, from this node's
    /// replicated state; `None` for any other text.
    pub(crate) fn find_push(&self, token: &str) -> Option<(String, String)> {
        let state = self.core.state();
        state
            .find_push(token)
            .map(|c| (c.id.clone(), c.name.clone()))
    }

    /// Hand a beat to the master (see [`Core::forward_beat`]).
    pub(crate) async fn push_beat(&self, beat: &PushBeat) -> Result<()> {
        self.core.forward_beat(beat).await
    }
}
