//! The uptime history's retention as a replicated setting, on a real
//! 3-node cluster: set through a follower (`qu settings set
//! --history-days`), every node holds it; a value out of bounds is
//! refused with the field named and changes nothing.

use std::time::Duration;

use quptime::api::{SettingsPatch, get_settings, set_settings};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_days_reach_every_node_and_bad_values_change_nothing() {
    let names = ["n1", "n2", "n3"];
    let tc = TestCluster::form(&names, fast_timing()).await;
    let master = tc.master(Duration::from_secs(10)).await;
    let follower = tc.node((master + 1) % names.len()).clone();
    assert_eq!(get_settings(&follower).history_days, 90);

    let patch = |days| SettingsPatch {
        history_days: Some(days),
    };
    set_settings(&follower, patch(30)).await.expect("set");
    wait_for("30 days on every node", Duration::from_secs(10), || {
        tc.running()
            .iter()
            .all(|n| get_settings(n).history_days == 30 && n.state().level == 6)
    })
    .await;

    let version = follower.state().version;
    for bad in [0, 401] {
        let e = set_settings(&follower, patch(bad)).await.unwrap_err();
        assert_eq!(e.field(), Some("history_days"), "{bad}: {e}");
        assert!(e.message().contains("from 1 to 400"), "{e}");
    }
    let e = set_settings(&follower, SettingsPatch::default())
        .await
        .unwrap_err();
    assert!(e.message().contains("--history-days"), "{e}");
    assert_eq!(follower.state().version, version);
    for n in tc.running() {
        assert_eq!(get_settings(&n).history_days, 30);
    }
    tc.shutdown().await;
}
