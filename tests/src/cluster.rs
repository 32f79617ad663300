//! In-process clusters over real loopback TLS: each node has its own data
//! directory, identity, Raft storage and listener, exactly as `qu serve`
//! runs it, minus the process boundary.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use quptime::Timing;
use quptime::init::{InitOptions, init_node};
use quptime::store::NodeConfig;
use quptime::{Cluster, NodeOptions};

/// Fast timings so tests finish quickly; the shape matches the defaults.
pub fn fast_timing() -> Timing {
    Timing {
        heartbeat: Duration::from_millis(100),
        election_min: Duration::from_millis(500),
        election_max: Duration::from_millis(1000),
        master_cooldown: Duration::from_secs(600),
        propose_timeout: Duration::from_secs(2),
        snapshot_every: 1000,
        ..Timing::default()
    }
}

/// With `QUPTIME_TEST_LOG=<filter>` set, print the nodes' logs (for
/// debugging a failing test); otherwise stay silent.
pub fn init_test_logging() {
    if let Ok(filter) = std::env::var("QUPTIME_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// A set of in-process nodes sharing a temp directory.
#[derive(Debug)]
pub struct TestCluster {
    /// Keeps the directories alive.
    pub root: tempfile::TempDir,
    /// Running nodes, by position (`None` once stopped).
    pub nodes: Vec<Option<Cluster>>,
    /// The data directory of each node.
    pub dirs: Vec<PathBuf>,
    /// Timings the nodes run with.
    pub timing: Timing,
    /// Whether nodes serve metrics (on a free loopback port each).
    pub metrics: bool,
    /// Whether nodes serve the status page (on a free loopback port each).
    pub http: bool,
    /// Node `i`'s own connectivity canary reference targets
    /// (`--canary-target`; none past the end).
    pub canaries: Vec<Vec<String>>,
}

impl TestCluster {
    /// Initialise `names.len()` nodes (the first founds the cluster), start
    /// them and add the others through `add_node`.
    pub async fn form(names: &[&str], timing: Timing) -> TestCluster {
        TestCluster::form_with(names, timing, false).await
    }

    /// As [`TestCluster::form`]; with `metrics`, every node serves
    /// `/metrics`, `/healthz` and `/readyz` on a free loopback port.
    pub async fn form_with(names: &[&str], timing: Timing, metrics: bool) -> TestCluster {
        TestCluster::form_full(names, &[], timing, metrics, false).await
    }

    /// As [`TestCluster::form_with`]; with `http`, every node also serves
    /// the status page on a free loopback port.
    pub async fn form_serving(
        names: &[&str],
        timing: Timing,
        metrics: bool,
        http: bool,
    ) -> TestCluster {
        TestCluster::form_full(names, &[], timing, metrics, http).await
    }

    /// As [`TestCluster::form_with`], node `i` initialised with the
    /// `k=v` labels `labels[i]` (as `qu init --label`; none past the end).
    pub async fn form_labelled(
        names: &[&str],
        labels: &[&[&str]],
        timing: Timing,
        metrics: bool,
    ) -> TestCluster {
        TestCluster::form_full(names, labels, timing, metrics, false).await
    }

    /// As [`TestCluster::form`], node `i` started with the connectivity
    /// canary reference targets `canaries[i]` (as `qu serve
    /// --canary-target`; none past the end).
    pub async fn form_with_canaries(
        names: &[&str],
        canaries: &[Vec<String>],
        timing: Timing,
    ) -> TestCluster {
        TestCluster::form_opts(names, &[], timing, false, false, canaries).await
    }

    /// The one way a test cluster forms: labels per node, `/metrics` and
    /// the status page when asked.
    pub async fn form_full(
        names: &[&str],
        labels: &[&[&str]],
        timing: Timing,
        metrics: bool,
        http: bool,
    ) -> TestCluster {
        TestCluster::form_opts(names, labels, timing, metrics, http, &[]).await
    }

    async fn form_opts(
        names: &[&str],
        labels: &[&[&str]],
        timing: Timing,
        metrics: bool,
        http: bool,
        canaries: &[Vec<String>],
    ) -> TestCluster {
        init_test_logging();
        let root = tempfile::tempdir().expect("tempdir");
        let mut dirs = Vec::new();
        let mut secret = None;
        for (i, name) in names.iter().enumerate() {
            let dir = root.path().join(name);
            let terms = labels.get(i).copied().unwrap_or_default();
            init_node(
                &dir,
                InitOptions {
                    node_id: Some(name.to_string()),
                    bind_addr: Some("127.0.0.1".into()),
                    secret: secret.clone(),
                    labels: quptime::state::policy::parse_labels("labels", terms).expect("labels"),
                    ..InitOptions::default()
                },
            )
            .expect("init");
            if secret.is_none() {
                secret = NodeConfig::load(&dir).expect("node.yaml").secret;
            }
            dirs.push(dir);
        }
        let mut tc = TestCluster {
            root,
            nodes: Vec::new(),
            dirs,
            timing,
            metrics,
            http,
            canaries: canaries.to_vec(),
        };
        for i in 0..names.len() {
            let node = tc.start_node(i).await;
            tc.nodes.push(Some(node));
        }
        let founder = tc.node(0).clone();
        wait_for(
            "the founder to become master",
            Duration::from_secs(10),
            || founder.is_master(),
        )
        .await;
        for (i, name) in names.iter().enumerate().skip(1) {
            let addr = tc.node(i).local_addr().to_string();
            let preview = founder.preview_node(&addr).await.expect("preview");
            assert_eq!(preview.node_id.as_str(), *name);
            founder
                .add_node(&addr, &preview.fingerprint)
                .await
                .expect("add node");
        }
        tc
    }

    /// Start (or restart) node `i` from its data directory.
    pub async fn start_node(&self, i: usize) -> Cluster {
        let mut opts = NodeOptions::new(&self.dirs[i]);
        // Restarts keep the port they first had, as a real node would.
        opts.listen = Some(match self.nodes.get(i).and_then(|n| n.as_ref()) {
            Some(n) => n.local_addr(),
            None => self
                .known_addr(i)
                .unwrap_or_else(|| "127.0.0.1:0".parse().expect("addr")),
        });
        opts.timing = self.timing.clone();
        if self.metrics {
            opts.metrics_addr = Some("127.0.0.1:0".parse().expect("addr"));
        }
        if self.http {
            opts.http_addr = Some("127.0.0.1:0".parse().expect("addr"));
        }
        opts.canary_targets = self.canaries.get(i).cloned().unwrap_or_default();
        Cluster::start(opts).await.expect("start node")
    }

    fn known_addr(&self, i: usize) -> Option<std::net::SocketAddr> {
        let raw = std::fs::read_to_string(self.dirs[i].join("advertise.test")).ok()?;
        raw.trim().parse().ok()
    }

    /// Node `i`, which must be running.
    pub fn node(&self, i: usize) -> &Cluster {
        self.nodes[i].as_ref().expect("node is running")
    }

    /// Every running node.
    pub fn running(&self) -> Vec<Cluster> {
        self.nodes.iter().flatten().cloned().collect()
    }

    /// Stop node `i` (gracefully) and remember its address for a restart.
    pub async fn stop(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].take() {
            std::fs::write(
                self.dirs[i].join("advertise.test"),
                n.local_addr().to_string(),
            )
            .expect("write");
            n.shutdown().await.expect("shutdown");
        }
    }

    /// Restart node `i`.
    pub async fn restart(&mut self, i: usize) {
        let n = self.start_node(i).await;
        self.nodes[i] = Some(n);
    }

    /// The index of the node performing master duty, waiting for one.
    pub async fn master(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let masters: Vec<usize> = (0..self.nodes.len())
                .filter(|i| self.nodes[*i].as_ref().is_some_and(|n| n.is_master()))
                .collect();
            if masters.len() == 1 {
                return masters[0];
            }
            assert!(
                Instant::now() < deadline,
                "no single master within {within:?}: {masters:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop every node.
    pub async fn shutdown(mut self) {
        for i in 0..self.nodes.len() {
            self.stop(i).await;
        }
    }
}

/// Poll `cond` every 20 ms until it holds; fail the test after `within`.
pub async fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl TestCluster {
    /// Join a new node named `name` with an enrollment token, start it, and
    /// return its index. `on_pending` runs if the token needs approval.
    pub async fn join_with_token(
        &mut self,
        name: &str,
        token: &quptime::enroll::Token,
        wait: Duration,
        on_pending: impl Fn(),
    ) -> quptime::Result<usize> {
        let dir = self.root.path().join(name);
        let port = free_port();
        let opts = quptime::enroll::JoinOptions {
            init: InitOptions {
                node_id: Some(name.to_string()),
                bind_addr: Some("127.0.0.1".into()),
                bind_port: Some(port),
                advertise: Some(format!("127.0.0.1:{port}")),
                secret: None,
                labels: Default::default(),
            },
            wait,
        };
        quptime::enroll::join(&dir, token, opts, on_pending).await?;
        self.dirs.push(dir);
        self.nodes.push(None);
        let i = self.dirs.len() - 1;
        let mut opts = NodeOptions::new(&self.dirs[i]);
        opts.timing = self.timing.clone();
        self.nodes[i] = Some(Cluster::start(opts).await?);
        Ok(i)
    }
}

/// Records every stretch of master duty of the nodes it watches, on one
/// clock, to prove that no two nodes ever acted as master at once.
#[derive(Debug, Default)]
pub struct DutyLog {
    spans: std::sync::Arc<std::sync::Mutex<Vec<DutySpan>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// One node's stretch of master duty: (node, from, until).
pub type DutySpan = (String, Instant, Option<Instant>);

impl DutyLog {
    /// Start recording `node`'s duty (call again for a restarted node).
    pub fn watch(&mut self, node: &Cluster) {
        let spans = self.spans.clone();
        let name = node.node_id().to_string();
        let mut rx = node.watch_master();
        self.tasks.push(tokio::spawn(async move {
            let mut open: Option<usize> = None;
            loop {
                let duty = *rx.borrow_and_update();
                {
                    let mut l = spans.lock().expect("lock");
                    match (duty, open) {
                        (true, None) => {
                            l.push((name.clone(), Instant::now(), None));
                            open = Some(l.len() - 1);
                        }
                        (false, Some(k)) => {
                            l[k].2 = Some(Instant::now());
                            open = None;
                        }
                        _ => {}
                    }
                }
                if rx.changed().await.is_err() {
                    if let Some(k) = open {
                        spans.lock().expect("lock")[k].2 = Some(Instant::now());
                    }
                    return;
                }
            }
        }));
    }

    /// Every recorded span so far.
    pub fn spans(&self) -> Vec<DutySpan> {
        self.spans.lock().expect("lock").clone()
    }

    /// Fail the test if two different nodes' spans overlap.
    pub fn assert_no_overlap(&self) {
        let now = Instant::now();
        let l = self.spans();
        for (a, x) in l.iter().enumerate() {
            for y in &l[a + 1..] {
                if x.0 == y.0 {
                    continue;
                }
                let (xs, xe) = (x.1, x.2.unwrap_or(now));
                let (ys, ye) = (y.1, y.2.unwrap_or(now));
                assert!(
                    xe <= ys || ye <= xs,
                    "master duty overlapped: {x:?} and {y:?}"
                );
            }
        }
    }
}

impl Drop for DutyLog {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
