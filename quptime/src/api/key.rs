//! Control method for `qu key rotate`: the running node makes a new key
//! pair and the cluster learns it (see `cluster/rotate.rs`).

use crate::cluster::{Cluster, KeyRotation};
use crate::control::ControlRouter;
use crate::transport::Rpc;

method!(/// `qu key rotate`.
    RotateKey, "key.rotate", (), KeyRotation);

pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    let c = cluster.clone();
    router.route::<RotateKey, _, _>(move |_, ()| {
        let c = c.clone();
        async move { c.rotate_key().await }
    })
}
