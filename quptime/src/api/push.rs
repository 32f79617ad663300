//! A push check's URL (`qu check push-url <name> [--rotate]`): the use
//! case and its control method.
//!
//! The token is shown only when it is made: the replicated state keeps
//! its hash (`state::probe_push`). `qu check add push` makes the first
//! one right after adding the check; asking again makes a new one only
//! with `rotate` (the old URL stops working at once), since the old text
//! cannot be shown.

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::{Error, Result};
use crate::state::probe_push::{new_token, push_path};
use crate::state::{Mutation, Probe};
use crate::transport::Rpc;

method!(/// `qu check push-url`: the token is in the answer, and nowhere else.
    GetPushUrl, "check.push_url", PushUrlRequest, PushUrl);

/// Arguments of `check.push_url`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushUrlRequest {
    /// The push check (id or name).
    pub check: String,
    /// Replace the token even if the check has one.
    #[serde(default)]
    pub rotate: bool,
}

/// Result of `check.push_url`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushUrl {
    /// The check's name.
    pub check: String,
    /// The token (64 hex digits), shown once.
    pub token: String,
    /// `/push/<token>`, on any node's web listener.
    pub path: String,
    /// The full URL on this node's web listener, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Make a new token for the push check `req.check` (when it has none, or
/// `rotate`), replicate its hash, and answer the text.
pub async fn push_url(c: &Cluster, req: PushUrlRequest) -> Result<PushUrl> {
    let state = c.state();
    let mut check = state.find_check(&req.check)?.clone();
    let Probe::Push(push) = &mut check.probe else {
        return Err(Error::invalid_field(
            "check",
            format!(
                "{} is a {} check; only push checks have a push URL",
                check.name,
                check.kind().as_str()
            ),
        ));
    };
    if push.token_hash.is_some() && !req.rotate {
        return Err(Error::invalid(format!(
            "the push URL of {} was shown when it was made and is not stored (only its hash \
             is); add --rotate to make a new one (the old one stops working)",
            check.name
        )));
    }
    let (token, hash) = new_token()?;
    push.token_hash = Some(hash);
    let name = check.name.clone();
    c.propose(Mutation::UpdateCheck { check }).await?;
    let path = push_path(&token);
    Ok(PushUrl {
        check: name,
        url: c.http_addr().map(|a| format!("http://{a}{path}")),
        token,
        path,
    })
}

/// Add the push method to `router`.
pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    routes!(router, cluster,
        GetPushUrl => |c, req| push_url(&c, req).await,
    )
}
