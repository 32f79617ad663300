//! Control method dispatch: method names to typed handlers, each told who
//! is calling.
//!
//! Same shape as the node transport's `Router`, but the caller is a local
//! process identified by the kernel (`SO_PEERCRED`), not a TLS key.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::transport::Rpc;

/// The local process on the other end of a control connection, as the
/// kernel reported it when it connected. For logging and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Caller {
    /// Its effective user id.
    pub uid: u32,
    /// Its effective group id.
    pub gid: u32,
    /// Its process id, when the kernel tells it.
    pub pid: Option<i32>,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {}", self.uid)?;
        if let Some(pid) = self.pid {
            write!(f, " pid {pid}")?;
        }
        Ok(())
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Handler =
    Arc<dyn Fn(Caller, serde_json::Value) -> BoxFuture<Result<serde_json::Value>> + Send + Sync>;

/// The table of control methods the daemon answers. Built once, shared by
/// connections.
#[derive(Clone, Default)]
pub struct ControlRouter {
    routes: HashMap<&'static str, Handler>,
}

impl fmt::Debug for ControlRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.routes.keys().collect();
        names.sort();
        f.debug_struct("ControlRouter")
            .field("methods", &names)
            .finish()
    }
}

impl ControlRouter {
    /// An empty router.
    pub fn new() -> ControlRouter {
        ControlRouter::default()
    }

    /// Answer method `R` with `handler`. A later route for the same method
    /// replaces the earlier one. [`Rpc::OPEN`] has no meaning here.
    pub fn route<R, F, Fut>(mut self, handler: F) -> ControlRouter
    where
        R: Rpc,
        F: Fn(Caller, R::Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R::Response>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |caller, params| {
            let handler = handler.clone();
            Box::pin(async move {
                let request: R::Request = serde_json::from_value(params).map_err(|e| {
                    Error::invalid(format!(
                        "bad parameters for control method {}: {e} \
                         (is this qu the same version as the daemon?)",
                        R::METHOD
                    ))
                })?;
                let response = handler(caller, request).await?;
                serde_json::to_value(response).map_err(|e| {
                    Error::internal(format!("encode {} control response: {e}", R::METHOD))
                })
            })
        });
        self.routes.insert(R::METHOD, erased);
        self
    }

    /// The method names answered, sorted.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.routes.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Run one request.
    pub(crate) async fn dispatch(
        &self,
        caller: Caller,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let Some(handler) = self.routes.get(method).cloned() else {
            return Err(Error::new(
                ErrorKind::Incompatible,
                format!(
                    "unknown control method {method:?}: the daemon may be older than this qu; \
                     upgrade it"
                ),
            ));
        };
        handler(caller, params).await
    }
}
