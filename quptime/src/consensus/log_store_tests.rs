//! Tests of the on-disk Raft log store: openraft's storage conformance
//! suite, reopening, torn tails, corruption, and a writer process killed
//! mid-append.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftLogStorageExt, RaftStateMachine};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use openraft::type_config::alias::{EntryOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::{
    BasicNode, Entry, EntryPayload, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError,
    StoredMembership, Vote,
};
use tempfile::TempDir;

use super::log_file::{LOG_FILE, encode_record};
use super::*;

openraft::declare_raft_types!(
    /// Type config for the tests: the suite needs `u64` node ids.
    pub TC: D = String, R = String, NodeId = u64, Node = BasicNode,
);

type Store = LogStore<TC>;

// ---- a minimal in-memory state machine, which the suite also exercises ----

#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
struct SmData {
    applied: Option<LogIdOf<TC>>,
    membership: StoredMembershipOf<TC>,
}

/// The current snapshot: its meta and the serialized [`SmData`].
type SmSnapshot = Option<(SnapshotMetaOf<TC>, Vec<u8>)>;

#[derive(Default, Clone)]
struct Sm {
    data: Arc<Mutex<SmData>>,
    snapshot: Arc<Mutex<SmSnapshot>>,
}

impl RaftSnapshotBuilder<TC> for Sm {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> io::Result<SnapshotOf<TC, Vec<u8>>> {
        let data = self.data.lock().unwrap().clone();
        let meta = SnapshotMeta {
            last_log_id: data.applied,
            last_membership: data.membership.clone(),
        };
        let bytes = serde_json::to_vec(&data).map_err(io::Error::other)?;
        *self.snapshot.lock().unwrap() = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: bytes,
        })
    }
}

impl RaftStateMachine<TC> for Sm {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = Sm;

    async fn applied_state(&mut self) -> io::Result<(Option<LogIdOf<TC>>, StoredMembershipOf<TC>)> {
        let d = self.data.lock().unwrap();
        Ok((d.applied, d.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: Stream<Item = io::Result<EntryResponder<TC>>> + Unpin + OptionalSend,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            {
                let mut d = self.data.lock().unwrap();
                d.applied = Some(entry.log_id);
                if let EntryPayload::Membership(m) = entry.payload {
                    d.membership = StoredMembership::new(Some(entry.log_id), m);
                }
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
        *self.snapshot.lock().unwrap() = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<SnapshotOf<TC, Vec<u8>>>> {
        let cur = self.snapshot.lock().unwrap();
        Ok(cur.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: bytes.clone(),
        }))
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
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(format!("entry {index} of term {term} {}", "x".repeat(40))),
    }
}

fn entries(term: u64, range: std::ops::RangeInclusive<u64>) -> Vec<EntryOf<TC>> {
    range.map(|i| entry(term, i)).collect()
}

/// Append each entry as its own batch.
async fn append_each(store: &mut Store, list: Vec<EntryOf<TC>>) {
    for e in list {
        store.blocking_append([e]).await.unwrap();
    }
}

/// Everything a reopened store must reproduce, as comparable text.
async fn snapshot_of(store: &mut Store) -> String {
    let state = store.get_log_state().await.unwrap();
    let mut reader = store.get_log_reader().await;
    let all = reader.try_get_log_entries(..).await.unwrap();
    format!(
        "purged={:?} last={:?} vote={:?} committed={:?} entries={}",
        state.last_purged_log_id,
        state.last_log_id,
        reader.read_vote().await.unwrap(),
        store.read_committed().await.unwrap(),
        serde_json::to_string(&all).unwrap()
    )
}

async fn indexes(store: &mut Store) -> Vec<u64> {
    let all = store.reader().try_get_log_entries(..).await.unwrap();
    all.iter().map(|e| e.log_id.index).collect()
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join(LOG_FILE)
}

fn file_len(dir: &Path) -> u64 {
    std::fs::metadata(log_path(dir)).unwrap().len()
}

/// Byte offset of every record in the log file, found by parsing headers.
fn record_offsets(dir: &Path) -> Vec<u64> {
    let bytes = std::fs::read(log_path(dir)).unwrap();
    let mut at = log_file::MAGIC.len();
    let mut out = Vec::new();
    while at + 8 <= bytes.len() {
        out.push(at as u64);
        let word = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        at += 8 + (word & 0x7fff_ffff) as usize;
    }
    out
}

fn flip_byte(dir: &Path, offset: u64) {
    let mut bytes = std::fs::read(log_path(dir)).unwrap();
    bytes[offset as usize] ^= 0x55;
    std::fs::write(log_path(dir), bytes).unwrap();
}

// ---- reopening ----

#[tokio::test]
async fn reopen_restores_log_vote_committed_and_purge() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("raft");
    let mut store = Store::open(&dir).unwrap();
    append_each(&mut store, entries(1, 0..=4)).await;
    store.blocking_append(entries(1, 5..=9)).await.unwrap();
    store.save_vote(&Vote::new_committed(2, 1)).await.unwrap();
    store.truncate_after(Some(log_id(1, 7))).await.unwrap();
    store.blocking_append(entries(2, 8..=12)).await.unwrap();
    store.purge(log_id(1, 3)).await.unwrap();
    store.save_committed(Some(log_id(2, 9))).await.unwrap();
    let before = snapshot_of(&mut store).await;
    assert_eq!(indexes(&mut store).await, (4..=12).collect::<Vec<_>>());
    drop(store);

    let mut store = Store::open(&dir).unwrap();
    assert_eq!(snapshot_of(&mut store).await, before);
    assert!(before.contains("committed=Some"), "{before}");
    // The reopened store keeps working, and a second reopen agrees.
    store.blocking_append([entry(2, 13)]).await.unwrap();
    let before = snapshot_of(&mut store).await;
    drop(store);
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(snapshot_of(&mut store).await, before);
    assert_eq!(indexes(&mut store).await, (4..=13).collect::<Vec<_>>());
}

#[tokio::test]
async fn purging_reclaims_disk_space() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("raft");
    let mut store = Store::open(&dir).unwrap();
    store.blocking_append(entries(1, 0..=1999)).await.unwrap();
    let full = file_len(&dir);
    assert!(full > 3 * log_file::COMPACT_MIN_BYTES, "{full}");

    // A small dead prefix stays in place ...
    store.purge(log_id(1, 99)).await.unwrap();
    assert_eq!(file_len(&dir), full);
    // ... a dead prefix bigger than the rest is compacted away.
    store.purge(log_id(1, 1499)).await.unwrap();
    let compacted = file_len(&dir);
    assert!(compacted < full / 3, "{compacted} of {full}");
    assert_eq!(record_offsets(&dir).len(), 500);
    store.blocking_append([entry(2, 2000)]).await.unwrap();
    let before = snapshot_of(&mut store).await;
    drop(store);
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(snapshot_of(&mut store).await, before);
    assert_eq!(indexes(&mut store).await, (1500..=2000).collect::<Vec<_>>());

    // Purging past the end leaves only the header; appends resume after it.
    store.purge(log_id(3, 2100)).await.unwrap();
    assert_eq!(file_len(&dir), log_file::MAGIC.len() as u64);
    store.blocking_append([entry(3, 2101)]).await.unwrap();
    drop(store);
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(indexes(&mut store).await, vec![2101]);
}

#[tokio::test]
async fn a_purge_mark_without_reclaim_is_finished_on_open() {
    // As if the process died between writing purged.json and reclaiming.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("raft");
    let mut store = Store::open(&dir).unwrap();
    append_each(&mut store, entries(1, 0..=5)).await;
    drop(store);
    write_json(&dir.join(PURGED_FILE), &Some(log_id(1, 9))).unwrap();
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(indexes(&mut store).await, Vec::<u64>::new());
    assert_eq!(file_len(&dir), log_file::MAGIC.len() as u64);
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id(1, 9)));
    store.blocking_append([entry(2, 10)]).await.unwrap();
    drop(store);
    let mut store = Store::open(&dir).unwrap();
    assert_eq!(indexes(&mut store).await, vec![10]);
}

// ---- contract guards ----

#[tokio::test]
async fn ranges_never_panic_and_writes_stay_contiguous() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    store.blocking_append(entries(1, 0..=9)).await.unwrap();
    let mut r = store.reader();
    #[allow(clippy::reversed_empty_ranges)]
    let empty = [
        r.try_get_log_entries(5..3).await.unwrap(),
        r.try_get_log_entries(3..3).await.unwrap(),
        r.try_get_log_entries((Bound::Excluded(3), Bound::Excluded(3)))
            .await
            .unwrap(),
        r.try_get_log_entries((Bound::Excluded(u64::MAX), Bound::Unbounded))
            .await
            .unwrap(),
        r.try_get_log_entries(20..).await.unwrap(),
    ];
    assert!(empty.iter().all(Vec::is_empty));
    assert_eq!(r.try_get_log_entries(..=u64::MAX).await.unwrap().len(), 10);
    assert_eq!(
        r.try_get_log_entries((Bound::Excluded(7), Bound::Unbounded))
            .await
            .unwrap()
            .len(),
        2
    );

    assert!(store.blocking_append([entry(1, 12)]).await.is_err(), "gap");
    assert!(
        store.blocking_append([entry(1, 5)]).await.is_err(),
        "overlap"
    );
    store.purge(log_id(1, 4)).await.unwrap();
    assert!(store.truncate_after(Some(log_id(1, 2))).await.is_err());
    assert!(store.truncate_after(None).await.is_err());
    assert_eq!(indexes(&mut store).await, (5..=9).collect::<Vec<_>>());
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

/// Five single-entry batches: 0..=4. Returns the record offsets.
async fn five_batches(dir: &Path) -> Vec<u64> {
    let mut store = Store::open(dir).unwrap();
    append_each(&mut store, entries(1, 0..=4)).await;
    drop(store);
    record_offsets(dir)
}

/// Reopen after damage to record 4: 0..=3 survive, the file is cut at the
/// last record, and an append after it survives another reopen.
async fn check_tail_cut(dir: &Path, last_record: u64) {
    let mut store = Store::open(dir).unwrap();
    assert_eq!(indexes(&mut store).await, vec![0, 1, 2, 3]);
    assert_eq!(file_len(dir), last_record);
    store.blocking_append([entry(2, 4)]).await.unwrap();
    drop(store);
    let mut store = Store::open(dir).unwrap();
    assert_eq!(indexes(&mut store).await, vec![0, 1, 2, 3, 4]);
    let last = store.reader().try_get_log_entries(4..).await.unwrap();
    assert_eq!(last[0].log_id, log_id(2, 4));
}

#[tokio::test]
async fn a_chopped_tail_is_cut_off() {
    let probe = tempfile::tempdir().unwrap();
    let offsets = five_batches(probe.path()).await;
    let (last, len) = (offsets[4], file_len(probe.path()));
    for keep in [last + 1, last + 7, last + 8, last + 9, len - 1] {
        let tmp = tempfile::tempdir().unwrap();
        five_batches(tmp.path()).await;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(log_path(tmp.path()))
            .unwrap();
        file.set_len(keep).unwrap();
        check_tail_cut(tmp.path(), last).await;
    }
}

#[tokio::test]
async fn a_flipped_byte_in_the_last_record_is_cut_off() {
    let probe = tempfile::tempdir().unwrap();
    let offsets = five_batches(probe.path()).await;
    let (last, len) = (offsets[4], file_len(probe.path()));
    // In the length, the checksum, and the payload's first and last bytes.
    for at in [last, last + 5, last + 8, len - 1] {
        let tmp = tempfile::tempdir().unwrap();
        five_batches(tmp.path()).await;
        flip_byte(tmp.path(), at);
        check_tail_cut(tmp.path(), last).await;
    }
}

#[tokio::test]
async fn a_hole_inside_the_last_unsynced_batch_is_a_torn_tail() {
    // Power loss may persist later pages of the last write but not earlier
    // ones; the rest of that batch was never acknowledged.
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    append_each(&mut store, entries(1, 0..=4)).await;
    store.blocking_append(entries(1, 5..=9)).await.unwrap();
    drop(store);
    let offsets = record_offsets(tmp.path());
    let mut bytes = std::fs::read(log_path(tmp.path())).unwrap();
    bytes[offsets[7] as usize..offsets[8] as usize].fill(0);
    std::fs::write(log_path(tmp.path()), bytes).unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    assert_eq!(indexes(&mut store).await, (0..=6).collect::<Vec<_>>());
    assert_eq!(file_len(tmp.path()), offsets[7]);
}

#[tokio::test]
async fn a_corrupt_record_in_the_middle_refuses_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    let offsets = five_batches(tmp.path()).await;
    let len = file_len(tmp.path());
    flip_byte(tmp.path(), offsets[2] + 20);
    let err = Store::open(tmp.path()).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        msg.contains(&log_path(tmp.path()).display().to_string()),
        "{msg}"
    );
    assert!(msg.contains(&format!("offset {}", offsets[2])), "{msg}");
    assert!(msg.contains("checksum mismatch"), "{msg}");
    assert_eq!(file_len(tmp.path()), len, "a refused log is left as it was");
}

#[tokio::test]
async fn intact_but_undecodable_or_misnumbered_records_refuse_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    five_batches(tmp.path()).await;
    let mut bytes = std::fs::read(log_path(tmp.path())).unwrap();
    let end = bytes.len();
    encode_record(br#"{"from":"the future"}"#, true, &mut bytes);
    std::fs::write(log_path(tmp.path()), &bytes).unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(err.to_string().contains(&format!("offset {end}")), "{err}");

    bytes.truncate(end);
    encode_record(&serde_json::to_vec(&entry(1, 9)).unwrap(), true, &mut bytes);
    std::fs::write(log_path(tmp.path()), &bytes).unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("index 9 after index 4"), "{err}");
}

#[tokio::test]
async fn entries_missing_after_the_purge_point_refuse_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    five_batches(tmp.path()).await;
    write_json(&tmp.path().join(PURGED_FILE), &Some(log_id(1, 0))).unwrap();
    // Drop records 0 and 1: index 1 is neither purged nor present.
    let offsets = record_offsets(tmp.path());
    let bytes = std::fs::read(log_path(tmp.path())).unwrap();
    let mut cut = bytes[..offsets[0] as usize].to_vec();
    cut.extend_from_slice(&bytes[offsets[2] as usize..]);
    std::fs::write(log_path(tmp.path()), &cut).unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(
        err.to_string().contains("entries up to index 0 are purged"),
        "{err}"
    );
}

// ---- a writer killed mid-append ----

const CHILD_DIR: &str = "QUPTIME_LOG_STORE_CHILD_DIR";
const CHILD_ROUND: &str = "QUPTIME_LOG_STORE_CHILD_ROUND";

/// The payload of entry `index` written in `round` (the term).
fn crash_payload(round: u64, index: u64) -> String {
    format!(
        "{round}:{index}:{}",
        "p".repeat((index * 397 % 3000) as usize)
    )
}

/// In a child process (env `QUPTIME_LOG_STORE_CHILD_DIR` set): append
/// entries with up to four appends in flight and print `ACK <index>` once
/// each is durable, until killed (or for at most a minute). Otherwise a
/// no-op.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let round: u64 = std::env::var(CHILD_ROUND).unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
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
            let batch: Vec<EntryOf<TC>> = (next..next + 1 + next % 3)
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
                    .await
                    .unwrap();
                if let Some(e) = upto.first() {
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
        let mut acks = 0;
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.map_while(std::result::Result::ok) {
            if let Some(index) = line.strip_prefix("ACK ") {
                max_acked = Some(index.parse::<u64>().unwrap());
                acks += 1;
                if acks == 40 + 37 * round {
                    break;
                }
            }
        }
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            acks == 40 + 37 * round,
            "child stopped after {acks} acks: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        rt.block_on(async {
            let mut store = Store::open(&dir).unwrap();
            let state = store.get_log_state().await.unwrap();
            let all = store.reader().try_get_log_entries(..).await.unwrap();
            let last = state.last_log_id.unwrap().index;
            assert!(
                Some(last) >= max_acked,
                "acked {max_acked:?}, log ends at {last}"
            );
            assert!(
                round == 1 || state.last_purged_log_id.is_some(),
                "the child purges"
            );
            let first = state.last_purged_log_id.map_or(0, |p| p.index + 1);
            assert_eq!(all.len() as u64, last + 1 - first, "the log has holes");
            for (e, index) in all.iter().zip(first..) {
                assert_eq!(e.log_id.index, index);
                let EntryPayload::Normal(text) = &e.payload else {
                    panic!("{e}")
                };
                assert_eq!(*text, crash_payload(e.log_id.leader_id.term, index));
            }
            assert_eq!(
                store.reader().read_vote().await.unwrap(),
                Some(Vote::new_committed(round, 1))
            );
        });
    }
}
