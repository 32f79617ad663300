//! Who should be master: the one leadership preference behind the
//! controller's hand-over, a leader's step-down as it stops, and the
//! default target of `qu leader transfer`. Written once so the three
//! cannot disagree (the step-down target used to ignore the operator's pin).
//!
//! The rule: an operator's pin wins while it holds and the pinned node is
//! a live voter; otherwise the lowest live voter, but a lower node that
//! returns under an incumbent takes over only once it has been live for
//! the cooldown (no incumbent: the lowest live voter at once).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::identity::NodeId;
use crate::state::MasterPin;

/// What the preference is computed from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation<'a> {
    /// The voters that may hold the role.
    pub voters: &'a [NodeId],
    /// The members live now, each with how long it has been continuously live.
    pub live_for: &'a BTreeMap<NodeId, Duration>,
    /// The operator's pin, if one was recorded (it may have expired).
    pub pin: Option<&'a MasterPin>,
    /// The current leader, whose role the cooldown protects; `None` when
    /// there is no incumbent (it is stepping down, or none is known).
    pub leader: Option<&'a NodeId>,
    /// How long a lower node must be live before it takes over from the
    /// leader (zero while a leadership won from empty settles).
    pub cooldown: Duration,
    /// Wall-clock now, ms since the epoch (the pin's clock).
    pub now_ms: u64,
}

impl Situation<'_> {
    fn live_voter(&self, id: &NodeId) -> bool {
        self.voters.contains(id) && self.live_for.contains_key(id)
    }

    /// The pinned node while the pin holds, whether or not it can lead.
    pub(crate) fn pinned(&self) -> Option<&NodeId> {
        self.pin
            .filter(|p| p.until_ms > self.now_ms)
            .map(|p| &p.node)
    }
}

/// The node that should be master, or `None` when no voter can be (none is
/// live). It is the leader itself when the leader should keep the role.
pub(crate) fn preferred(s: &Situation<'_>) -> Option<NodeId> {
    if let Some(p) = s.pinned()
        && (s.leader == Some(p) || s.live_voter(p))
    {
        return Some(p.clone());
    }
    let mut live: Vec<&NodeId> = s.voters.iter().filter(|v| s.live_voter(v)).collect();
    live.sort();
    let Some(leader) = s.leader else {
        return live.first().map(|v| (*v).clone());
    };
    live.into_iter()
        .filter(|v| *v < leader)
        .find(|v| s.live_for.get(*v).is_some_and(|d| *d >= s.cooldown))
        .cloned()
        .or_else(|| Some(leader.clone()))
}

/// Where a leader `me` should hand the role now, if anywhere.
pub(crate) fn hand_over_to(me: &NodeId, s: &Situation<'_>) -> Option<NodeId> {
    let s = Situation {
        leader: Some(me),
        ..*s
    };
    preferred(&s).filter(|t| t != me)
}

/// Where a leader `me` that is stopping should hand the role: the
/// preference among the other voters, with no incumbent to protect.
pub(crate) fn step_down_to(me: &NodeId, s: &Situation<'_>) -> Option<NodeId> {
    let others: Vec<NodeId> = s.voters.iter().filter(|v| *v != me).cloned().collect();
    preferred(&Situation {
        voters: &others,
        leader: None,
        ..*s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).expect("id")
    }

    const NOW: u64 = 1_000_000;

    fn pin(node: &str, until_ms: u64) -> MasterPin {
        MasterPin {
            node: id(node),
            until_ms,
        }
    }

    fn live(entries: &[(&str, u64)]) -> BTreeMap<NodeId, Duration> {
        entries
            .iter()
            .map(|(n, s)| (id(n), Duration::from_secs(*s)))
            .collect()
    }

    fn situation<'a>(
        voters: &'a [NodeId],
        live_for: &'a BTreeMap<NodeId, Duration>,
        pin: Option<&'a MasterPin>,
    ) -> Situation<'a> {
        Situation {
            voters,
            live_for,
            pin,
            leader: None,
            cooldown: Duration::from_secs(120),
            now_ms: NOW,
        }
    }

    #[test]
    fn hands_over_only_to_a_lower_member_live_past_the_cooldown() {
        let voters = [id("a"), id("b"), id("c")];
        // a is not live: b leads and stays.
        let l = live(&[("b", 300), ("c", 300)]);
        let s = situation(&voters, &l, None);
        assert_eq!(hand_over_to(&id("b"), &s), None);
        // a is back but only for 30 s: no hand-over yet.
        let l = live(&[("a", 30), ("b", 300), ("c", 300)]);
        let s = situation(&voters, &l, None);
        assert_eq!(hand_over_to(&id("b"), &s), None);
        assert_eq!(
            preferred(&Situation {
                leader: Some(&id("b")),
                ..s
            }),
            Some(id("b"))
        );
        // Past the cooldown: hand over to a; c leading prefers a too.
        let l = live(&[("a", 121), ("b", 300), ("c", 300)]);
        let s = situation(&voters, &l, None);
        assert_eq!(hand_over_to(&id("b"), &s), Some(id("a")));
        assert_eq!(hand_over_to(&id("c"), &s), Some(id("a")));
        // The lowest never hands over.
        assert_eq!(hand_over_to(&id("a"), &s), None);
    }

    #[test]
    fn without_an_incumbent_the_lowest_live_voter_at_once() {
        let voters = [id("a"), id("b"), id("c")];
        let l = live(&[("a", 1), ("c", 300)]);
        let s = situation(&voters, &l, None);
        assert_eq!(preferred(&s), Some(id("a")));
        // While a leadership won from empty settles, the cooldown is zero.
        let s = Situation {
            cooldown: Duration::ZERO,
            ..s
        };
        assert_eq!(hand_over_to(&id("c"), &s), Some(id("a")));
        // Nobody live: no preference.
        let none = BTreeMap::new();
        assert_eq!(preferred(&situation(&voters, &none, None)), None);
    }

    #[test]
    fn an_operator_pin_wins_while_it_holds() {
        let voters = [id("a"), id("b"), id("c")];
        let l = live(&[("a", 300), ("c", 300)]);
        // Pinned to b: b leading keeps the role although a is lower and live.
        let p = pin("b", NOW + 1);
        let s = situation(&voters, &l, Some(&p));
        assert_eq!(hand_over_to(&id("b"), &s), None);
        // a leads: it hands over to the pinned c.
        let p = pin("c", NOW + 1);
        let s = situation(&voters, &l, Some(&p));
        assert_eq!(hand_over_to(&id("a"), &s), Some(id("c")));
        // Once the pin expires the usual preference applies again.
        let p = pin("c", NOW);
        let s = situation(&voters, &l, Some(&p));
        assert_eq!(hand_over_to(&id("a"), &s), None);
        assert_eq!(hand_over_to(&id("c"), &s), Some(id("a")));
        assert_eq!(hand_over_to(&id("a"), &situation(&voters, &l, None)), None);
    }

    #[test]
    fn a_dead_pinned_node_is_not_chosen() {
        let voters = [id("a"), id("b"), id("c")];
        let l = live(&[("a", 300), ("c", 300)]);
        let p = pin("b", NOW + 60_000);
        let s = situation(&voters, &l, Some(&p));
        assert_eq!(hand_over_to(&id("c"), &s), Some(id("a")));
        assert_eq!(step_down_to(&id("a"), &s), Some(id("c")));
        assert_eq!(preferred(&s), Some(id("a")));
    }

    #[test]
    fn the_step_down_target_respects_the_pin() {
        let voters = [id("a"), id("b"), id("c"), id("d")];
        let l = live(&[("a", 300), ("b", 1), ("c", 300), ("d", 300)]);
        // No pin: the lowest other live voter, cooldown or not.
        let s = situation(&voters, &l, None);
        assert_eq!(step_down_to(&id("a"), &s), Some(id("b")));
        assert_eq!(step_down_to(&id("d"), &s), Some(id("a")));
        // Pinned to c: a stepping down hands to c, not to the lower b.
        let p = pin("c", NOW + 60_000);
        let s = situation(&voters, &l, Some(&p));
        assert_eq!(step_down_to(&id("a"), &s), Some(id("c")));
        // The pinned node itself stopping: the lowest other live voter.
        assert_eq!(step_down_to(&id("c"), &s), Some(id("a")));
        // Nobody else live: no target.
        let alone = live(&[("a", 300)]);
        assert_eq!(
            step_down_to(&id("a"), &situation(&voters, &alone, None)),
            None
        );
    }

    #[test]
    fn a_lower_node_that_is_not_a_voter_is_ignored() {
        let voters = [id("b"), id("c")];
        let l = live(&[("a", 1000), ("b", 1000), ("c", 1000)]);
        let s = Situation {
            cooldown: Duration::ZERO,
            ..situation(&voters, &l, None)
        };
        assert_eq!(hand_over_to(&id("b"), &s), None);
        assert_eq!(step_down_to(&id("c"), &s), Some(id("b")));
        let p = pin("a", NOW + 1);
        assert_eq!(
            hand_over_to(&id("c"), &Situation { pin: Some(&p), ..s }),
            Some(id("b"))
        );
    }
}
