//! A ledger backend written outside the SDK: [`LogStore`], an append-only log file with an
//! in-memory index, implementing [`wes_ledger::KvStore`] — the one trait the ledger needs from
//! storage (point reads and atomic, durable batches).
//!
//! Each batch is one record: `len (u32 LE) ‖ H(payload) (32 bytes) ‖ payload`, where the
//! payload lists the writes. A record is appended and fsynced before `apply` returns; on open
//! the log is replayed, and a torn last record (a crash mid-append: short, or its hash does
//! not match) is cut off, so the store is always at the last whole batch — the crash
//! guarantee `KvStore` asks for.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Mutex, RwLock};

use wes_core::{Domain, hash};
use wes_ledger::{Batch, KeyValues, KvStore, StoreError};

const RECORD: Domain = Domain::new("wes-custom-store/record");

/// An append-only log of batches, indexed in memory.
pub struct LogStore {
    map: RwLock<HashMap<Vec<u8>, Vec<u8>>>,
    file: Mutex<File>,
}

fn io(what: &str) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}

fn encode(batch: &Batch) -> Vec<u8> {
    let mut p = Vec::new();
    for (k, v) in batch.ops() {
        p.extend_from_slice(&(k.len() as u32).to_le_bytes());
        p.extend_from_slice(k);
        match v {
            Some(v) => {
                p.push(1);
                p.extend_from_slice(&(v.len() as u32).to_le_bytes());
                p.extend_from_slice(v);
            }
            None => p.push(0),
        }
    }
    p
}

/// A write: the key and its new value (`None` removes it).
type Op = (Vec<u8>, Option<Vec<u8>>);

/// Decodes a record's payload; `None` if it is malformed.
fn decode(mut p: &[u8]) -> Option<Vec<Op>> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (a, b) = (p.get(..n)?, p.get(n..)?);
        *p = b;
        Some(a)
    }
    fn len(p: &mut &[u8]) -> Option<usize> {
        Some(u32::from_le_bytes(take(p, 4)?.try_into().ok()?) as usize)
    }
    let mut ops = Vec::new();
    while !p.is_empty() {
        let n = len(&mut p)?;
        let key = take(&mut p, n)?.to_vec();
        let value = match take(&mut p, 1)?[0] {
            1 => {
                let n = len(&mut p)?;
                Some(take(&mut p, n)?.to_vec())
            }
            0 => None,
            _ => return None,
        };
        ops.push((key, value));
    }
    Some(ops)
}

fn apply_ops(map: &mut HashMap<Vec<u8>, Vec<u8>>, ops: Vec<Op>) {
    for (k, v) in ops {
        match v {
            Some(v) => map.insert(k, v),
            None => map.remove(&k),
        };
    }
}

impl LogStore {
    /// Opens (creating) the log at `path`, replaying it; a torn tail is cut off.
    pub fn open(path: impl AsRef<Path>) -> Result<LogStore, StoreError> {
        let path = path.as_ref();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io("open the log"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("read the log"))?;
        let mut map = HashMap::new();
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let n = rest
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            let record = n.and_then(|n| rest.get(..36 + n).map(|r| (n, r)));
            let ops = record.and_then(|(_, r)| {
                (hash(RECORD, &r[36..]).as_bytes()[..] == r[4..36])
                    .then(|| decode(&r[36..]))
                    .flatten()
            });
            match (record, ops) {
                (Some((n, _)), Some(ops)) => {
                    apply_ops(&mut map, ops);
                    at += 36 + n;
                }
                // The last record is torn (a crash mid-append) or damaged: cut it off.
                (None, _) => break,
                (Some((n, _)), None) if at + 36 + n == bytes.len() => break,
                // A damaged record with acknowledged ones after it: refuse, lose nothing.
                (Some(_), None) => {
                    return Err(StoreError::Backend(format!(
                        "{}: record at byte {at} is corrupt and is not the last one",
                        path.display()
                    )));
                }
            }
        }
        if at < bytes.len() {
            file.set_len(at as u64)
                .map_err(io("truncate the torn tail"))?;
            file.sync_all().map_err(io("sync"))?;
        }
        Ok(LogStore {
            map: RwLock::new(map),
            file: Mutex::new(file),
        })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KvStore for LogStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let map = self
            .map
            .read()
            .map_err(|_| StoreError::Backend("index lock poisoned".into()))?;
        Ok(map.get(key).cloned())
    }

    fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        let payload = encode(&batch);
        let mut record = Vec::with_capacity(36 + payload.len());
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(hash(RECORD, &payload).as_bytes());
        record.extend_from_slice(&payload);
        let mut file = self
            .file
            .lock()
            .map_err(|_| StoreError::Backend("log lock poisoned".into()))?;
        let end = file.metadata().map_err(io("stat the log"))?.len();
        if let Err(e) = file.write_all(&record).and_then(|()| file.sync_data()) {
            // Take a partial record back, so later batches do not follow a torn one.
            let _ = file.set_len(end);
            return Err(io("append")(e));
        }
        let mut map = self
            .map
            .write()
            .map_err(|_| StoreError::Backend("index lock poisoned".into()))?;
        apply_ops(&mut map, batch.ops().to_vec());
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        let map = self
            .map
            .read()
            .map_err(|_| StoreError::Backend("index lock poisoned".into()))?;
        let mut found: KeyValues = map
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        found.sort();
        Ok(found)
    }
}
