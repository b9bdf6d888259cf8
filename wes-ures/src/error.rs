//! The stores' error type.

use std::io;
use std::path::PathBuf;

use wes_core::{Blame, ContentId, Fault, Hash};

/// Why a store operation failed. [`Blame`] says whose fault it is:
///
/// | fault | variants |
/// |---|---|
/// | [`Fault::Unavailable`] | [`NotFound`](StoreError::NotFound), [`Source`](StoreError::Source), [`DiskFull`](StoreError::DiskFull) |
/// | [`Fault::Input`] | [`ChunkOutOfRange`](StoreError::ChunkOutOfRange), [`NotPinned`](StoreError::NotPinned) |
/// | [`Fault::Local`] | everything else: corruption, I/O, the metadata database, a failed store |
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The content is not stored (it may be fetched later).
    #[error("content {id} is not stored")]
    NotFound {
        /// The content asked for.
        id: ContentId,
    },
    /// The content has no chunk at this index.
    #[error("content {id} has {chunks} chunks, there is no chunk {index}")]
    ChunkOutOfRange {
        /// The content.
        id: ContentId,
        /// The chunk asked for.
        index: u64,
        /// How many chunks it has.
        chunks: u64,
    },
    /// A stored chunk's bytes do not hash to the digest the content id commits to: the storage
    /// medium corrupted them. The bytes are not returned.
    #[error(
        "chunk {index} of {id} is corrupt: expected digest {expected}, the stored bytes hash to {got}"
    )]
    Corrupt {
        /// The content.
        id: ContentId,
        /// The corrupt chunk.
        index: u64,
        /// The digest the content id commits to.
        expected: Hash,
        /// The digest of the bytes found.
        got: Hash,
    },
    /// The stored content file has the wrong length (truncated or extended on disk).
    #[error("stored content {id} is {got} bytes on disk, expected {expected}")]
    WrongLength {
        /// The content.
        id: ContentId,
        /// Its size.
        expected: u64,
        /// The length found.
        got: u64,
    },
    /// The store's metadata does not match the content id it is kept under, or cannot be
    /// decoded.
    #[error("metadata of {id} is damaged: {reason}")]
    BadMetadata {
        /// The content whose metadata is damaged.
        id: ContentId,
        /// What is wrong with it.
        reason: String,
    },
    /// The store directory holds something other than a store of this format.
    #[error("{path} is not a wes-ures store of format {expected}: {reason}")]
    BadFormat {
        /// The store directory.
        path: PathBuf,
        /// The format this version reads.
        expected: &'static str,
        /// What was found.
        reason: String,
    },
    /// `unpin` of content that is not pinned.
    #[error("content {id} is not pinned")]
    NotPinned {
        /// The content.
        id: ContentId,
    },
    /// Reading the bytes to store failed (the caller's reader, e.g. an upload or a download,
    /// broke off). Nothing was stored.
    #[error("reading the data to store failed: {source}")]
    Source {
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// A file-system operation of the store failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What the store was doing.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The file system holding the store has too little space left: the put stopped
    /// before it would leave less than the store's reserve free, and stored nothing. The
    /// store stays usable.
    #[error(
        "disk full: {available} bytes free under {}, {needed} needed (the next write and the reserve kept free); nothing was stored",
        path.display()
    )]
    DiskFull {
        /// The store's directory.
        path: PathBuf,
        /// Bytes free for the store's user.
        available: u64,
        /// Bytes the next write needed free: its size plus the store's reserve.
        needed: u64,
    },
    /// The metadata database failed.
    #[error("metadata database: {0}")]
    Db(#[from] sled::Error),
    /// An earlier write failed, so the store refuses further writes until it is reopened
    /// (reopening cleans up what the failed write left).
    #[error("the store refuses writes after an earlier failed write: {reason}")]
    Failed {
        /// The earlier failure.
        reason: String,
    },
}

impl Blame for StoreError {
    fn fault(&self) -> Fault {
        match self {
            StoreError::NotFound { .. }
            | StoreError::Source { .. }
            | StoreError::DiskFull { .. } => Fault::Unavailable,
            StoreError::ChunkOutOfRange { .. } | StoreError::NotPinned { .. } => Fault::Input,
            StoreError::Corrupt { .. }
            | StoreError::WrongLength { .. }
            | StoreError::BadMetadata { .. }
            | StoreError::BadFormat { .. }
            | StoreError::Io { .. }
            | StoreError::Db(_)
            | StoreError::Failed { .. } => Fault::Local,
        }
    }

    fn rule(&self) -> Option<&'static str> {
        match self {
            StoreError::DiskFull { .. } => Some("disk_full"),
            _ => None,
        }
    }
}

impl StoreError {
    /// Whether this error reports bytes or metadata damaged on the storage medium.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. }
                | StoreError::WrongLength { .. }
                | StoreError::BadMetadata { .. }
        )
    }

    /// Recovers the store error from an error returned by a reader of [`crate::ResourceStore::open`]:
    /// a verification failure comes back as itself; any other I/O error as
    /// [`StoreError::Io`] about `path`.
    pub fn from_read(err: io::Error, path: impl Into<PathBuf>) -> StoreError {
        match err.downcast::<StoreError>() {
            Ok(store) => store,
            Err(err) => StoreError::Io {
                op: "read",
                path: path.into(),
                source: err,
            },
        }
    }

    /// Wraps this error for returning from `Read::read`: verification failures as
    /// `InvalidData`, everything else as `Other`.
    pub(crate) fn into_io(self) -> io::Error {
        let kind = if self.is_corruption() {
            io::ErrorKind::InvalidData
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, self)
    }
}
