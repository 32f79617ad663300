//! The connectivity canary's driver: every [`EVERY`], this node checks
//! whether it reaches its peers (liveness) and its reference targets (the
//! replicated `qu canary set` list plus its own `--canary-target`s: a TCP
//! connect or an HTTP GET, any answer counts), and feeds the round to the
//! pure rule ([`crate::engine::canary`]). While the canary fails the node
//! abstains: the reporter sends the reason with its results and the
//! master does not count them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::cluster::Core;
use crate::engine::canary::{Canary, Round, round_fails};
use crate::identity::NodeId;
use crate::probe::Probers;
use crate::state::canary::{Target, parse_target};
use crate::state::{Check, CheckType, Probe, StatusSpec};

/// How often the canary runs.
pub(crate) const EVERY: Duration = Duration::from_secs(1);
/// How long a reference target may take to answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The reference targets this node probes: the cluster's, then its own.
fn targets(core: &Core) -> Vec<String> {
    let mut list = core.state().canary_targets.clone();
    for t in &core.canary_targets {
        if !list.contains(t) {
            list.push(t.clone());
        }
    }
    list
}

/// The probe of one reference target (`None`: not a target; validated
/// lists hold none such).
fn reference_check(spec: &str) -> Option<Check> {
    let mut check = match parse_target("canary_target", spec).ok()? {
        Target::Tcp(t) => Check {
            target: t,
            ..Check::blank(CheckType::Tcp)
        },
        Target::Http(u) => {
            let mut c = Check {
                target: u,
                ..Check::blank(CheckType::Http)
            };
            if let Probe::Http(p) = &mut c.probe {
                // Any answer proves the way out.
                p.expect_status = StatusSpec::parse("1xx,2xx,3xx,4xx,5xx").ok();
            }
            c
        }
    };
    check.timeout = TIMEOUT;
    Some(check)
}

/// One round: the peers reached and each reference target's failure.
async fn round(core: &Core, probers: &Probers) -> Round {
    let view = core.consensus.view();
    let peers: Vec<NodeId> = view
        .voters
        .keys()
        .filter(|n| *n != core.me())
        .cloned()
        .collect();
    let reached = peers.iter().filter(|p| core.liveness.get(p).0).count();
    let probes = targets(core).into_iter().map(|t| async move {
        let failed = match reference_check(&t) {
            Some(check) => {
                let r = probers.probe(&check).await;
                (!r.ok).then_some(r.detail)
            }
            None => Some("not a reference target".to_string()),
        };
        (t, failed)
    });
    Round {
        peers: peers.len(),
        reached,
        refs: futures_util::future::join_all(probes).await,
    }
}

/// Run the canary until `stop`.
pub(crate) async fn run(core: Arc<Core>, probers: Probers, mut stop: watch::Receiver<bool>) {
    let mut canary = Canary::default();
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {}
        }
        let r = round(&core, &probers).await;
        let before = canary.abstain().is_some();
        let now = canary.observe(round_fails(&r)).map(str::to_string);
        match (&now, before) {
            (Some(why), false) => {
                tracing::warn!(reason = %why, "connectivity canary fails: this node abstains")
            }
            (None, true) => tracing::info!("connectivity canary passes: this node votes again"),
            _ => {}
        }
        core.metrics.set_abstaining(now.is_some());
        core.set_abstain(now);
    }
}

impl Core {
    /// Why this node abstains now, if it does.
    pub(crate) fn abstain_reason(&self) -> Option<String> {
        self.abstain.lock().ok().and_then(|a| a.clone())
    }

    fn set_abstain(&self, why: Option<String>) {
        if let Ok(mut a) = self.abstain.lock() {
            *a = why;
        }
    }
}
