//! Connection budgets for listeners that any address can reach.
//!
//! A connection whose key is not yet known to be a member's (every
//! connection before its TLS handshake, and afterwards those of untrusted
//! keys) is *unpinned*. Unpinned connections share a small budget, at most
//! so many in all and so many per source address. When a new one arrives
//! and the budget is full, the **oldest** unpinned connection (of the same
//! address when that address is over its share) is closed to make room,
//! rather than the new one being refused: a member that reconnects after a
//! restart always gets its handshake in, however many idle sockets or
//! half-finished handshakes strangers hold, and becomes pinned (out of this
//! budget) once its key is recognised. Only a flood faster than a
//! handshake could crowd it out, and that costs the flooder its own
//! connections first.
//!
//! [`Ledger`] is the decision, pure and tested without sockets; [`Budget`]
//! adds the signal that tells an evicted connection's task to close.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Bounds on unpinned connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    /// Unpinned connections held at once, from all addresses.
    pub total: usize,
    /// Unpinned connections held at once from one source address.
    pub per_addr: usize,
}

/// Who holds a slot, oldest first, and the decision of whom to evict.
#[derive(Debug)]
pub(crate) struct Ledger<T> {
    limits: BudgetLimits,
    next: u64,
    held: BTreeMap<u64, (IpAddr, T)>,
}

impl<T> Ledger<T> {
    pub(crate) fn new(limits: BudgetLimits) -> Ledger<T> {
        Ledger {
            limits: BudgetLimits {
                total: limits.total.max(1),
                per_addr: limits.per_addr.max(1),
            },
            next: 0,
            held: BTreeMap::new(),
        }
    }

    /// Give `ip` a slot; returns its id and the payloads of the
    /// connections evicted to make room (oldest of `ip` when it is over
    /// its share, then the oldest overall when the total is reached).
    pub(crate) fn admit(&mut self, ip: IpAddr, payload: T) -> (u64, Vec<T>) {
        let mut evicted = Vec::new();
        if self.count(ip) >= self.limits.per_addr
            && let Some(id) = self
                .held
                .iter()
                .find(|(_, (a, _))| *a == ip)
                .map(|(id, _)| *id)
            && let Some((_, p)) = self.held.remove(&id)
        {
            evicted.push(p);
        }
        if self.held.len() >= self.limits.total
            && let Some((_, (_, p))) = self.held.pop_first()
        {
            evicted.push(p);
        }
        let id = self.next;
        self.next += 1;
        self.held.insert(id, (ip, payload));
        (id, evicted)
    }

    /// Free slot `id` (a no-op when it was evicted already).
    pub(crate) fn release(&mut self, id: u64) -> Option<T> {
        self.held.remove(&id).map(|(_, p)| p)
    }

    /// Slots held by `ip`.
    pub(crate) fn count(&self, ip: IpAddr) -> usize {
        self.held.values().filter(|(a, _)| *a == ip).count()
    }

    /// Slots held in all.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }
}

/// The shared budget of one listener.
#[derive(Debug)]
pub(crate) struct Budget {
    ledger: Mutex<Ledger<oneshot::Sender<()>>>,
}

impl Budget {
    pub(crate) fn new(limits: BudgetLimits) -> Arc<Budget> {
        Arc::new(Budget {
            ledger: Mutex::new(Ledger::new(limits)),
        })
    }

    /// Take a slot for a connection from `ip`, evicting as [`Ledger::admit`]
    /// decides. The ticket frees the slot when dropped.
    pub(crate) fn admit(self: &Arc<Budget>, ip: IpAddr) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let (id, evicted) = self.lock().admit(ip, tx);
        for signal in evicted {
            let _ = signal.send(());
        }
        Ticket {
            id,
            budget: self.clone(),
            evicted: rx,
        }
    }

    /// Unpinned connections held now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger<oneshot::Sender<()>>> {
        // The ledger is consistent after every call: a panic elsewhere
        // while it was held leaves nothing half-done.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One connection's slot in a [`Budget`].
#[derive(Debug)]
pub(crate) struct Ticket {
    id: u64,
    budget: Arc<Budget>,
    evicted: oneshot::Receiver<()>,
}

impl Ticket {
    /// Resolves when this connection was evicted to make room for a newer
    /// one (cancel-safe, for `select!`).
    pub(crate) async fn evicted(&mut self) {
        let _ = (&mut self.evicted).await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.budget.lock().release(self.id);
    }
}

/// Resolves when `ticket` is evicted; never for `None` (a pinned
/// connection holds no ticket).
pub(crate) async fn evicted(ticket: &mut Option<Ticket>) {
    match ticket {
        Some(t) => t.evicted().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn the_oldest_of_an_address_over_its_share_goes_first() {
        let mut l = Ledger::new(BudgetLimits {
            total: 10,
            per_addr: 2,
        });
        assert!(l.admit(ip(2), "a").1.is_empty());
        assert!(l.admit(ip(3), "x").1.is_empty());
        assert!(l.admit(ip(2), "b").1.is_empty());
        assert_eq!(l.admit(ip(2), "c").1, vec!["a"]);
        assert_eq!(l.count(ip(2)), 2);
        assert_eq!(l.count(ip(3)), 1);
    }

    #[test]
    fn a_newcomer_always_gets_a_slot_and_the_total_holds() {
        let mut l = Ledger::new(BudgetLimits {
            total: 4,
            per_addr: 4,
        });
        for i in 0..300u16 {
            let (_, gone) = l.admit(ip(2 + (i % 50) as u8), i);
            assert!(gone.len() <= 1);
            assert!(l.len() <= 4);
        }
        // A member arriving now is admitted, at the expense of the oldest.
        let (id, gone) = l.admit(ip(1), 999);
        assert_eq!(gone, vec![296]);
        assert_eq!(l.count(ip(1)), 1);
        assert_eq!(l.release(id), Some(999));
        assert_eq!(l.release(id), None);
    }

    #[tokio::test]
    async fn evicted_tickets_are_told_and_released_ones_free_their_slot() {
        let budget = Budget::new(BudgetLimits {
            total: 2,
            per_addr: 2,
        });
        let mut first = budget.admit(ip(2));
        let second = budget.admit(ip(3));
        let _third = budget.admit(ip(4));
        tokio::time::timeout(std::time::Duration::from_secs(5), first.evicted())
            .await
            .expect("the oldest is told");
        drop(first);
        assert_eq!(budget.held(), 2);
        drop(second);
        assert_eq!(budget.held(), 1);
    }
}
