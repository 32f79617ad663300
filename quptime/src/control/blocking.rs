//! A synchronous control client for callers without an async runtime (the
//! `qu` CLI, scripts' helpers, the C and Python layers).
//!
//! It owns a small current-thread runtime that runs only while a call is
//! being made, in the manner of mini-redis' blocking client; the library
//! never starts a global runtime.

use std::path::Path;
use std::time::Duration;

use crate::control::{ControlClient, ControlLimits};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::Rpc;

/// A [`ControlClient`] with blocking calls. Must not be used from inside an
/// async runtime (that would block one of its threads); such use is refused
/// with an error rather than a panic.
#[derive(Debug)]
pub struct BlockingControlClient {
    // Dropped before the runtime that drives its tasks.
    client: ControlClient,
    runtime: tokio::runtime::Runtime,
}

impl BlockingControlClient {
    /// Connect to the daemon listening on `path`, with the default limits.
    pub fn connect(path: &Path) -> Result<BlockingControlClient> {
        BlockingControlClient::connect_with_limits(path, ControlLimits::default())
    }

    /// Connect to the daemon listening on `path`; see
    /// [`ControlClient::connect_with_limits`].
    pub fn connect_with_limits(
        path: &Path,
        limits: ControlLimits,
    ) -> Result<BlockingControlClient> {
        not_in_runtime()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Io, format!("start a runtime: {e}")).with_source(e)
            })?;
        let client = runtime.block_on(ControlClient::connect_with_limits(path, limits))?;
        Ok(BlockingControlClient { client, runtime })
    }

    /// Call method `R` and wait for its result, at most the call timeout.
    pub fn call<R: Rpc>(&self, request: &R::Request) -> Result<R::Response> {
        not_in_runtime()?;
        self.runtime.block_on(self.client.call::<R>(request))
    }

    /// Like [`BlockingControlClient::call`] with an explicit timeout.
    pub fn call_with_timeout<R: Rpc>(
        &self,
        request: &R::Request,
        timeout: Duration,
    ) -> Result<R::Response> {
        not_in_runtime()?;
        self.runtime
            .block_on(self.client.call_with_timeout::<R>(request, timeout))
    }

    /// The socket this client is connected to.
    pub fn path(&self) -> &Path {
        self.client.path()
    }
}

fn not_in_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "BlockingControlClient used inside an async runtime: use ControlClient there",
        ));
    }
    Ok(())
}
