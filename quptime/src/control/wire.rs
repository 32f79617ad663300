//! The control socket's frames: the node transport's envelope (one JSON
//! shape for both), with the control protocol's version. A response with id
//! 0 is about the connection, not one request (sent before the server hangs
//! up on a malformed frame).

pub(crate) use crate::transport::{Body, Envelope, WireError};

use crate::control::CONTROL_VERSION;
use crate::error::{Error, ErrorKind, Result};

/// Encode a request frame.
pub(crate) fn request(id: u64, method: &str, params: serde_json::Value) -> Result<Vec<u8>> {
    serde_json::to_vec(&Envelope {
        v: CONTROL_VERSION,
        id,
        body: Body::Request {
            method: method.to_string(),
            params,
        },
    })
    .map_err(|e| Error::internal(format!("encode {method} request: {e}")))
}

/// Encode the response to request `id`.
pub(crate) fn response(id: u64, outcome: Result<serde_json::Value>) -> Vec<u8> {
    let body = Body::response(outcome);
    let envelope = Envelope {
        v: CONTROL_VERSION,
        id,
        body,
    };
    // A `Value` and two strings always serialise; keep a fallback anyway so
    // the caller is never left waiting.
    serde_json::to_vec(&envelope).unwrap_or_else(|e| {
        let err = Error::internal(format!("encode response: {e}"));
        let fallback = Envelope {
            v: CONTROL_VERSION,
            id,
            body: Body::Response {
                result: None,
                error: Some(WireError::from(&err)),
            },
        };
        serde_json::to_vec(&fallback).unwrap_or_default()
    })
}

/// Decode a response frame into `(id, outcome)`.
pub(crate) fn decode_response(bytes: &[u8]) -> Result<(u64, Result<serde_json::Value>)> {
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| Error::new(ErrorKind::Protocol, format!("undecodable reply: {e}")))?;
    let Body::Response { result, error } = envelope.body else {
        return Err(Error::new(
            ErrorKind::Protocol,
            "the daemon sent a request frame instead of a reply",
        ));
    };
    let outcome = match (result, error) {
        (_, Some(e)) => Err(Error::from(e)),
        (Some(v), None) => Ok(v),
        (None, None) => Ok(serde_json::Value::Null),
    };
    Ok((envelope.id, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_matches_the_node_transport() {
        let req = request(7, "status", serde_json::json!({"verbose": true})).expect("encode");
        let v: serde_json::Value = serde_json::from_slice(&req).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"v": 1, "id": 7, "t": "request", "method": "status",
                               "params": {"verbose": true}})
        );
        let ok: serde_json::Value =
            serde_json::from_slice(&response(7, Ok(serde_json::json!(3)))).expect("json");
        assert_eq!(
            ok,
            serde_json::json!({"v": 1, "id": 7, "t": "response", "result": 3})
        );
        let err = response(8, Err(Error::new(ErrorKind::NoQuorum, "no quorum")));
        let (id, outcome) = decode_response(&err).expect("decode");
        assert_eq!(id, 8);
        let e = outcome.expect_err("error reply");
        assert_eq!(e.kind(), ErrorKind::NoQuorum);
        assert_eq!(e.message(), "no quorum");
    }

    #[test]
    fn the_field_and_hint_cross_and_old_replies_still_decode() {
        let e = Error::invalid_field("interval", "too short").with_hint("see `qu check list`");
        let (_, outcome) = decode_response(&response(3, Err(e))).expect("decode");
        let e = outcome.expect_err("error reply");
        assert_eq!(
            (e.field(), e.hint(), e.message()),
            (Some("interval"), Some("see `qu check list`"), "too short")
        );
        // A peer from before the field existed sends kind and message only.
        let old = br#"{"v":1,"id":4,"t":"response","error":{"kind":"not_found","message":"gone"}}"#;
        let (_, outcome) = decode_response(old).expect("decode an old reply");
        let e = outcome.expect_err("error reply");
        assert_eq!(
            (e.kind(), e.field(), e.hint()),
            (ErrorKind::NotFound, None, None)
        );
        // And a plain error is sent without the new members.
        let plain = response(5, Err(Error::invalid("bad")));
        let text = String::from_utf8(plain).expect("utf-8");
        assert!(!text.contains("field") && !text.contains("hint"), "{text}");
    }

    #[test]
    fn params_may_be_omitted_and_unknown_fields_are_ignored() {
        let env: Envelope =
            serde_json::from_slice(br#"{"v":1,"id":2,"t":"request","method":"m","x":1}"#)
                .expect("decode");
        assert!(matches!(env.body, Body::Request { params, .. } if params.is_null()));
    }
}
