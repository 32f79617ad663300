//! 300 idle TCP connections and 300 unknown-key TLS handshakes held on a
//! member's peer port (two from each of 300 loopback addresses, renewed
//! when the node closes them) while another member restarts: the restarted member gets
//! back in and the cluster commits within 5 s of the restart.
//!
//! The third member is stopped first, so the commit needs the restarted
//! member and the flooded one: whichever leads, the restarted node's
//! forward or the leader's appends cross the flooded port. The strangers
//! arrive while the restarting member is down, so they also take the
//! slots its old connections held (with a single global cap, as before,
//! the member was then shut out for good).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::raw::{tcp_from, tls_over};
use crate::support::{text, wait_for};
use crate::{cluster, peer_addr};

static CONNECTED: AtomicUsize = AtomicUsize::new(0);

/// Attackers of each kind.
const EACH: usize = 300;

fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < 8192 {
            lim.rlim_cur = lim.rlim_max.min(8192);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Hold one connection (TLS when `tls`) from `source` until `stop`;
/// when the node closes it, wait a while (10-30 s, as a patient attacker
/// renews) and open it again.
async fn attacker(
    addr: std::net::SocketAddr,
    source: Ipv4Addr,
    tls: bool,
    seed: u64,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
) {
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let mut buf = [0u8; 64];
        let tcp = tcp_from(addr, source).await;
        if first {
            // Counted once its first connection attempt is answered.
            first = false;
            opened.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(tcp) = tcp {
            CONNECTED.fetch_add(1, Ordering::Relaxed);
            if tls {
                if let Ok(mut s) = tls_over(tcp).await {
                    let _ = s.read(&mut buf).await;
                }
            } else {
                let mut s = tcp;
                let _ = s.read(&mut buf).await;
            }
        }
        let pause = 10_000 + (seed.wrapping_mul(7919) % 20_000);
        let until = Instant::now() + Duration::from_millis(pause);
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[test]
fn a_member_restarts_and_commits_within_5s_while_its_peer_is_flooded() {
    raise_fd_limit();
    let mut c = cluster(3);
    c.nodes[2].terminate();
    // The restart begins: n2 stops (freeing its slots on n1), strangers
    // take every slot they can get, then n2 comes back.
    c.nodes[1].terminate();
    let addr = peer_addr(&c.nodes[0]);
    let rt = crate::runtime();
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicUsize::new(0));
    for i in 0..2 * EACH {
        let tls = i >= EACH;
        // Two connections per source address, 300 addresses in all.
        let source = Ipv4Addr::new(127, 0, 1 + (i / 250) as u8, 2 + ((i / 2) % 125) as u8);
        rt.spawn(attacker(
            addr,
            source,
            tls,
            i as u64,
            stop.clone(),
            opened.clone(),
        ));
    }
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(100),
        "the attackers open their connections",
        || (opened.load(Ordering::Relaxed) >= 2 * EACH).then_some(()),
    );
    assert!(
        CONNECTED.load(Ordering::Relaxed) >= EACH,
        "only {} attackers got a connection",
        CONNECTED.load(Ordering::Relaxed)
    );

    let n2 = &mut c.nodes[1];
    n2.start();
    n2.wait_ready(Duration::from_secs(20));
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(5);
    let mut last = String::new();
    let committed = loop {
        let out = c.nodes[1].qu(&["check", "add", "tcp", "after-flood", "127.0.0.1:9"]);
        if out.status.success() {
            break Some(restarted.elapsed());
        }
        last = text(&out.stderr);
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    stop.store(true, Ordering::Relaxed);
    let took = committed.unwrap_or_else(|| {
        panic!(
            "no commit within 5 s of the restart: {last}{}{}",
            c.nodes[0].log_tail(20),
            c.nodes[1].log_tail(20)
        )
    });
    assert!(
        took <= Duration::from_secs(5),
        "committed only {took:?} after the restart"
    );
    eprintln!(
        "committed {took:?} after the restart, with {} attackers",
        2 * EACH
    );
    assert!(c.nodes[0].running(), "{}", c.nodes[0].log_tail(30));
    // The flood was real: the node had to turn strangers away.
    let log = std::fs::read_to_string(c.nodes[0].log()).unwrap_or_default();
    assert!(
        log.contains("to make room for a newer one"),
        "no eviction logged: the attack did not fill the budget{}",
        c.nodes[0].log_tail(30)
    );
    assert!(
        c.nodes[0]
            .check_names()
            .contains(&"after-flood".to_string())
    );
    drop(rt);
}
