//! The persistent store: one file per resource, metadata in sled.
//!
//! # Layout
//!
//! ```text
//! <root>/objects/<hex[0..2]>/<hex>   the content's bytes, exactly `size` bytes
//! <root>/tmp/                        puts in progress (emptied when the store is opened)
//! <root>/meta/                       sled database, one tree:
//!     "format"        -> "wes-ures/1"
//!     'm' ‖ id (33 B) -> codec-encoded Record { size, kind, meta }
//!     'd' ‖ id        -> the chunk digests, 32 bytes per chunk
//!     'p' ‖ id        -> pin count, u64 little-endian (absent = 0)
//! ```
//!
//! # Crash behaviour
//!
//! A put streams into a temporary file in `tmp/`, hashing as it goes, then (under the commit
//! lock) renames it to its content-addressed path and only then writes the metadata `m`/`d`
//! in one sled batch. Content is visible only once its metadata is, so a crash at any point
//! leaves either no trace, a leftover in `tmp/` (removed at the next open), or an orphan
//! object file without metadata (invisible, removed by the next garbage collection).
//! Collection removes metadata first and files second, with the same result.
//!
//! With [`Durability::Sync`] (the default) a put returns only after the file, its directory
//! entry and the metadata are on stable storage. With [`Durability::Os`] the operating system
//! writes them back when it chooses: after a power loss a recent put may be gone or its file
//! damaged, which reads detect (every chunk is verified) and report as corruption; content is
//! never returned wrong either way.
//!
//! # A full disk
//!
//! A failed write leaves the store refusing writes until it is reopened (sled, which keeps
//! the metadata, cannot go on after one). So a put keeps a reserve of free space
//! ([`DiskStore::with_reserve`]): before each batch of chunks it writes, it checks that the
//! batch leaves the reserve free, and otherwise stops with [`StoreError::DiskFull`], removing
//! what it wrote. The store stays usable, and the put can be retried once space is freed.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use wes_core::{
    Chunk, ContentId, GcReport, Hash, MerkleTree, ResourceKind, ResourceMeta, ResourceStat,
    ResourceStore,
};

use crate::content::{
    CHUNK_SIZE, ContentDigest, TREE_DOMAINS, chunk_count, chunk_digest, chunk_len, chunk_offset,
    content_id_from_digests,
};
use crate::error::StoreError;
use crate::util::{BATCH_CHUNKS, digests_while, read_full};

/// The on-disk format this version reads and writes.
pub const DISK_FORMAT: &str = "wes-ures/1";

const FORMAT_KEY: &[u8] = b"format";
const RECORD: u8 = b'm';
const DIGESTS: u8 = b'd';
const PINS: u8 = b'p';
/// Proof trees kept for content whose chunks are being served.
const TREE_CACHE: usize = 8;

/// When a write reaches stable storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every put, pin, unpin and collection is on stable storage when it returns (`fsync`
    /// of the content file and its directory, then a metadata flush).
    #[default]
    Sync,
    /// Writes are left to the operating system's write-back. Faster for bulk imports and
    /// caches of content that can be fetched again; a power loss may lose recent writes (a
    /// process crash does not). Damage is still detected on read.
    Os,
}

/// The description kept per content id.
#[derive(Serialize, Deserialize)]
struct Record {
    size: u64,
    kind: ResourceKind,
    meta: ResourceMeta,
}

/// Digests checked against the content id, with the tree for proofs.
struct Verified {
    digests: Vec<Hash>,
    tree: MerkleTree,
}

/// A [`ResourceStore`] on the local file system: content files under content-addressed
/// paths, metadata and pins in sled (see the [module docs](self) for the layout and crash
/// behaviour).
///
/// Every read verifies each chunk against the digests the content id commits to (and the
/// digests against the id) before returning any of its bytes. One process at a time may open
/// a store directory: sled holds a lock on it.
pub struct DiskStore {
    root: PathBuf,
    objects: PathBuf,
    tmp: PathBuf,
    db: sled::Db,
    durability: Durability,
    /// Serialises the metadata-changing steps: put commits, pins, collection.
    commit: Mutex<()>,
    /// Set after a failed write; the store then refuses writes.
    failed: Mutex<Option<String>>,
    /// Free space a put leaves on the file system.
    reserve: u64,
    trees: Mutex<Vec<(ContentId, Arc<Verified>)>>,
}

impl DiskStore {
    /// Opens (creating if needed) the store in directory `root`, with [`Durability::Sync`].
    pub fn open(root: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(root, Durability::default())
    }

    /// Opens (creating if needed) the store in directory `root`.
    ///
    /// Leftovers of puts interrupted by a crash are removed. Fails with
    /// [`StoreError::BadFormat`] if the directory holds a store of another format, and with
    /// [`StoreError::Db`] if another process has it open.
    pub fn open_with(root: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        let root = root.as_ref().to_path_buf();
        let objects = root.join("objects");
        let tmp = root.join("tmp");
        for dir in [&root, &objects, &tmp] {
            fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        }
        let db = open_sled(&sled::Config::new().path(root.join("meta")))?;
        match db.get(FORMAT_KEY)? {
            Some(v) if v.as_ref() == DISK_FORMAT.as_bytes() => {}
            Some(v) => {
                return Err(StoreError::BadFormat {
                    path: root,
                    expected: DISK_FORMAT,
                    reason: format!("format {:?}", String::from_utf8_lossy(&v)),
                });
            }
            None if db.is_empty() => {
                db.insert(FORMAT_KEY, DISK_FORMAT.as_bytes())?;
                db.flush()?;
            }
            None => {
                return Err(StoreError::BadFormat {
                    path: root,
                    expected: DISK_FORMAT,
                    reason: "metadata without a format marker".into(),
                });
            }
        }
        // The sled lock is ours, so nothing else is writing into tmp/.
        for entry in fs::read_dir(&tmp).map_err(io_err("list", &tmp))? {
            let path = entry.map_err(io_err("list", &tmp))?.path();
            fs::remove_file(&path).map_err(io_err("remove leftover", &path))?;
        }
        Ok(DiskStore {
            root,
            objects,
            tmp,
            db,
            durability,
            commit: Mutex::new(()),
            failed: Mutex::new(None),
            reserve: Self::DEFAULT_RESERVE,
            trees: Mutex::new(Vec::new()),
        })
    }

    /// The free space a put leaves on the store's file system unless told otherwise
    /// ([`with_reserve`](Self::with_reserve)): 64 MiB.
    pub const DEFAULT_RESERVE: u64 = 64 << 20;

    /// Keeps `bytes` free on the file system: a put that would leave less stops with
    /// [`StoreError::DiskFull`] and stores nothing (default
    /// [`DEFAULT_RESERVE`](Self::DEFAULT_RESERVE)).
    pub fn with_reserve(mut self, bytes: u64) -> Self {
        self.reserve = bytes;
        self
    }

    /// The free space a put leaves on the store's file system.
    pub fn reserve(&self) -> u64 {
        self.reserve
    }

    /// Refuses to write `size` more bytes if that would leave less than the reserve free.
    /// Space that cannot be measured is not a reason to refuse: the write then tells.
    fn check_space(&self, size: u64) -> Result<(), StoreError> {
        let Ok(available) = fs2::available_space(&self.tmp) else {
            return Ok(());
        };
        let needed = self.reserve.saturating_add(size);
        if available < needed {
            return Err(StoreError::DiskFull {
                path: self.root.clone(),
                available,
                needed,
            });
        }
        Ok(())
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding content `id` (it exists only if the content is stored).
    pub fn object_path(&self, id: &ContentId) -> PathBuf {
        let hex = id.0.to_hex();
        self.objects.join(&hex[..2]).join(hex)
    }

    /// The whole content, verified.
    pub fn get(&self, id: &ContentId) -> Result<Vec<u8>, StoreError> {
        let (record, verified) = self.load(id)?;
        let mut reader = self.reader(id, record.size, verified)?;
        let mut out = Vec::with_capacity(usize::try_from(record.size).unwrap_or(0));
        reader
            .read_to_end(&mut out)
            .map_err(|e| StoreError::from_read(e, self.object_path(id)))?;
        Ok(out)
    }

    /// How many pins the content has (0 if none).
    pub fn pin_count(&self, id: &ContentId) -> Result<u64, StoreError> {
        let Some(v) = self.db.get(key(PINS, id))? else {
            return Ok(0);
        };
        let bytes: [u8; 8] = v.as_ref().try_into().map_err(|_| StoreError::BadMetadata {
            id: *id,
            reason: format!("pin count of {} bytes", v.len()),
        })?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// The ids of all stored content, in id order.
    pub fn ids(&self) -> Result<Vec<ContentId>, StoreError> {
        let mut ids = Vec::new();
        for k in self.db.scan_prefix([RECORD]).keys() {
            ids.extend(id_of_key(&k?));
        }
        Ok(ids)
    }

    /// Bytes of content held (each distinct content counted once; metadata not included).
    pub fn stored_bytes(&self) -> Result<u64, StoreError> {
        let mut total = 0u64;
        for item in self.db.scan_prefix([RECORD]) {
            let (k, v) = item?;
            let id = id_of_key(&k).unwrap_or_default();
            total = total.saturating_add(decode_record(&id, &v)?.size);
        }
        Ok(total)
    }

    /// Writes all pending metadata to disk. Only needed with [`Durability::Os`]; dropping the
    /// store flushes too.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn refuse_if_failed(&self) -> Result<(), StoreError> {
        match &*lock(&self.failed) {
            Some(reason) => Err(StoreError::Failed {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Runs a write step; a failure marks the store failed.
    fn fatal<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            lock(&self.failed).get_or_insert_with(|| e.to_string());
        }
        result
    }

    fn record(&self, id: &ContentId) -> Result<Option<Record>, StoreError> {
        self.db
            .get(key(RECORD, id))?
            .map(|v| decode_record(id, &v))
            .transpose()
    }

    /// The record and the verified digests of stored content.
    fn load(&self, id: &ContentId) -> Result<(Record, Arc<Verified>), StoreError> {
        let record = self.record(id)?.ok_or(StoreError::NotFound { id: *id })?;
        if let Some(v) = lock(&self.trees).iter().find(|(k, _)| k == id) {
            return Ok((record, v.1.clone()));
        }
        let raw = self.db.get(key(DIGESTS, id))?.unwrap_or_default();
        let chunks = chunk_count(record.size);
        if raw.len() as u64 != chunks.saturating_mul(32) {
            return Err(StoreError::BadMetadata {
                id: *id,
                reason: format!("{} bytes of digests for {chunks} chunks", raw.len()),
            });
        }
        let digests: Vec<Hash> = raw
            .chunks_exact(32)
            .map(|d| Hash(d.try_into().expect("chunks_exact(32)")))
            .collect();
        let got = content_id_from_digests(record.size, &digests);
        if &got != id {
            return Err(StoreError::BadMetadata {
                id: *id,
                reason: format!("chunk digests lead to content id {got}"),
            });
        }
        let tree = MerkleTree::with_domains(TREE_DOMAINS, &digests);
        let verified = Arc::new(Verified { digests, tree });
        let mut trees = lock(&self.trees);
        if trees.len() >= TREE_CACHE {
            trees.remove(0);
        }
        trees.push((*id, verified.clone()));
        Ok((record, verified))
    }

    /// Opens the content file and checks its length.
    fn open_file(&self, id: &ContentId, size: u64) -> Result<File, StoreError> {
        let path = self.object_path(id);
        let file = File::open(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => StoreError::WrongLength {
                id: *id,
                expected: size,
                got: 0,
            },
            _ => StoreError::Io {
                op: "open",
                path: path.clone(),
                source,
            },
        })?;
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        if len != size {
            return Err(StoreError::WrongLength {
                id: *id,
                expected: size,
                got: len,
            });
        }
        Ok(file)
    }

    fn reader(
        &self,
        id: &ContentId,
        size: u64,
        verified: Arc<Verified>,
    ) -> Result<FileReader, StoreError> {
        Ok(FileReader {
            id: *id,
            size,
            file: self.open_file(id, size)?,
            path: self.object_path(id),
            verified,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            poison: None,
        })
    }

    fn stat_of(&self, id: &ContentId, record: Record) -> Result<ResourceStat, StoreError> {
        Ok(ResourceStat {
            id: *id,
            size: record.size,
            chunks: chunk_count(record.size),
            pinned: self.pin_count(id)? > 0,
            kind: record.kind,
            meta: record.meta,
        })
    }

    fn sync_metadata(&self) -> Result<(), StoreError> {
        if self.durability == Durability::Sync {
            self.db.flush()?;
        }
        Ok(())
    }

    /// Streams `data` into a temporary file, hashing it: a batch of chunks at a time, hashed on
    /// worker threads while this thread writes the batch.
    fn write_temp(
        &self,
        data: &mut dyn Read,
    ) -> Result<(tempfile::NamedTempFile, ContentDigest), StoreError> {
        let mut temp = tempfile::Builder::new()
            .prefix("put-")
            .tempfile_in(&self.tmp)
            .map_err(io_err("create temporary file in", &self.tmp))?;
        let mut buf = vec![0u8; CHUNK_SIZE * BATCH_CHUNKS];
        let mut digests = Vec::new();
        let mut size = 0u64;
        loop {
            let n = read_full(data, &mut buf).map_err(|source| StoreError::Source { source })?;
            self.check_space(n as u64)?;
            let filled = &buf[..n];
            let chunks: Vec<&[u8]> = filled.chunks(CHUNK_SIZE).collect();
            let file = temp.as_file_mut();
            let (batch, written) = digests_while(&chunks, || file.write_all(filled));
            written.map_err(io_err("write", temp.path()))?;
            digests.extend(batch);
            size += n as u64;
            if n < buf.len() {
                break;
            }
        }
        if self.durability == Durability::Sync {
            temp.as_file()
                .sync_data()
                .map_err(io_err("sync", temp.path()))?;
        }
        let id = content_id_from_digests(size, &digests);
        Ok((temp, ContentDigest { id, size, digests }))
    }

    fn set_pins(&self, id: &ContentId, count: u64) -> Result<(), StoreError> {
        if count == 0 {
            self.db.remove(key(PINS, id))?;
        } else {
            self.db.insert(key(PINS, id), &count.to_le_bytes())?;
        }
        self.sync_metadata()
    }

    /// Removes object files that have no metadata (left by a crash between a put's rename
    /// and its metadata write, or between a collection's metadata removal and its file
    /// removal). Called with the commit lock held.
    fn sweep_orphans(&self) -> Result<u64, StoreError> {
        let mut freed = 0u64;
        for dir in fs::read_dir(&self.objects).map_err(io_err("list", &self.objects))? {
            let dir = dir.map_err(io_err("list", &self.objects))?.path();
            if !dir.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
                let entry = entry.map_err(io_err("list", &dir))?;
                let path = entry.path();
                let known = match path.file_name().and_then(|n| n.to_str()) {
                    Some(name) => match name.parse::<Hash>() {
                        Ok(h) => self.db.contains_key(key(RECORD, &ContentId(h)))?,
                        // Not ours: leave it alone.
                        Err(_) => true,
                    },
                    None => true,
                };
                if !known {
                    let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    fs::remove_file(&path).map_err(io_err("remove orphan", &path))?;
                    freed = freed.saturating_add(len);
                }
            }
        }
        Ok(freed)
    }
}

impl Drop for DiskStore {
    fn drop(&mut self) {
        // Best effort: with Durability::Sync everything is flushed already.
        let _ = self.db.flush();
    }
}

impl ResourceStore for DiskStore {
    type Error = StoreError;

    /// Streams `data` to a temporary file (one chunk buffer of memory), then commits it. The
    /// bytes are always written once more even if the same content is stored already (the
    /// id is known only at the end); the file is then renamed over the stored one, which also
    /// repairs a damaged copy.
    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, StoreError> {
        self.refuse_if_failed()?;
        // A failure up to here leaves only a temporary file, removed on drop: not fatal.
        let (temp, digest) = self.write_temp(data)?;
        let id = digest.id;
        let path = self.object_path(&id);

        let _commit = lock(&self.commit);
        self.refuse_if_failed()?;
        let result = (|| {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
            }
            temp.persist(&path).map_err(|e| StoreError::Io {
                op: "rename into place",
                path: path.clone(),
                source: e.error,
            })?;
            if self.durability == Durability::Sync
                && let Some(dir) = path.parent()
            {
                sync_dir(dir)?;
            }
            let record = Record {
                size: digest.size,
                kind,
                meta: meta.clone(),
            };
            let mut batch = sled::Batch::default();
            batch.insert(&key(RECORD, &id)[..], wes_core::encode(&record));
            let mut raw = Vec::with_capacity(digest.digests.len() * 32);
            for d in &digest.digests {
                raw.extend_from_slice(d.as_bytes());
            }
            batch.insert(&key(DIGESTS, &id)[..], raw);
            self.db.apply_batch(batch)?;
            self.sync_metadata()?;
            self.stat_of(&id, record)
        })();
        self.fatal(result)
    }

    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        let (record, verified) = self.load(id)?;
        Ok(Box::new(self.reader(id, record.size, verified)?))
    }

    /// Whether the metadata is there and the content file has the right length (the bytes
    /// themselves are verified when read).
    fn has(&self, id: &ContentId) -> Result<bool, StoreError> {
        let Some(record) = self.record(id)? else {
            return Ok(false);
        };
        Ok(fs::metadata(self.object_path(id)).is_ok_and(|m| m.len() == record.size))
    }

    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, StoreError> {
        match self.record(id)? {
            Some(record) => self.stat_of(id, record).map(Some),
            None => Ok(None),
        }
    }

    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, StoreError> {
        let (record, verified) = self.load(id)?;
        let out_of_range = || StoreError::ChunkOutOfRange {
            id: *id,
            index,
            chunks: chunk_count(record.size),
        };
        let len = chunk_len(record.size, index).ok_or_else(out_of_range)?;
        let mut file = self.open_file(id, record.size)?;
        let path = self.object_path(id);
        file.seek(SeekFrom::Start(chunk_offset(index)))
            .map_err(io_err("seek", &path))?;
        let mut bytes = vec![0u8; len];
        file.read_exact(&mut bytes).map_err(io_err("read", &path))?;
        check_chunk(id, &verified, index, &bytes)?;
        let proof = usize::try_from(index)
            .ok()
            .and_then(|i| verified.tree.proof(i))
            .ok_or_else(out_of_range)?;
        Ok(Chunk {
            index,
            bytes,
            proof,
        })
    }

    fn pin(&self, id: &ContentId) -> Result<(), StoreError> {
        self.refuse_if_failed()?;
        let _commit = lock(&self.commit);
        let result = (|| {
            let count = self.pin_count(id)?;
            self.set_pins(id, count.saturating_add(1))
        })();
        self.fatal(result)
    }

    fn unpin(&self, id: &ContentId) -> Result<(), StoreError> {
        self.refuse_if_failed()?;
        let _commit = lock(&self.commit);
        let count = self.pin_count(id)?;
        if count == 0 {
            return Err(StoreError::NotPinned { id: *id });
        }
        let result = self.set_pins(id, count - 1);
        self.fatal(result)
    }

    fn pins(&self) -> Result<Vec<(ContentId, u64)>, StoreError> {
        self.refuse_if_failed()?;
        let mut pins = Vec::new();
        for item in self.db.scan_prefix([PINS]) {
            let (k, _) = item?;
            if let Some(id) = id_of_key(&k) {
                pins.push((id, self.pin_count(&id)?));
            }
        }
        Ok(pins)
    }

    /// Removes all unpinned content, then object files without metadata. Holds the commit
    /// lock throughout: puts finish their streaming meanwhile and commit after it, pins and
    /// unpins wait. Readers already open keep reading the removed content (its file stays
    /// readable until they close it).
    fn collect_garbage(&self) -> Result<GcReport, StoreError> {
        self.refuse_if_failed()?;
        let _commit = lock(&self.commit);
        let result = (|| {
            let mut doomed = Vec::new();
            for item in self.db.scan_prefix([RECORD]) {
                let (k, v) = item?;
                let Some(id) = id_of_key(&k) else { continue };
                if self.pin_count(&id)? == 0 {
                    doomed.push((id, decode_record(&id, &v).map(|r| r.size).unwrap_or(0)));
                }
            }
            let mut batch = sled::Batch::default();
            for (id, _) in &doomed {
                batch.remove(&key(RECORD, id)[..]);
                batch.remove(&key(DIGESTS, id)[..]);
            }
            self.db.apply_batch(batch)?;
            self.sync_metadata()?;
            lock(&self.trees).retain(|(id, _)| !doomed.iter().any(|(d, _)| d == id));
            let mut report = GcReport::default();
            for (id, size) in &doomed {
                let path = self.object_path(id);
                match fs::remove_file(&path) {
                    Ok(()) => report.bytes_freed = report.bytes_freed.saturating_add(*size),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(StoreError::Io {
                            op: "remove",
                            path,
                            source: e,
                        });
                    }
                }
                report.removed += 1;
            }
            report.bytes_freed = report.bytes_freed.saturating_add(self.sweep_orphans()?);
            Ok(report)
        })();
        self.fatal(result)
    }
}

/// Reads a content file a batch of chunks at a time, verifying each chunk (on worker threads)
/// before handing out any of its bytes. After an error every further read fails again: a
/// reader never signals the end of content it could not verify.
struct FileReader {
    id: ContentId,
    size: u64,
    file: File,
    path: PathBuf,
    verified: Arc<Verified>,
    /// The next chunk to read from the file.
    next: u64,
    /// Verified bytes not yet handed out are `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// The error to return once `buf` is drained, and on every read after.
    poison: Option<StoreError>,
}

impl FileReader {
    /// Reads and verifies the next batch; `Ok(false)` at the end of the content.
    fn fill(&mut self) -> Result<bool, StoreError> {
        let chunks = chunk_count(self.size);
        if self.next >= chunks {
            return Ok(false);
        }
        let last = (self.next + BATCH_CHUNKS as u64).min(chunks);
        let len = (chunk_offset(last).min(self.size) - chunk_offset(self.next)) as usize;
        self.buf.resize(len, 0);
        self.pos = 0;
        if let Err(source) = self.file.read_exact(&mut self.buf) {
            self.buf.clear();
            return Err(match source.kind() {
                // The file shrank after it was opened.
                io::ErrorKind::UnexpectedEof => StoreError::WrongLength {
                    id: self.id,
                    expected: self.size,
                    got: chunk_offset(self.next),
                },
                _ => StoreError::Io {
                    op: "read",
                    path: self.path.clone(),
                    source,
                },
            });
        }
        let pieces: Vec<&[u8]> = self.buf.chunks(CHUNK_SIZE).collect();
        let (digests, ()) = digests_while(&pieces, || ());
        let first = self.next;
        for (i, got) in digests.into_iter().enumerate() {
            let index = first + i as u64;
            let expected = self.verified.digests[index as usize];
            if got != expected {
                // Hand out the verified chunks before the bad one, then fail.
                self.buf.truncate(i * CHUNK_SIZE);
                self.next = chunks;
                let err = StoreError::Corrupt {
                    id: self.id,
                    index,
                    expected,
                    got,
                };
                if self.buf.is_empty() {
                    return Err(err);
                }
                self.poison = Some(err);
                return Ok(true);
            }
        }
        self.next = last;
        Ok(true)
    }

    fn fail(&mut self, err: StoreError) -> io::Error {
        self.poison = Some(replay(&err, &self.path));
        err.into_io()
    }
}

impl Read for FileReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            if let Some(err) = self.poison.take() {
                return Err(self.fail(err));
            }
            if out.is_empty() {
                return Ok(0);
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(err) => return Err(self.fail(err)),
            }
        }
        let n = (self.buf.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The same error again, for a reader that keeps failing.
fn replay(err: &StoreError, path: &Path) -> StoreError {
    match err {
        StoreError::Corrupt {
            id,
            index,
            expected,
            got,
        } => StoreError::Corrupt {
            id: *id,
            index: *index,
            expected: *expected,
            got: *got,
        },
        StoreError::WrongLength { id, expected, got } => StoreError::WrongLength {
            id: *id,
            expected: *expected,
            got: *got,
        },
        other => StoreError::Io {
            op: "read",
            path: path.to_path_buf(),
            source: io::Error::other(other.to_string()),
        },
    }
}

/// Checks chunk `index`'s bytes against its verified digest.
fn check_chunk(
    id: &ContentId,
    verified: &Verified,
    index: u64,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let expected = usize::try_from(index)
        .ok()
        .and_then(|i| verified.digests.get(i))
        .copied()
        .unwrap_or_default();
    let got = chunk_digest(bytes);
    if got != expected {
        return Err(StoreError::Corrupt {
            id: *id,
            index,
            expected,
            got,
        });
    }
    Ok(())
}

/// Makes a rename in `dir` durable. Directories cannot be opened for syncing everywhere; where
/// they cannot, the rename's durability is the file system's.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn key(prefix: u8, id: &ContentId) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = prefix;
    k[1..].copy_from_slice(id.as_bytes());
    k
}

fn id_of_key(k: &[u8]) -> Option<ContentId> {
    let bytes: [u8; 32] = k.get(1..)?.try_into().ok()?;
    Some(ContentId(Hash(bytes)))
}

fn decode_record(id: &ContentId, bytes: &[u8]) -> Result<Record, StoreError> {
    wes_core::decode(bytes).map_err(|e| StoreError::BadMetadata {
        id: *id,
        reason: e.to_string(),
    })
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A panic while one of these locks is held leaves nothing half-updated in memory (the
/// guarded data is `()`, a flag or a cache), so a poisoned lock is safe to keep using.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens a sled database, waiting up to two seconds for its file lock: sled's background
/// flusher keeps a dropped database locked for a moment, so reopening right after closing
/// (a restart in the same process) would otherwise fail at random.
fn open_sled(config: &sled::Config) -> Result<sled::Db, sled::Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}
