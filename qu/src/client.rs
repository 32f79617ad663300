//! Talking to the local daemon over its control socket.

use anyhow::Result;
use quptime::control::BlockingControlClient;
use quptime::transport::Rpc;

/// Call method `R` on the local daemon. Errors name the socket tried.
pub fn call<R: Rpc>(req: &R::Request) -> Result<R::Response> {
    let path = quptime::paths::socket_path();
    let client = BlockingControlClient::connect(&path)?;
    Ok(client.call::<R>(req)?)
}

/// Like [`call`] with a longer timeout, for operations that wait on the
/// cluster (joins).
pub fn call_slow<R: Rpc>(req: &R::Request) -> Result<R::Response> {
    let path = quptime::paths::socket_path();
    let client = BlockingControlClient::connect(&path)?;
    Ok(client.call_with_timeout::<R>(req, std::time::Duration::from_secs(120))?)
}
