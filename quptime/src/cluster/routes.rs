//! The methods a node answers on its peer port (Raft's own methods are
//! added by the consensus module).

use std::sync::Arc;

use crate::cluster::Core;
use crate::cluster::rpc::{AdmitRpc, EvictRpc, JoinAbsorbRpc, JoinInviteRpc, ProposeRpc};
use crate::cluster::verdict::{ReportRpc, SummaryRpc};
use crate::consensus::{WriteError, no_quorum};
use crate::error::{Error, ErrorKind};
use crate::identity::NodeId;
use crate::state::{Command, PeerRecord};
use crate::transport::{Hello, NodeInfo, PROTOCOL_VERSION, Peer, Ping, Pong, Router};

/// The methods this node answers (Raft's are added by the consensus module).
pub(crate) fn routes(core: &Arc<Core>) -> Router {
    let me = core.me().clone();
    let info = NodeInfo {
        node_id: me.clone(),
        advertise: core.advertise.clone(),
        version: crate::VERSION.to_string(),
        protocol: PROTOCOL_VERSION,
    };
    let (c1, c2, c3, c4, c5, c6) = (
        core.clone(),
        core.clone(),
        core.clone(),
        core.clone(),
        core.clone(),
        core.clone(),
    );
    let (c7, c8, c9) = (core.clone(), core.clone(), core.clone());
    Router::new()
        .route::<Ping, _, _>(move |peer: Peer, ()| {
            let (me, core) = (me.clone(), c5.clone());
            async move {
                let id = peer.node_id()?;
                if core.faults.is_cut(id) {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        "traffic from this peer is cut (fault injection)",
                    ));
                }
                core.liveness.record_ok(id);
                Ok(Pong {
                    node_id: me,
                    version: crate::VERSION.to_string(),
                    level: core.faults.reported_state_level(),
                    boot: core.liveness.boot(),
                })
            }
        })
        .route::<Hello, _, _>(move |_peer: Peer, ()| {
            let info = info.clone();
            async move { Ok(info) }
        })
        .route::<ProposeRpc, _, _>(move |peer: Peer, cmd: Command| {
            let core = c1.clone();
            async move {
                let from = peer.node_id()?;
                if core.faults.is_cut(from) {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        "traffic from this peer is cut (fault injection)",
                    ));
                }
                // The proposer is whoever proved its key, never the body.
                peer.speaks_for("proposal's proposer", &cmd.proposer)?;
                // A key rotation is vouched for by the member's current
                // key: it must arrive over a connection that key made.
                if let crate::state::Mutation::RotateKey { node_id, .. } = &cmd.mutation
                    && (peer.node_id()? != node_id || cmd.proposer != *node_id)
                {
                    return Err(Error::new(
                        ErrorKind::NotTrusted,
                        format!(
                            "only node {node_id} itself can rotate its key, over a connection \
                             made with its current key (this one is from {})",
                            peer.node_id()?
                        ),
                    ));
                }
                match core.consensus.write(cmd).await {
                    Ok(o) => Ok(o),
                    Err(WriteError::Forward(leader, _)) => Err(no_quorum(format!(
                        "this node is no longer the master ({leader} is)"
                    ))),
                    Err(WriteError::Failed(e)) => Err(e),
                }
            }
        })
        .route::<AdmitRpc, _, _>(move |peer: Peer, record: PeerRecord| {
            let core = c2.clone();
            async move {
                peer.node_id()?;
                if !core.consensus.has_lease() {
                    return Err(no_quorum("this node is not the master"));
                }
                core.admit_here(record).await
            }
        })
        .route::<EvictRpc, _, _>(move |peer: Peer, id: NodeId| {
            let core = c3.clone();
            async move {
                peer.node_id()?;
                if !core.consensus.has_lease() {
                    return Err(no_quorum("this node is not the master"));
                }
                core.evict(id).await
            }
        })
        .route::<JoinInviteRpc, _, _>(move |peer: Peer, invite| {
            let core = c4.clone();
            async move {
                core.join_attempts.take(peer.addr.ip())?;
                core.accept_invite(peer, invite).await
            }
        })
        .route::<JoinAbsorbRpc, _, _>(move |peer: Peer, req| {
            let core = c9.clone();
            async move {
                core.join_attempts.take(peer.addr.ip())?;
                core.accept_absorb(peer, req).await
            }
        })
        .route::<crate::enroll::EnrollRpc, _, _>(move |peer: Peer, req| {
            let core = c6.clone();
            async move {
                core.join_attempts.take(peer.addr.ip())?;
                core.handle_enroll(peer, req).await
            }
        })
        .route::<ReportRpc, _, _>(move |peer: Peer, batch| {
            let core = c7.clone();
            async move {
                let from = peer.node_id()?.clone();
                if core.faults.is_cut(&from) {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        "traffic from this peer is cut (fault injection)",
                    ));
                }
                core.record_results(&from, batch)
            }
        })
        .route::<crate::cluster::push::PushBeatRpc, _, _>({
            let core = core.clone();
            move |peer: Peer, beat| {
                let core = core.clone();
                async move { core.record_beat(&peer.node_id()?.clone(), &beat) }
            }
        })
        .route::<SummaryRpc, _, _>(move |peer: Peer, ()| {
            let core = c8.clone();
            async move {
                peer.node_id()?;
                core.local_summaries()
                    .ok_or_else(|| no_quorum("this node is not the master"))
            }
        })
}
