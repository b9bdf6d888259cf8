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
use wes_ledger::{Batch, KvStore, StoreError};

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
}

/// A small chain on any [`KvStore`]: the same ledger code, whichever backend.
pub mod demo {
    use anyhow::{Context, Result};
    use wes_core::{
        ChainId, CompactTarget, Domain, Genesis, Input, Ledger, Lock, OutPoint, Output, SecretKey,
        TokenId, Transaction, ValidityWindow, VerifierRegistry, hash,
    };
    use wes_ledger::{EutxoLedger, KvStore, LedgerConfig};

    /// The demo chain's id.
    pub const CHAIN: ChainId = ChainId(4242);

    fn key(name: &str) -> SecretKey {
        SecretKey::from_seed(*hash(Domain::new("wes/dev-key"), name).as_bytes())
    }

    fn genesis() -> Genesis {
        Genesis {
            chain_id: CHAIN,
            time_ms: 1_767_225_600_000,
            target: CompactTarget(0),
            allocations: vec![Output::asset(
                Lock::key(key("alice").public_key()),
                TokenId::Native,
                1_000_000_000,
            )],
            message: "custom store".into(),
        }
    }

    fn open<S: KvStore>(store: S) -> Result<EutxoLedger<S>> {
        Ok(EutxoLedger::open(
            store,
            LedgerConfig::new(CHAIN),
            &genesis(),
            VerifierRegistry::default(),
        )?)
    }

    /// Alice's coin: the change of the tip's transfer, or her genesis allocation.
    fn alice_coin<S: KvStore>(ledger: &EutxoLedger<S>) -> Result<(OutPoint, u128)> {
        let tip = ledger.tip()?;
        let block = ledger.block(&tip.hash)?.context("tip block")?;
        let op = match block.transactions.get(1) {
            Some(tx) => tx.tx.outpoint(1),
            None => genesis().coinbase().outpoint(0),
        };
        let out = ledger.unspent(&op)?.context("alice's coin is spent")?;
        Ok((op, out.as_asset().context("not an asset")?.amount))
    }

    /// Applies `blocks` blocks, each with a transfer of 1 000 from alice to bob. Returns the
    /// height before and after.
    pub fn run<S: KvStore>(store: S, blocks: u64) -> Result<(u64, u64)> {
        let ledger = open(store)?;
        let before = ledger.tip()?.height;
        let (alice, bob, miner) = (key("alice"), key("bob"), key("miner"));
        for _ in 0..blocks {
            let (coin, amount) = alice_coin(&ledger)?;
            let tx = Transaction {
                version: Transaction::VERSION,
                chain_id: CHAIN,
                inputs: vec![Input::spend(coin)],
                outputs: vec![
                    Output::asset(Lock::key(bob.public_key()), TokenId::Native, 1_000),
                    Output::asset(
                        Lock::key(alice.public_key()),
                        TokenId::Native,
                        amount - 2_000,
                    ),
                ],
                validity: ValidityWindow::ALWAYS,
                execution: None,
            }
            .sign(&[&alice]);
            let tip = ledger.tip()?;
            let time = ledger.header(&tip.hash)?.context("tip header")?.time_ms + 1_000;
            let block = ledger.build_block(
                vec![tx],
                &Lock::key(miner.public_key()),
                miner.public_key(),
                time,
            )?;
            ledger.apply_block(&block)?;
        }
        Ok((before, ledger.tip()?.height))
    }

    /// What bob holds: the unspent outputs locked to him, found by walking the chain.
    pub fn balance_of_bob<S: KvStore>(store: S) -> Result<u128> {
        let ledger = open(store)?;
        let bob = Lock::key(key("bob").public_key());
        let mut total = 0;
        for height in 1..=ledger.tip()?.height {
            let hash = ledger.hash_at(height)?.context("hash")?;
            for tx in ledger.block(&hash)?.context("block")?.transactions {
                for (i, out) in tx.tx.outputs.iter().enumerate() {
                    if out.lock == bob && ledger.unspent(&tx.tx.outpoint(i as u32))?.is_some() {
                        total += out.as_asset().map_or(0, |a| a.amount);
                    }
                }
            }
        }
        Ok(total)
    }
}
