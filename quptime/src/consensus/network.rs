//! Raft over the node transport: the client side (`RaftNetworkV2`, one
//! lazily connected, key-pinned connection per target) and the server side
//! (handlers that hand requests to the local Raft).
//!
//! Every call is bounded by openraft's soft TTL (openraft does not time out
//! appends itself). Connection failures and remote shutdowns surface as
//! `Unreachable`, which makes openraft back off. Every request fits the
//! transport's frame cap whatever the log or the state holds: an append
//! carries at most [`MAX_APPEND_BYTES`] of entries (openraft bounds batches
//! by count only; the rest goes in the next round, reported as a partial
//! success) and snapshots travel in [`CHUNK`]-sized pieces. With proposals
//! capped at [`MAX_PROPOSAL`], one entry always fits a batch, so no entry
//! can stall replication.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openraft::errors::{
    NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::storage::Snapshot;
use openraft::type_config::alias::{SnapshotMetaOf, SnapshotOf, VoteOf};
use openraft::vote::RaftLeaderId;
use openraft::{OptionalSend, RPCTypes};
use serde::{Deserialize, Serialize};

use crate::consensus::types::{Member, TypeConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::faults::Faults;
use crate::identity::{Fingerprint, NodeId};
use crate::state::mutation::{MAX_PROPOSAL, encoded_len};
use crate::transport::{Connection, Dialer, Peer, Router, Rpc};

/// Snapshot bytes per chunk (base64 makes it 1.4 MiB on the wire).
pub const CHUNK: usize = 1 << 20;
/// JSON bytes of log entries one append request carries (at least one
/// entry always goes, and one entry is at most a proposal plus its log id).
pub const MAX_APPEND_BYTES: usize = 2 << 20;
/// Room for an entry's log id and payload tag around its command.
const ENTRY_OVERHEAD: usize = 4 << 10;

// The chain that keeps replication moving: a proposal fits a batch, a
// batch and a chunk fit the default frame (4 MiB) with room for the
// envelope, and a frame fits a log record.
const _: () = assert!(MAX_PROPOSAL + ENTRY_OVERHEAD <= MAX_APPEND_BYTES);
const _: () = assert!(MAX_APPEND_BYTES + (64 << 10) < 4 << 20);
const _: () = assert!(CHUNK / 3 * 4 + (64 << 10) < 4 << 20);
const _: () = assert!(4 << 20 < super::log_store::RECORD_LIMIT);
/// Largest snapshot a node accepts (bounds the receive buffer).
const MAX_SNAPSHOT: usize = 512 << 20;

macro_rules! raft_rpc {
    ($name:ident, $method:literal, $req:ty, $resp:ty) => {
        #[doc = concat!("Raft RPC `", $method, "`.")]
        #[derive(Debug)]
        pub enum $name {}
        impl Rpc for $name {
            const METHOD: &'static str = $method;
            type Request = $req;
            type Response = $resp;
        }
    };
}

raft_rpc!(
    AppendRpc,
    "raft.append",
    AppendEntriesRequest<TypeConfig>,
    AppendEntriesResponse<TypeConfig>
);
raft_rpc!(
    VoteRpc,
    "raft.vote",
    VoteRequest<TypeConfig>,
    VoteResponse<TypeConfig>
);
raft_rpc!(
    PreVoteRpc,
    "raft.pre_vote",
    VoteRequest<TypeConfig>,
    VoteResponse<TypeConfig>
);
raft_rpc!(
    TransferRpc,
    "raft.transfer_leader",
    TransferLeaderRequest<TypeConfig>,
    TransferLeaderResponse<TypeConfig>
);
raft_rpc!(
    SnapshotRpc,
    "raft.snapshot",
    SnapshotChunk,
    Option<SnapshotResponse<TypeConfig>>
);

/// One piece of a snapshot in flight.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotChunk {
    /// Identifies one transfer.
    pub transfer: String,
    /// Byte offset of `data`.
    pub offset: u64,
    /// Base64 of the bytes.
    pub data: String,
    /// Present on the last chunk: install with this vote and meta.
    pub last: Option<(VoteOf<TypeConfig>, SnapshotMetaOf<TypeConfig>)>,
}

/// Builds per-target clients.
#[derive(Debug, Clone)]
pub struct Network {
    pub(crate) me: NodeId,
    pub(crate) dialer: Dialer,
    pub(crate) faults: Faults,
    /// The replicated state: a member's recorded address wins over the one
    /// in the Raft membership, so a node that moved (restarted on another
    /// port) is dialled where it now listens.
    pub(crate) state: tokio::sync::watch::Receiver<Arc<crate::state::ClusterState>>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Member) -> PeerClient {
        PeerClient {
            me: self.me.clone(),
            target,
            member: node.clone(),
            dialer: self.dialer.clone(),
            faults: self.faults.clone(),
            state: self.state.clone(),
            conn: None,
        }
    }
}

/// The connection to one Raft peer.
#[derive(Debug)]
pub struct PeerClient {
    me: NodeId,
    target: NodeId,
    member: Member,
    dialer: Dialer,
    faults: Faults,
    state: tokio::sync::watch::Receiver<Arc<crate::state::ClusterState>>,
    conn: Option<Connection>,
}

impl PeerClient {
    /// Where the target listens: its recorded address (updated when it
    /// moves), else the one in the membership.
    fn addr(&self) -> (String, Fingerprint) {
        // The replicated record wins over the Raft membership, which keeps
        // the address and key a member joined with: it may have moved or
        // rotated its key (`qu key rotate`) since.
        self.state
            .borrow()
            .peers
            .get(&self.target)
            .filter(|p| !p.advertise.is_empty())
            .map_or_else(
                || (self.member.addr.clone(), self.member.fingerprint.clone()),
                |p| (p.advertise.clone(), p.fingerprint.clone()),
            )
    }

    async fn call<R: Rpc>(
        &mut self,
        action: RPCTypes,
        req: &R::Request,
        ttl: Duration,
    ) -> std::result::Result<R::Response, RPCError<TypeConfig>> {
        let conn = self
            .connection(ttl)
            .await
            .map_err(|e| self.to_rpc_error(action, ttl, e))?;
        match conn.call_with_timeout::<R>(req, ttl).await {
            Ok(r) => Ok(r),
            Err(e) => {
                if matches!(
                    e.kind(),
                    ErrorKind::Transport
                        | ErrorKind::Protocol
                        | ErrorKind::Tls
                        | ErrorKind::NotTrusted
                ) {
                    self.conn = None;
                }
                Err(self.to_rpc_error(action, ttl, e))
            }
        }
    }

    async fn connection(&mut self, ttl: Duration) -> Result<Connection> {
        if self.faults.is_cut(&self.target) {
            return Err(Error::new(
                ErrorKind::Transport,
                format!("traffic to {} is cut (fault injection)", self.target),
            ));
        }
        let (addr, fingerprint) = self.addr();
        // A connection made before this node rotated its key presents the
        // old key, which the others stop trusting: dial again.
        if let Some(c) = &self.conn
            && !c.is_closed()
            && c.addr() == addr
            && *c.local_fingerprint() == self.dialer.fingerprint()
        {
            return Ok(c.clone());
        }
        let conn = tokio::time::timeout(
            ttl.max(Duration::from_millis(500)),
            self.dialer.connect(&addr, Some(&fingerprint)),
        )
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, format!("connect to {addr} timed out")))??;
        self.conn = Some(conn.clone());
        Ok(conn)
    }

    fn to_rpc_error(&self, action: RPCTypes, ttl: Duration, e: Error) -> RPCError<TypeConfig> {
        match e.kind() {
            ErrorKind::Timeout => RPCError::Timeout(Timeout {
                action,
                id: self.me.clone(),
                target: self.target.clone(),
                timeout: ttl,
            }),
            ErrorKind::Protocol | ErrorKind::Incompatible => {
                RPCError::Network(NetworkError::new(&e))
            }
            _ => RPCError::Unreachable(Unreachable::new(&e)),
        }
    }
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> std::result::Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let mut rpc = rpc;
        let keep = fit_batch(&rpc.entries, MAX_APPEND_BYTES);
        let sent_up_to = (keep < rpc.entries.len()).then(|| {
            rpc.entries.truncate(keep);
            rpc.entries.last().map(|e| e.log_id.clone())
        });
        let resp = self
            .call::<AppendRpc>(RPCTypes::AppendEntries, &rpc, option.soft_ttl())
            .await?;
        Ok(match (resp, sent_up_to) {
            // The follower took all we sent, which was a prefix: openraft
            // sends the rest from there.
            (AppendEntriesResponse::Success, Some(last)) => {
                AppendEntriesResponse::PartialSuccess(last)
            }
            (resp, _) => resp,
        })
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> std::result::Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call::<VoteRpc>(RPCTypes::Vote, &rpc, option.soft_ttl())
            .await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> std::result::Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call::<PreVoteRpc>(RPCTypes::Vote, &rpc, option.soft_ttl())
            .await
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> std::result::Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call::<TransferRpc>(RPCTypes::TransferLeader, &req, option.soft_ttl())
            .await
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, Vec<u8>>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> std::result::Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let ttl = option.soft_ttl().max(Duration::from_secs(5));
        let transfer = uuid::Uuid::new_v4().simple().to_string();
        let bytes = snapshot.snapshot;
        let send = async {
            let chunks: Vec<&[u8]> = if bytes.is_empty() {
                vec![&[][..]]
            } else {
                bytes.chunks(CHUNK).collect()
            };
            let n = chunks.len();
            let mut offset = 0u64;
            for (i, chunk) in chunks.into_iter().enumerate() {
                let last = (i + 1 == n).then(|| (vote.clone(), snapshot.meta.clone()));
                let req = SnapshotChunk {
                    transfer: transfer.clone(),
                    offset,
                    data: B64.encode(chunk),
                    last,
                };
                offset += chunk.len() as u64;
                let reply = self
                    .call::<SnapshotRpc>(RPCTypes::InstallSnapshot, &req, ttl)
                    .await?;
                if let Some(resp) = reply {
                    return Ok(resp);
                }
            }
            Err(StreamingError::from(RPCError::Network(
                NetworkError::from_string(
                    "snapshot receiver never answered the last chunk".to_string(),
                ),
            )))
        };
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            r = send => r,
        }
    }
}

/// How many of `entries`, from the first, fit in `budget` bytes of JSON;
/// at least one, so a batch always makes progress.
pub(crate) fn fit_batch<T: Serialize>(entries: &[T], budget: usize) -> usize {
    let mut used = 0usize;
    for (i, e) in entries.iter().enumerate() {
        used = used.saturating_add(encoded_len(e));
        if used > budget {
            return i.max(1);
        }
    }
    entries.len()
}

/// A snapshot being received: who sends it and the bytes so far.
type Partial = (NodeId, Vec<u8>);

/// Snapshots being received, by transfer id.
#[derive(Debug, Default, Clone)]
struct Inbox {
    transfers: Arc<Mutex<HashMap<String, Partial>>>,
}

fn fatal(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Shutdown, format!("raft: {e}"))
}

/// Refuse calls from peers cut by fault injection, and calls whose vote
/// names another node than the one whose key the caller proved: every
/// node id in a Raft request body (the candidate of a vote, the leader of
/// an append, a transfer or a snapshot) must be the caller's own.
fn admit(faults: &Faults, peer: &Peer, what: &str, vote: &VoteOf<TypeConfig>) -> Result<NodeId> {
    let id = peer.speaks_for(what, vote.leader_id().node_id())?.clone();
    not_cut(faults, id)
}

/// [`admit`] for a request that names no node (a snapshot's middle chunk).
fn admit_any(faults: &Faults, peer: &Peer) -> Result<NodeId> {
    not_cut(faults, peer.node_id()?.clone())
}

fn not_cut(faults: &Faults, id: NodeId) -> Result<NodeId> {
    if faults.is_cut(&id) {
        return Err(Error::new(
            ErrorKind::Transport,
            "traffic from this peer is cut (fault injection)",
        ));
    }
    Ok(id)
}

/// Register the server side of the Raft RPCs on `router`.
pub fn routes(router: Router, consensus: super::Consensus, faults: Faults) -> Router {
    let inbox = Inbox::default();
    let (r1, r2, r3, r4, r5) = (
        consensus.clone(),
        consensus.clone(),
        consensus.clone(),
        consensus.clone(),
        consensus,
    );
    let (f1, f2, f3, f4, f5) = (
        faults.clone(),
        faults.clone(),
        faults.clone(),
        faults.clone(),
        faults,
    );
    router
        .route::<AppendRpc, _, _>(move |peer, req| {
            let (consensus, faults) = (r1.clone(), f1.clone());
            async move {
                let from = admit(&faults, &peer, "raft.append leader", &req.vote)?;
                // A full disk refuses new entries (the leader retries), so
                // a failing append cannot leave this node's Raft fatal.
                if !req.entries.is_empty() {
                    consensus.room()?;
                }
                let resp = consensus.raft().append_entries(req).await.map_err(fatal)?;
                if matches!(resp, AppendEntriesResponse::Success) {
                    consensus.note_append(&from);
                }
                Ok(resp)
            }
        })
        .route::<VoteRpc, _, _>(move |peer, req| {
            let (raft, faults) = (r2.raft(), f2.clone());
            async move {
                admit(&faults, &peer, "raft.vote candidate", &req.vote)?;
                raft.vote(req).await.map_err(fatal)
            }
        })
        .route::<PreVoteRpc, _, _>(move |peer, req| {
            let (raft, faults) = (r3.raft(), f3.clone());
            async move {
                admit(&faults, &peer, "raft.pre_vote candidate", &req.vote)?;
                raft.pre_vote(req).await.map_err(fatal)
            }
        })
        .route::<TransferRpc, _, _>(move |peer, req| {
            let (consensus, faults) = (r4.clone(), f4.clone());
            async move {
                let from = admit(
                    &faults,
                    &peer,
                    "raft.transfer_leader leader",
                    req.from_leader(),
                )?;
                // The leader hands its role here: a master existed.
                consensus.note_append(&from);
                consensus
                    .raft()
                    .handle_transfer_leader(req)
                    .await
                    .map_err(fatal)
            }
        })
        .route::<SnapshotRpc, _, _>(move |peer, chunk: SnapshotChunk| {
            let (raft, faults, inbox) = (r5.raft(), f5.clone(), inbox.clone());
            async move {
                let from = match &chunk.last {
                    Some((vote, _)) => admit(&faults, &peer, "raft.snapshot leader", vote)?,
                    None => admit_any(&faults, &peer)?,
                };
                let data = B64
                    .decode(chunk.data.as_bytes())
                    .map_err(|e| Error::new(ErrorKind::Protocol, format!("snapshot chunk: {e}")))?;
                let complete = {
                    let mut transfers = inbox
                        .transfers
                        .lock()
                        .map_err(|_| Error::internal("inbox lock"))?;
                    // One transfer per sender at a time: a new one replaces an abandoned one.
                    transfers.retain(|id, (sender, _)| *sender != from || *id == chunk.transfer);
                    let (_, buf) = transfers
                        .entry(chunk.transfer.clone())
                        .or_insert_with(|| (from.clone(), Vec::new()));
                    if buf.len() as u64 != chunk.offset {
                        transfers.remove(&chunk.transfer);
                        return Err(Error::new(
                            ErrorKind::Protocol,
                            "snapshot chunk out of order",
                        ));
                    }
                    if buf.len().saturating_add(data.len()) > MAX_SNAPSHOT {
                        transfers.remove(&chunk.transfer);
                        return Err(Error::new(
                            ErrorKind::Protocol,
                            "snapshot larger than 512 MiB refused",
                        ));
                    }
                    buf.extend_from_slice(&data);
                    match chunk.last {
                        Some(last) => transfers.remove(&chunk.transfer).map(|(_, b)| (last, b)),
                        None => None,
                    }
                };
                let Some(((vote, meta), bytes)) = complete else {
                    return Ok(None);
                };
                let resp = raft
                    .install_full_snapshot(
                        vote,
                        Snapshot {
                            meta,
                            snapshot: bytes,
                        },
                    )
                    .await
                    .map_err(fatal)?;
                Ok(Some(resp))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_by_bytes_but_always_carry_one_entry() {
        let small: Vec<String> = (0..300).map(|i| format!("entry {i}")).collect();
        assert_eq!(fit_batch(&small, MAX_APPEND_BYTES), 300);
        let big: Vec<String> = (0..5).map(|_| "x".repeat(900 << 10)).collect();
        assert_eq!(fit_batch(&big, MAX_APPEND_BYTES), 2);
        let huge = vec!["y".repeat(3 << 20), "z".into()];
        assert_eq!(fit_batch(&huge, MAX_APPEND_BYTES), 1);
        assert_eq!(fit_batch::<String>(&[], MAX_APPEND_BYTES), 0);
    }
}
