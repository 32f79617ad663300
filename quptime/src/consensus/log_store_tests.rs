//! Tests of the on-disk Raft log store: openraft's storage conformance
//! suite, reopening, torn tails, corruption, and a writer process killed
//! mid-append.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftLogStorageExt, RaftStateMachine};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use openraft::type_config::alias::{EntryOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::{BasicNode, Entry, EntryPayload, RaftSnapshotBuilder, Snapshot, SnapshotMeta};
use openraft::{StorageError, StoredMembership, Vote};
use tempfile::TempDir;

use super::log_file::{LOG_FILE, MAGIC, encode_record, write_json};
use super::*;

openraft::declare_raft_types!(
    /// Type config for the tests: the suite needs `u64` node ids.
    pub TC: D = String, R = String, NodeId = u64, Node = BasicNode,
);

type Store = LogStore<TC>;
type Snap = SnapshotOf<TC, Vec<u8>>;
/// What the state machine holds: last applied and last membership.
type Applied = (Option<LogIdOf<TC>>, StoredMembershipOf<TC>);

/// A minimal in-memory state machine: the suite exercises one too.
#[derive(Default, Clone)]
struct Sm {
    data: Arc<Mutex<Applied>>,
    snapshot: Arc<Mutex<Option<Snap>>>,
}

impl RaftSnapshotBuilder<TC> for Sm {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> io::Result<Snap> {
        let (last_log_id, last_membership) = self.data.lock().unwrap().clone();
        let bytes =
            serde_json::to_vec(&(last_log_id, &last_membership)).map_err(io::Error::other)?;
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
        };
        let snap = Snapshot {
            meta,
            snapshot: bytes,
        };
        *self.snapshot.lock().unwrap() = Some(snap.clone());
        Ok(snap)
    }
}

impl RaftStateMachine<TC> for Sm {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = Sm;

    async fn applied_state(&mut self) -> io::Result<Applied> {
        Ok(self.data.lock().unwrap().clone())
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: Stream<Item = io::Result<EntryResponder<TC>>> + Unpin + OptionalSend,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let mut data = self.data.lock().unwrap();
            data.0 = Some(entry.log_id);
            if let EntryPayload::Membership(m) = entry.payload {
                data.1 = StoredMembership::new(Some(entry.log_id), m);
            }
            if let Some(r) = responder {
                r.send(String::new());
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Sm {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TC>,
        bytes: Vec<u8>,
    ) -> io::Result<()> {
        *self.data.lock().unwrap() = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
        let snap = Snapshot {
            meta: meta.clone(),
            snapshot: bytes,
        };
        *self.snapshot.lock().unwrap() = Some(snap);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snap>> {
        Ok(self.snapshot.lock().unwrap().clone())
    }
}

struct Builder;

impl StoreBuilder<TC, Store, Sm, TempDir> for Builder {
    async fn build(&self) -> std::result::Result<(TempDir, Store, Sm), StorageError<TC>> {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("raft")).unwrap();
        Ok((dir, store, Sm::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_openraft_storage_suite() {
    Suite::test_all(Builder).await.unwrap();
}

// ---- helpers ----

fn log_id(term: u64, index: u64) -> LogIdOf<TC> {
    openraft::testing::log_id::<TC>(term, 1, index)
}

fn entry(term: u64, index: u64) -> EntryOf<TC> {
    let text = format!("entry {index} of term {term} {}", "x".repeat(40));
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(text),
    }
}

fn entries(term: u64, range: std::ops::RangeInclusive<u64>) -> Vec<EntryOf<TC>> {
    range.map(|i| entry(term, i)).collect()
}

/// Open a store on `dir` and append each of `list` as its own batch.
async fn open_with(dir: &Path, list: Vec<EntryOf<TC>>) -> Store {
    let mut store = Store::open(dir).unwrap();
    for e in list {
        store.blocking_append([e]).await.unwrap();
    }
    store
}

/// Everything a reopened store must reproduce, as comparable text.
async fn state_of(store: &mut Store) -> String {
    let state = store.get_log_state().await.unwrap();
    let mut reader = store.get_log_reader().await;
    let all = reader.try_get_log_entries(..).await.unwrap();
    let vote = reader.read_vote().await.unwrap();
    let committed = store.read_committed().await.unwrap();
    let all = serde_json::to_string(&all).unwrap();
    format!("{state:?} vote={vote:?} committed={committed:?} entries={all}")
}

async fn indexes(store: &Store) -> Vec<u64> {
    let all = store.reader().try_get_log_entries(..).await.unwrap();
    all.iter().map(|e| e.log_id.index).collect()
}

fn file_len(dir: &Path) -> u64 {
    fs::metadata(dir.join(LOG_FILE)).unwrap().len()
}

/// Byte offset of every record in the log file, found by parsing headers.
fn record_offsets(dir: &Path) -> Vec<u64> {
    let bytes = fs::read(dir.join(LOG_FILE)).unwrap();
    let (mut at, mut out) = (MAGIC.len(), Vec::new());
    while at + 8 <= bytes.len() {
        out.push(at as u64);
        at +=
            8 + (u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) & 0x7fff_ffff) as usize;
    }
    out
}

/// Apply `f` to the bytes of the log file.
fn edit_log(dir: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(dir.join(LOG_FILE)).unwrap();
    f(&mut bytes);
    fs::write(dir.join(LOG_FILE), bytes).unwrap();
}

// ---- reopening ----

#[tokio::test]
async fn reopen_restores_log_vote_committed_and_purge() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("raft");
    let mut store = open_with(&dir, entries(1, 0..=4)).await;
    store.blocking_append(entries(1, 5..=9)).await.unwrap();
    store.save_vote(&Vote::new_committed(2, 1)).await.unwrap();
    store.truncate_after(Some(log_id(1, 7))).await.unwrap();
    store.blocking_append(entries(2, 8..=12)).await.unwrap();
    store.purge(log_id(1, 3)).await.unwrap();
    store.save_committed(Some(log_id(2, 9))).await.unwrap();
    let before = state_of(&mut store).await;
    assert_eq!(indexes(&store).await, (4..=12).collect::<Vec<_>>());
    assert!(
        before.contains("committed=Some") && before.contains("vote=Some"),
        "{before}"
    );
    drop(store);

    let mut store = Store::open(&dir).unwrap();
    assert_eq!(state_of(&mut store).await, before);
    // The reopened store keeps working, and a second reopen agrees.
    store.blocking_append([entry(2, 13)]).await.unwrap();
    let before = state_of(&mut store).await;
    drop(store);
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(state_of(&mut store).await, before);
    assert_eq!(indexes(&store).await, (4..=13).collect::<Vec<_>>());
}

#[tokio::test]
async fn purging_reclaims_disk_space() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut store = Store::open(dir).unwrap();
    store.blocking_append(entries(1, 0..=1999)).await.unwrap();
    let full = file_len(dir);
    assert!(full > 3 * log_file::COMPACT_MIN_BYTES, "{full}");
    // A small dead prefix stays in place; one bigger than the rest goes.
    store.purge(log_id(1, 99)).await.unwrap();
    assert_eq!(file_len(dir), full);
    store.purge(log_id(1, 1499)).await.unwrap();
    assert!(file_len(dir) < full / 3, "{} of {full}", file_len(dir));
    assert_eq!(record_offsets(dir).len(), 500);
    store.blocking_append([entry(2, 2000)]).await.unwrap();
    let before = state_of(&mut store).await;
    drop(store);
    let mut store = Store::open(dir).unwrap();
    assert_eq!(state_of(&mut store).await, before);
    assert_eq!(indexes(&store).await, (1500..=2000).collect::<Vec<_>>());

    // Purging past the end leaves only the header; appends resume after it.
    store.purge(log_id(3, 2100)).await.unwrap();
    assert_eq!(file_len(dir), MAGIC.len() as u64);
    store.blocking_append([entry(3, 2101)]).await.unwrap();
    drop(store);
    assert_eq!(indexes(&Store::open(dir).unwrap()).await, vec![2101]);
}

#[tokio::test]
async fn damage_inside_a_compacted_log_is_corruption_not_a_torn_tail() {
    // One batch, compacted: every record left was durable before the copy.
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    store.blocking_append(entries(1, 0..=1999)).await.unwrap();
    store.purge(log_id(1, 1499)).await.unwrap();
    drop(store);
    let at = record_offsets(tmp.path())[100] as usize;
    edit_log(tmp.path(), |bytes| bytes[at + 20] ^= 0x55);
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("a later batch"), "{err}");
}

#[tokio::test]
async fn a_purge_mark_without_reclaim_is_finished_on_open() {
    // As if the process died between writing purged.json and reclaiming.
    let tmp = tempfile::tempdir().unwrap();
    drop(open_with(tmp.path(), entries(1, 0..=5)).await);
    write_json(&tmp.path().join(PURGED_FILE), &Some(log_id(1, 9))).unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    assert_eq!(indexes(&store).await, Vec::<u64>::new());
    assert_eq!(file_len(tmp.path()), MAGIC.len() as u64);
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id(1, 9)));
    store.blocking_append([entry(2, 10)]).await.unwrap();
    drop(store);
    assert_eq!(indexes(&Store::open(tmp.path()).unwrap()).await, vec![10]);
}

// ---- contract guards ----

#[tokio::test]
#[allow(clippy::reversed_empty_ranges)]
async fn ranges_never_panic_and_writes_stay_contiguous() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    store.blocking_append(entries(1, 0..=9)).await.unwrap();
    let mut r = store.reader();
    let (ex, unb) = (Bound::Excluded, Bound::Unbounded);
    assert!(r.try_get_log_entries(5..3).await.unwrap().is_empty());
    assert!(r.try_get_log_entries(3..3).await.unwrap().is_empty());
    assert!(
        r.try_get_log_entries((ex(3), ex(3)))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        r.try_get_log_entries((ex(u64::MAX), unb))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(r.try_get_log_entries(20..).await.unwrap().is_empty());
    assert_eq!(r.try_get_log_entries(..=u64::MAX).await.unwrap().len(), 10);
    assert_eq!(r.try_get_log_entries((ex(7), unb)).await.unwrap().len(), 2);

    assert!(store.blocking_append([entry(1, 12)]).await.is_err(), "gap");
    assert!(
        store.blocking_append([entry(1, 5)]).await.is_err(),
        "overlap"
    );
    store.purge(log_id(1, 4)).await.unwrap();
    assert!(store.truncate_after(Some(log_id(1, 2))).await.is_err());
    assert!(store.truncate_after(None).await.is_err());
    assert_eq!(indexes(&store).await, (5..=9).collect::<Vec<_>>());
}

#[test]
fn a_lost_log_file_beside_a_vote_refuses_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    let vote: VoteOf<TC> = Vote::new(3, 1);
    write_json(&tmp.path().join(VOTE_FILE), &Some(vote)).unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("log.dat is missing"), "{err}");
}

#[tokio::test]
async fn one_directory_is_opened_by_one_store_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("already open"), "{err}");
    drop(store);
    Store::open(tmp.path()).unwrap();
}

// ---- torn tails and corruption ----

/// Damage the last of five single-entry batches with `damage`, then check
/// that a reopen keeps 0..=3, cuts the file where record 4 began, and that
/// an append after that survives another reopen.
async fn check_tail_cut(damage: impl Fn(&mut Vec<u8>, usize)) {
    let tmp = tempfile::tempdir().unwrap();
    drop(open_with(tmp.path(), entries(1, 0..=4)).await);
    let last = record_offsets(tmp.path())[4];
    edit_log(tmp.path(), |bytes| damage(bytes, last as usize));
    let mut store = Store::open(tmp.path()).unwrap();
    assert_eq!(indexes(&store).await, vec![0, 1, 2, 3]);
    assert_eq!(file_len(tmp.path()), last);
    store.blocking_append([entry(2, 4)]).await.unwrap();
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    let all = store.reader().try_get_log_entries(..).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[4].log_id, log_id(2, 4));
}

#[tokio::test]
async fn a_torn_or_flipped_last_record_is_cut_off() {
    for keep in [1, 7, 8, 9, 60] {
        check_tail_cut(|bytes, last| bytes.truncate(last + keep)).await;
    }
    check_tail_cut(|bytes, _| bytes.truncate(bytes.len() - 1)).await;
    // A flip in the length, the checksum, the payload's first and last byte.
    for at in [0, 5, 8] {
        check_tail_cut(|bytes, last| bytes[last + at] ^= 0x55).await;
    }
    check_tail_cut(|bytes, _| *bytes.last_mut().unwrap() ^= 0x55).await;
}

#[tokio::test]
async fn a_hole_inside_the_last_unsynced_batch_is_a_torn_tail() {
    // Power loss may persist later pages of the last write but not earlier
    // ones; the rest of that batch was never acknowledged.
    let tmp = tempfile::tempdir().unwrap();
    let mut store = open_with(tmp.path(), entries(1, 0..=4)).await;
    store.blocking_append(entries(1, 5..=9)).await.unwrap();
    drop(store);
    let at = record_offsets(tmp.path());
    edit_log(tmp.path(), |bytes| {
        bytes[at[7] as usize..at[8] as usize].fill(0)
    });
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(indexes(&store).await, (0..=6).collect::<Vec<_>>());
    assert_eq!(file_len(tmp.path()), at[7]);
}

#[tokio::test]
async fn a_corrupt_record_in_the_middle_refuses_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    drop(open_with(tmp.path(), entries(1, 0..=4)).await);
    let (at, len) = (record_offsets(tmp.path())[2], file_len(tmp.path()));
    edit_log(tmp.path(), |bytes| bytes[at as usize + 20] ^= 0x55);
    let err = Store::open(tmp.path()).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        msg.contains(&tmp.path().join(LOG_FILE).display().to_string()),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("offset {at} (checksum mismatch)")),
        "{msg}"
    );
    assert_eq!(file_len(tmp.path()), len, "a refused log is left as it was");
}

#[tokio::test]
async fn intact_but_undecodable_or_misnumbered_records_refuse_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    drop(open_with(tmp.path(), entries(1, 0..=4)).await);
    let end = file_len(tmp.path());
    edit_log(tmp.path(), |b| {
        encode_record(br#"{"from":"the future"}"#, true, b)
    });
    let err = Store::open(tmp.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(err.to_string().contains(&format!("offset {end}")), "{err}");

    let json = serde_json::to_vec(&entry(1, 9)).unwrap();
    edit_log(tmp.path(), |bytes| {
        bytes.truncate(end as usize);
        encode_record(&json, true, bytes);
    });
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("index 9 after index 4"), "{err}");
}

#[tokio::test]
async fn entries_missing_after_the_purge_point_refuse_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    drop(open_with(tmp.path(), entries(1, 0..=4)).await);
    write_json(&tmp.path().join(PURGED_FILE), &Some(log_id(1, 0))).unwrap();
    // Drop records 0 and 1: index 1 is neither purged nor present.
    let at = record_offsets(tmp.path());
    edit_log(tmp.path(), |bytes| {
        drop(bytes.drain(at[0] as usize..at[2] as usize))
    });
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(
        err.to_string().contains("up to index 0 are purged"),
        "{err}"
    );
}

// ---- a writer killed mid-append ----

const CHILD_DIR: &str = "QUPTIME_LOG_STORE_CHILD_DIR";
const CHILD_ROUND: &str = "QUPTIME_LOG_STORE_CHILD_ROUND";

/// The payload of entry `index` written in `round` (which is its term).
fn crash_payload(round: u64, index: u64) -> String {
    format!(
        "{round}:{index}:{}",
        "p".repeat((index * 397 % 3000) as usize)
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// With `QUPTIME_LOG_STORE_CHILD_DIR` set (in a child process): append with
/// up to four appends in flight, purging now and then, and print
/// `ACK <index>` once an append is durable, until killed (at most a
/// minute). Otherwise a no-op.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let round: u64 = std::env::var(CHILD_ROUND).unwrap().parse().unwrap();
    runtime().block_on(async move {
        let mut store = Store::open(Path::new(&dir)).unwrap();
        store
            .save_vote(&Vote::new_committed(round, 1))
            .await
            .unwrap();
        let state = store.get_log_state().await.unwrap();
        let mut next = state.last_log_id.map_or(0, |l| l.index + 1);
        let mut in_flight = std::collections::VecDeque::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let batch: Vec<EntryOf<TC>> = (next..=next + next % 3)
                .map(|i| Entry {
                    log_id: log_id(round, i),
                    payload: EntryPayload::Normal(crash_payload(round, i)),
                })
                .collect();
            next += batch.len() as u64;
            let (tx, rx) = TC::oneshot();
            store.append(batch, IOFlushed::signal(tx)).await.unwrap();
            in_flight.push_back((next - 1, rx));
            while in_flight.len() > 3 || (in_flight.len() > 1 && next % 5 == 0) {
                let (last, rx) = in_flight.pop_front().unwrap();
                rx.await.unwrap().unwrap();
                println!("ACK {last}");
            }
            if next % 40 < 3 && next > 60 {
                store
                    .save_committed(Some(log_id(round, next - 30)))
                    .await
                    .unwrap();
                let upto = store
                    .reader()
                    .try_get_log_entries(next - 50..=next - 50)
                    .await;
                if let Some(e) = upto.unwrap().first() {
                    store.purge(e.log_id).await.unwrap();
                }
            }
        }
    });
}

#[test]
fn a_killed_writer_keeps_every_acknowledged_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("raft");
    let test_name = format!(
        "{}::crash_child",
        module_path!().split_once("::").unwrap().1
    );
    let mut max_acked = None;
    for round in 1..=10u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &test_name, "--nocapture", "--test-threads", "1"])
            .env(CHILD_DIR, &dir)
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (mut acks, want) = (0, 40 + 37 * round);
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.map_while(std::result::Result::ok) {
            if let Some(index) = line.strip_prefix("ACK ") {
                max_acked = Some(index.parse::<u64>().unwrap());
                acks += 1;
                if acks == want {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL, mid-append
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(acks, want, "the child stopped early: {stderr}");

        runtime().block_on(async {
            let store = Store::open(&dir).unwrap();
            let mut r = store.reader();
            let all = r.try_get_log_entries(..).await.unwrap();
            let (first, last) = (all[0].log_id.index, all[all.len() - 1].log_id.index);
            assert!(
                Some(last) >= max_acked,
                "acked {max_acked:?}, log ends at {last}"
            );
            assert_eq!(all.len() as u64, last + 1 - first, "the log has holes");
            assert!(round == 1 || first > 0, "the child purges");
            for e in &all {
                let EntryPayload::Normal(text) = &e.payload else {
                    panic!("{e}")
                };
                assert_eq!(
                    *text,
                    crash_payload(e.log_id.leader_id.term, e.log_id.index)
                );
            }
            assert_eq!(
                r.read_vote().await.unwrap(),
                Some(Vote::new_committed(round, 1))
            );
        });
    }
}

// ---- non-essential writes ----

#[tokio::test]
async fn a_failing_committed_json_never_poisons_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("raft");
    let mut store = open_with(&dir, entries(1, 0..=2)).await;
    // Renaming over a non-empty directory fails, for root too: the
    // committed id cannot be written, as on a full disk.
    let committed = dir.join(COMMITTED_FILE);
    let _ = fs::remove_file(&committed);
    fs::create_dir_all(committed.join("blocker")).unwrap();
    store.save_committed(Some(log_id(1, 2))).await.unwrap();
    // Every essential write goes on working, and nothing reports a failure.
    store.blocking_append(entries(1, 3..=4)).await.unwrap();
    store.save_vote(&Vote::new_committed(2, 1)).await.unwrap();
    store.save_committed(Some(log_id(1, 4))).await.unwrap();
    store.blocking_append([entry(2, 5)]).await.unwrap();
    assert_eq!(store.reader().failure(), None);
    assert_eq!(indexes(&store).await, (0..=5).collect::<Vec<_>>());
    assert!(committed.is_dir(), "the write cannot have succeeded");

    // Once it can be written again, it is, without another save_committed.
    fs::remove_dir_all(&committed).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = fs::read_to_string(&committed)
            && text.contains("\"index\":4")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "committed.json was never retried"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = state_of(&mut store).await;
    drop(store);
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(state_of(&mut store).await, before);
    assert_eq!(store.read_committed().await.unwrap(), Some(log_id(1, 4)));
}
