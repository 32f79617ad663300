//! What travels inside a frame: a versioned envelope around typed requests
//! and responses.
//!
//! Every frame is one JSON [`Envelope`] with the protocol version `v`, a
//! request id chosen by the caller (so many calls share one connection and a
//! slow one delays no other), and either a request (method + params) or a
//! response (result or error). Methods are declared as types implementing
//! [`Rpc`], which fixes their name, request and response types and whether a
//! not-yet-trusted peer may call them.
//!
//! Compatibility: a newer minor version may add fields (unknown fields are
//! ignored) and methods (an unknown method gets a clear `unknown method`
//! error). A peer speaking a newer major `v` gets an `incompatible` error
//! reply naming both versions.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::identity::NodeId;

/// The wire protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// One frame's content.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Envelope {
    /// Protocol version of the sender.
    pub v: u16,
    /// Request id, echoed in the response.
    pub id: u64,
    #[serde(flatten)]
    pub body: Body,
}

/// A request or a response.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Body {
    Request {
        method: String,
        #[serde(default)]
        params: serde_json::Value,
    },
    Response {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<WireError>,
    },
}

impl Body {
    /// The response carrying `outcome`: its value, or the error's kind and
    /// text.
    pub(crate) fn response(outcome: crate::error::Result<serde_json::Value>) -> Body {
        match outcome {
            Ok(result) => Body::Response {
                result: Some(result),
                error: None,
            },
            Err(e) => Body::Response {
                result: None,
                error: Some(WireError::from(&e)),
            },
        }
    }
}

/// An error as it crosses the wire: the stable kind name, the text and,
/// when there are some, the input field and the `qu` hint (both optional,
/// so peers on either side of an upgrade still decode each other).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireError {
    pub kind: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<&Error> for WireError {
    fn from(e: &Error) -> WireError {
        WireError {
            kind: e.kind().as_str().to_string(),
            message: e.message().to_string(),
            field: e.field().map(str::to_string),
            hint: e.hint().map(str::to_string),
        }
    }
}

impl From<WireError> for Error {
    fn from(w: WireError) -> Error {
        let mut e = Error::new(ErrorKind::from_name(&w.kind), w.message);
        if let Some(f) = w.field {
            e = e.with_field(f);
        }
        if let Some(h) = w.hint {
            e = e.with_hint(h);
        }
        e
    }
}

/// A remote method: its name, argument and result types, and whether peers
/// whose key is not trusted may call it.
pub trait Rpc: 'static {
    /// The method name on the wire (stable across versions).
    const METHOD: &'static str;
    /// `true` only for methods a node must answer before it trusts the
    /// caller: identification, join and enrollment.
    const OPEN: bool = false;
    /// The argument.
    type Request: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The result.
    type Response: Serialize + DeserializeOwned + Send + Sync + 'static;
}

/// Liveness probe between trusted nodes.
#[derive(Debug)]
pub enum Ping {}

/// `Ping`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// The answering node.
    pub node_id: NodeId,
    /// Its software version.
    pub version: String,
    /// The highest replicated-state level it can apply (see
    /// `quptime::state::STATE_LEVEL`); 1 when a release does not say.
    #[serde(default = "level_one")]
    pub level: u32,
    /// The answering process's incarnation, random per start (0 when a
    /// release does not say): a new value means the node restarted.
    #[serde(default)]
    pub boot: u64,
}

fn level_one() -> u32 {
    1
}

impl Rpc for Ping {
    const METHOD: &'static str = "ping";
    type Request = ();
    type Response = Pong;
}

/// Identification, open to anyone who completes the TLS handshake: used to
/// show a node's id and key to a person before trusting it (TOFU).
#[derive(Debug)]
pub enum Hello {}

/// What a node says about itself. The key is not in here on purpose: the
/// caller takes it from the TLS session, where it is proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id.
    pub node_id: NodeId,
    /// The address it advertises to peers.
    pub advertise: String,
    /// Its software version.
    pub version: String,
    /// The wire protocol version it speaks.
    pub protocol: u16,
}

impl Rpc for Hello {
    const METHOD: &'static str = "hello";
    const OPEN: bool = true;
    type Request = ();
    type Response = NodeInfo;
}
