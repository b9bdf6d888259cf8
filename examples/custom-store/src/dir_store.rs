//! A resource store written outside the SDK: [`DirStore`], a plain directory of files,
//! implementing [`wes_core::ResourceStore`] — where a chain keeps its contracts, models and
//! files.
//!
//! Layout under the root:
//! - `objects/<content id>`: the bytes, as uploaded;
//! - `objects/<content id>.meta`: kind, metadata, size and the digest of every chunk
//!   (canonical encoding), written before the bytes are moved into place;
//! - `pins/<content id>`: the pin count, in decimal;
//! - `tmp/`: uploads in progress.
//!
//! Ids and chunk proofs come from `wes_ures`'s content addressing, so peers can check what
//! this store serves. Every read is verified chunk by chunk against the recorded digests,
//! whose Merkle root is the content id: a file changed on disk is reported, never returned.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use wes_core::{
    Blame, Chunk, ContentId, Fault, GcReport, Hash, ResourceKind, ResourceMeta, ResourceStat,
    ResourceStore, codec,
};
use wes_ures::{CHUNK_SIZE, ContentDigest, ContentHasher, chunk_digest, content_id_from_digests};

/// Why the directory store failed, with the content concerned.
#[derive(Debug, thiserror::Error)]
pub enum DirStoreError {
    /// The content is not stored.
    #[error("{0} is not stored")]
    NotFound(ContentId),
    /// A chunk past the end was asked for.
    #[error("{id} has {chunks} chunks, there is no chunk {index}")]
    ChunkOutOfRange {
        /// The content.
        id: ContentId,
        /// Its chunk count.
        chunks: u64,
        /// The chunk asked for.
        index: u64,
    },
    /// Unpinning content that is not pinned.
    #[error("{0} is not pinned")]
    NotPinned(ContentId),
    /// The upload's source failed.
    #[error("reading the upload: {0}")]
    Source(io::Error),
    /// The stored bytes or description do not match the content id.
    #[error("{id} is corrupt on disk: {what}")]
    Corrupt {
        /// The content.
        id: ContentId,
        /// What does not match.
        what: String,
    },
    /// The file system failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: io::Error,
    },
}

impl Blame for DirStoreError {
    fn fault(&self) -> Fault {
        match self {
            DirStoreError::NotFound(_) | DirStoreError::Source(_) => Fault::Unavailable,
            DirStoreError::ChunkOutOfRange { .. } | DirStoreError::NotPinned(_) => Fault::Input,
            DirStoreError::Corrupt { .. } | DirStoreError::Io { .. } => Fault::Local,
        }
    }
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> DirStoreError {
    let what = what.into();
    move |source| DirStoreError::Io { what, source }
}

/// What `<id>.meta` holds.
#[derive(Serialize, Deserialize)]
struct Description {
    kind: ResourceKind,
    meta: ResourceMeta,
    size: u64,
    digests: Vec<Hash>,
}

/// A content-addressed store in a plain directory.
pub struct DirStore {
    root: PathBuf,
    /// Serialises pin-count updates and collection.
    pins: Mutex<()>,
    uploads: AtomicU64,
}

impl DirStore {
    /// Opens (or creates) the store in `root`.
    ///
    /// # Errors
    /// The directories cannot be created.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, DirStoreError> {
        let root = root.as_ref().to_path_buf();
        for sub in ["objects", "pins", "tmp"] {
            fs::create_dir_all(root.join(sub)).map_err(io_err(format!("create {sub}/")))?;
        }
        Ok(DirStore {
            root,
            pins: Mutex::new(()),
            uploads: AtomicU64::new(0),
        })
    }

    fn object(&self, id: &ContentId) -> PathBuf {
        self.root.join("objects").join(id.to_string())
    }

    fn description_path(&self, id: &ContentId) -> PathBuf {
        self.root.join("objects").join(format!("{id}.meta"))
    }

    fn pin_path(&self, id: &ContentId) -> PathBuf {
        self.root.join("pins").join(id.to_string())
    }

    fn pin_count(&self, id: &ContentId) -> Result<u64, DirStoreError> {
        match fs::read_to_string(self.pin_path(id)) {
            Ok(s) => s.trim().parse().map_err(|_| DirStoreError::Corrupt {
                id: *id,
                what: format!("pin count {s:?}"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io_err("read a pin count")(e)),
        }
    }

    fn set_pin_count(&self, id: &ContentId, n: u64) -> Result<(), DirStoreError> {
        let path = self.pin_path(id);
        if n == 0 {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("unpin")(e)),
                _ => Ok(()),
            };
        }
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, n.to_string()).map_err(io_err("write a pin count"))?;
        fs::rename(&tmp, &path).map_err(io_err("write a pin count"))
    }

    /// The description of `id`, checked against the id; `None` if not stored.
    fn description(&self, id: &ContentId) -> Result<Option<Description>, DirStoreError> {
        let bytes = match fs::read(self.description_path(id)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read a description")(e)),
        };
        if !self.object(id).exists() {
            return Ok(None);
        }
        let d: Description = codec::decode(&bytes).map_err(|e| DirStoreError::Corrupt {
            id: *id,
            what: format!("description: {e}"),
        })?;
        if content_id_from_digests(d.size, &d.digests) != *id {
            return Err(DirStoreError::Corrupt {
                id: *id,
                what: "the chunk digests do not give the content id".into(),
            });
        }
        Ok(Some(d))
    }

    fn stat_of(&self, id: &ContentId, d: &Description) -> Result<ResourceStat, DirStoreError> {
        Ok(ResourceStat {
            id: *id,
            size: d.size,
            chunks: d.digests.len() as u64,
            pinned: self.pin_count(id)? > 0,
            kind: d.kind,
            meta: d.meta.clone(),
        })
    }

    /// Reads chunk `index` of `file` and checks it against its digest.
    fn read_chunk(
        id: &ContentId,
        d: &Description,
        file: &mut File,
        index: u64,
    ) -> Result<Vec<u8>, DirStoreError> {
        let start = index * CHUNK_SIZE as u64;
        let len = (d.size - start).min(CHUNK_SIZE as u64) as usize;
        let mut bytes = vec![0; len];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| DirStoreError::Corrupt {
                id: *id,
                what: format!("chunk {index}: {e}"),
            })?;
        if chunk_digest(&bytes) != d.digests[index as usize] {
            return Err(DirStoreError::Corrupt {
                id: *id,
                what: format!("chunk {index} does not match its digest"),
            });
        }
        Ok(bytes)
    }
}

/// Reads an object chunk by chunk, each verified before any of its bytes are returned.
struct VerifiedReader {
    id: ContentId,
    description: Description,
    file: File,
    next: u64,
    buffer: io::Cursor<Vec<u8>>,
}

impl Read for VerifiedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.buffer.read(buf)?;
            if n > 0 || buf.is_empty() || self.next == self.description.digests.len() as u64 {
                return Ok(n);
            }
            let chunk =
                DirStore::read_chunk(&self.id, &self.description, &mut self.file, self.next)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            self.next += 1;
            self.buffer = io::Cursor::new(chunk);
        }
    }
}

impl ResourceStore for DirStore {
    type Error = DirStoreError;

    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, DirStoreError> {
        let n = self.uploads.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{}-{n}", std::process::id()));
        let result = (|| {
            let mut file = File::create(&tmp).map_err(io_err("create an upload file"))?;
            let mut hasher = ContentHasher::new();
            let mut buf = vec![0; 64 * 1024];
            loop {
                let read = match data.read(&mut buf) {
                    Ok(0) => break,
                    Ok(read) => read,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(DirStoreError::Source(e)),
                };
                hasher.update(&buf[..read]);
                file.write_all(&buf[..read])
                    .map_err(io_err("write an upload"))?;
            }
            file.sync_all().map_err(io_err("sync an upload"))?;
            let ContentDigest { id, size, digests } = hasher.finalize();
            let description = Description {
                kind,
                meta: meta.clone(),
                size,
                digests,
            };
            // The description first (replacing an older one), then the bytes: content is
            // stored once it has both.
            let desc_tmp = tmp.with_extension("meta");
            fs::write(&desc_tmp, codec::encode(&description))
                .map_err(io_err("write a description"))?;
            fs::rename(&desc_tmp, self.description_path(&id))
                .map_err(io_err("store a description"))?;
            if self.object(&id).exists() {
                let _ = fs::remove_file(&tmp);
            } else {
                fs::rename(&tmp, self.object(&id)).map_err(io_err("store an object"))?;
            }
            self.stat_of(&id, &description)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, DirStoreError> {
        let description = self.description(id)?.ok_or(DirStoreError::NotFound(*id))?;
        let file = match File::open(self.object(id)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(DirStoreError::NotFound(*id));
            }
            Err(e) => return Err(io_err("open an object")(e)),
        };
        Ok(Box::new(VerifiedReader {
            id: *id,
            description,
            file,
            next: 0,
            buffer: io::Cursor::new(Vec::new()),
        }))
    }

    fn has(&self, id: &ContentId) -> Result<bool, DirStoreError> {
        Ok(self.description(id)?.is_some())
    }

    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, DirStoreError> {
        self.description(id)?
            .map(|d| self.stat_of(id, &d))
            .transpose()
    }

    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, DirStoreError> {
        let d = self.description(id)?.ok_or(DirStoreError::NotFound(*id))?;
        let chunks = d.digests.len() as u64;
        if index >= chunks {
            return Err(DirStoreError::ChunkOutOfRange {
                id: *id,
                chunks,
                index,
            });
        }
        let mut file = File::open(self.object(id)).map_err(io_err("open an object"))?;
        let bytes = Self::read_chunk(id, &d, &mut file, index)?;
        let digest = ContentDigest {
            id: *id,
            size: d.size,
            digests: d.digests,
        };
        let proof = digest.proof(index).ok_or(DirStoreError::ChunkOutOfRange {
            id: *id,
            chunks,
            index,
        })?;
        Ok(Chunk {
            index,
            bytes,
            proof,
        })
    }

    fn pin(&self, id: &ContentId) -> Result<(), DirStoreError> {
        let _guard = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        let n = self.pin_count(id)?;
        self.set_pin_count(id, n + 1)
    }

    fn unpin(&self, id: &ContentId) -> Result<(), DirStoreError> {
        let _guard = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        match self.pin_count(id)? {
            0 => Err(DirStoreError::NotPinned(*id)),
            n => self.set_pin_count(id, n - 1),
        }
    }

    fn pins(&self) -> Result<Vec<(ContentId, u64)>, DirStoreError> {
        let _guard = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        let mut pins = Vec::new();
        let entries = match fs::read_dir(self.root.join("pins")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(pins),
            Err(e) => return Err(io_err("list pins")(e)),
        };
        for entry in entries {
            let name = entry.map_err(io_err("list pins"))?.file_name();
            // Skips a count being rewritten (`<id>.tmp`): its old file is still there.
            let Some(id) = name.to_str().and_then(|n| n.parse::<ContentId>().ok()) else {
                continue;
            };
            let n = self.pin_count(&id)?;
            if n > 0 {
                pins.push((id, n));
            }
        }
        Ok(pins)
    }

    fn collect_garbage(&self) -> Result<GcReport, DirStoreError> {
        let _guard = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = GcReport::default();
        let entries = fs::read_dir(self.root.join("objects")).map_err(io_err("list objects"))?;
        for entry in entries {
            let entry = entry.map_err(io_err("list objects"))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.parse::<ContentId>().ok()) else {
                continue; // descriptions
            };
            if self.pin_count(&id)? > 0 {
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            // An open reader keeps its file: removing the name does not close it.
            fs::remove_file(entry.path()).map_err(io_err("remove an object"))?;
            let _ = fs::remove_file(self.description_path(&id));
            report.removed += 1;
            report.bytes_freed += size;
        }
        Ok(report)
    }
}
