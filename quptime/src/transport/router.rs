//! Method dispatch with per-request authorisation.
//!
//! The router maps method names to handlers. Before a handler runs, the
//! caller's verified key is looked up in the [`Authorizer`]: the handler gets
//! a [`Peer`] whose `node_id` comes from that lookup, never from the message.
//! Methods not marked [`Rpc::OPEN`] refuse callers whose key is not trusted.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::transport::message::Rpc;
use crate::trust::Authorizer;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The fingerprint of the key the caller proved in the TLS handshake.
    pub fingerprint: Fingerprint,
    /// The trusted NodeId for that key, or `None` for an untrusted caller
    /// (possible only in [`Rpc::OPEN`] methods).
    pub node_id: Option<NodeId>,
    /// The caller's socket address.
    pub addr: SocketAddr,
    /// The caller's certificate in DER (for enrollment, which records it).
    pub cert_der: Arc<Vec<u8>>,
}

impl Peer {
    /// The caller's NodeId, or a `NotTrusted` error.
    pub fn node_id(&self) -> Result<&NodeId> {
        self.node_id
            .as_ref()
            .ok_or_else(|| not_trusted(&self.fingerprint))
    }

    /// The caller's NodeId, provided `claimed` (a node id written in the
    /// request's body, `what` says which) is that id: a member speaks only
    /// for itself. A mismatch is a `NotTrusted` error, which the transport
    /// logs once per source address and interval.
    pub fn speaks_for(&self, what: &str, claimed: &NodeId) -> Result<&NodeId> {
        let id = self.node_id()?;
        if id != claimed {
            return Err(Error::new(
                ErrorKind::NotTrusted,
                format!(
                    "identity mismatch: the {what} names node {claimed}, but the caller proved                      the key of node {id} ({}); a member speaks only for itself, so this request                      is refused (a misconfigured or compromised member?)",
                    self.fingerprint
                ),
            ));
        }
        Ok(id)
    }
}

fn not_trusted(fp: &Fingerprint) -> Error {
    Error::new(
        ErrorKind::NotTrusted,
        format!(
            "peer not trusted: key {fp} is not in this node's trust store; \
             add the node with `qu node add` or an enrollment token first"
        ),
    )
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Handler =
    Arc<dyn Fn(Peer, serde_json::Value) -> BoxFuture<Result<serde_json::Value>> + Send + Sync>;

struct Route {
    open: bool,
    handler: Handler,
}

/// The table of methods a node answers. Built once, shared by connections.
#[derive(Clone, Default)]
pub struct Router {
    routes: HashMap<&'static str, Arc<Route>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.routes.keys().collect();
        names.sort();
        f.debug_struct("Router").field("methods", &names).finish()
    }
}

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    /// Answer method `R` with `handler`. A later route for the same method
    /// replaces the earlier one.
    pub fn route<R, F, Fut>(mut self, handler: F) -> Router
    where
        R: Rpc,
        F: Fn(Peer, R::Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R::Response>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |peer, params| {
            let handler = handler.clone();
            Box::pin(async move {
                let request: R::Request = serde_json::from_value(params).map_err(|e| {
                    // A newer peer may send what this release cannot read
                    // (an unknown variant or a missing field): say so on
                    // both sides instead of failing obscurely.
                    // Logged by the server, at most once per address and
                    // interval.
                    Error::new(
                        ErrorKind::Incompatible,
                        format!(
                            "cannot decode the parameters of {} ({e}): the sender may run a \
                             newer quptime than this node's {}; upgrade this node",
                            R::METHOD,
                            crate::VERSION
                        ),
                    )
                })?;
                let response = handler(peer, request).await?;
                serde_json::to_value(response)
                    .map_err(|e| Error::internal(format!("encode {} response: {e}", R::METHOD)))
            })
        });
        self.routes.insert(
            R::METHOD,
            Arc::new(Route {
                open: R::OPEN,
                handler: erased,
            }),
        );
        self
    }

    /// Authorise and run one request.
    pub(crate) async fn dispatch(
        &self,
        authorizer: &dyn Authorizer,
        mut peer: Peer,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value> {
        peer.node_id = authorizer.node_for(&peer.fingerprint);
        let Some(route) = self.routes.get(method).cloned() else {
            // Unknown methods are refused to untrusted callers the same way
            // as known ones, so probing reveals nothing.
            peer.node_id()?;
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("unknown method {method:?}: the peer may run a newer qu"),
            ));
        };
        if !route.open {
            peer.node_id()?;
        }
        (route.handler)(peer, params).await
    }
}
