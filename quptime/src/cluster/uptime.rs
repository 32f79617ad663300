//! Master duty for the uptime history: propose a
//! [`HistoryTick`](crate::state::Mutation::HistoryTick) when one is due
//! ([`crate::state::history::tick_due`]), so every node's buckets advance
//! with the master's clock. Runs on every node; acts only while the node
//! holds master duty. A refused tick (a member too old for state level 5,
//! no quorum) is retried on a later wake-up and changes nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::cluster::Core;
use crate::state::Mutation;
use crate::state::history::tick_due;

/// How often the driver looks.
const LOOK: Duration = Duration::from_secs(1);
/// A tick not seen in the state after this long is proposed again.
const REPROPOSE_AFTER: Duration = Duration::from_secs(10);

pub(crate) async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(LOOK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut proposed: Option<(u64, Instant)> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {}
        }
        if !core.acting_master() {
            proposed = None;
            continue;
        }
        let state = core.state();
        let last = state.history.at_ms;
        let wall = crate::state::mutation::now_ms();
        if !tick_due(&state.history, wall)
            || proposed.is_some_and(|(at, when)| at == last && when.elapsed() < REPROPOSE_AFTER)
        {
            continue;
        }
        proposed = Some((last, Instant::now()));
        let core = core.clone();
        tokio::spawn(async move {
            if let Err(e) = core.submit(core.command(Mutation::HistoryTick {})).await {
                tracing::debug!(error = %e, "uptime tick not recorded");
            }
        });
    }
}
