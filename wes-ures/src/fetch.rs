//! Fetching content from untrusted peers, chunk by chunk, verifying every chunk on arrival.
//!
//! [`ChunkSource`] is what a peer offers: its chunks of some content, with proofs. `wes-net`
//! implements it over its request-response protocol; [`StoreSource`] serves a local store;
//! the `testing` feature has peers that lie. [`Fetcher`] downloads a whole resource from a
//! list of sources into any [`ResourceStore`]:
//!
//! * each chunk is asked from the peers in the order given (put the best first) and checked
//!   with [`verify_chunk`] before anything is written;
//! * a peer whose chunk fails is recorded as a [`PeerFault`] (so the caller can penalise it),
//!   is not asked again during this fetch, and the chunk is asked from the next peer;
//! * a peer that does not have a chunk, or cannot be reached, is not at fault: the next peer
//!   is asked, and it may be asked again for later chunks;
//! * verified chunks are streamed into [`ResourceStore::put`]: memory use is one chunk,
//!   whatever the size of the resource.
//!
//! # Why synchronous
//!
//! The destination, [`ResourceStore::put`], is synchronous and pulls from a [`Read`]; a
//! synchronous source composes with it directly, with no runtime, channel or second copy of
//! the data, and tests run without an executor. A networked source (wes-net) implements
//! [`ChunkSource::chunk`] by sending a request to its network task and blocking on the reply,
//! and runs [`Fetcher::fetch`] on a blocking thread (`tokio::task::spawn_blocking`). The cost
//! is one chunk in flight per fetch; pipelining several requests can be added inside a
//! source without changing this interface.
//!
//! # A wrong size on chain is not the peers' fault
//!
//! The size a fetch verifies against comes from the `Resource` output, which anyone can
//! write. If it is wrong, honest chunks fail verification; before blaming a peer the fetcher
//! asks it for the size ([`ChunkSource::size`]) and, if its chunk verifies under that size,
//! stops with [`FetchError::WrongSize`] instead of penalising honest peers.

use std::io::{self, Read};

use wes_core::{Blame, Chunk, ContentId, Fault, ResourceBody, ResourceStat, ResourceStore};

use crate::content::{ChunkError, chunk_count, empty_content_id, verify_chunk};

/// Why a peer did not deliver a chunk. Never proof that the peer misbehaved: the content may
/// be elsewhere or later ([`Fault::Unavailable`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The peer does not have this chunk.
    #[error("peer does not have chunk {index} of {id}")]
    Missing {
        /// The content.
        id: ContentId,
        /// The chunk.
        index: u64,
    },
    /// The peer could not be asked or could not answer (unreachable, timed out, failing).
    #[error("peer failed to serve: {reason}")]
    Failed {
        /// What went wrong.
        reason: String,
    },
}

impl Blame for SourceError {
    fn fault(&self) -> Fault {
        Fault::Unavailable
    }
}

/// One peer's chunks. Implementations answer what they have; they need not verify it, since
/// the [`Fetcher`] does.
pub trait ChunkSource: Send + Sync {
    /// Chunk `index` of content `id` with its inclusion proof.
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError>;

    /// The size the peer claims content `id` has. Used only to tell a wrong size on chain
    /// from a lying peer; the claim is checked against the id before it is believed.
    fn size(&self, id: &ContentId) -> Result<u64, SourceError>;
}

/// Serves the chunks of a local [`ResourceStore`] (what a node answers to peers' requests).
/// Store errors become [`SourceError`]s: absent content or chunk as `Missing`, anything else
/// (such as corruption, which is never served) as `Failed`.
#[derive(Debug)]
pub struct StoreSource<'a, S: ?Sized>(pub &'a S);

impl<S: ResourceStore + ?Sized> ChunkSource for StoreSource<'_, S> {
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        self.0.chunk(id, index).map_err(|e| match e.fault() {
            Fault::Unavailable | Fault::Input => SourceError::Missing { id: *id, index },
            Fault::Local => SourceError::Failed {
                reason: e.to_string(),
            },
        })
    }

    fn size(&self, id: &ContentId) -> Result<u64, SourceError> {
        match self.0.stat(id) {
            Ok(Some(stat)) => Ok(stat.size),
            Ok(None) => Err(SourceError::Missing { id: *id, index: 0 }),
            Err(e) => Err(SourceError::Failed {
                reason: e.to_string(),
            }),
        }
    }
}

/// A peer served a chunk that does not belong to the content: evidence for penalising it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFault {
    /// The peer's position in the list given to [`Fetcher::new`].
    pub peer: usize,
    /// The chunk asked for.
    pub index: u64,
    /// Why the chunk was rejected.
    pub error: ChunkError,
}

/// What happened when one peer was asked for one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The peer did not deliver.
    Unavailable(SourceError),
    /// The peer delivered a chunk that failed verification.
    Rejected(ChunkError),
    /// The peer was not asked: it had served a bad chunk earlier in this fetch.
    Skipped,
}

/// One peer asked for one chunk, without success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The peer's position in the list given to [`Fetcher::new`].
    pub peer: usize,
    /// What happened.
    pub outcome: AttemptOutcome,
}

/// Why a fetch failed. Every variant that can follow a download carries the
/// [`PeerFault`]s recorded before the failure ([`FetchError::faults`]).
#[derive(Debug, thiserror::Error)]
pub enum FetchError<E: std::error::Error + 'static> {
    /// No peers were given.
    #[error("no peers to fetch {id} from")]
    NoPeers {
        /// The content.
        id: ContentId,
    },
    /// No peer delivered a valid copy of a chunk.
    #[error("no peer delivered a valid chunk {index} of {id} ({} attempts)", attempts.len())]
    ChunkUnavailable {
        /// The content.
        id: ContentId,
        /// The chunk.
        index: u64,
        /// Each peer's answer for this chunk.
        attempts: Vec<Attempt>,
        /// Misbehaving peers seen during the fetch.
        faults: Vec<PeerFault>,
    },
    /// The size given for the content (from its `Resource` output) is not its size: a peer
    /// proved another size against the content id.
    #[error("content {id} is registered with {registered} bytes but is {actual} bytes")]
    WrongSize {
        /// The content.
        id: ContentId,
        /// The size that was asked for.
        registered: u64,
        /// The size the content id commits to.
        actual: u64,
        /// Misbehaving peers seen during the fetch.
        faults: Vec<PeerFault>,
    },
    /// The destination store failed.
    #[error("storing fetched content: {source}")]
    Store {
        /// The store's error.
        #[source]
        source: E,
        /// Misbehaving peers seen during the fetch.
        faults: Vec<PeerFault>,
    },
    /// Every chunk verified but the store computed another id. A bug in the store or in this
    /// crate, never a peer's doing.
    #[error("fetched {expected} but the store computed {got}")]
    IdMismatch {
        /// The content asked for.
        expected: ContentId,
        /// The id the store computed.
        got: ContentId,
    },
}

impl<E: std::error::Error + Blame + 'static> Blame for FetchError<E> {
    fn fault(&self) -> Fault {
        match self {
            FetchError::NoPeers { .. } | FetchError::ChunkUnavailable { .. } => Fault::Unavailable,
            FetchError::WrongSize { .. } => Fault::Input,
            FetchError::Store { source, .. } => source.fault(),
            FetchError::IdMismatch { .. } => Fault::Local,
        }
    }
}

impl<E: std::error::Error + 'static> FetchError<E> {
    /// The misbehaving peers recorded before the fetch failed.
    pub fn faults(&self) -> &[PeerFault] {
        match self {
            FetchError::ChunkUnavailable { faults, .. }
            | FetchError::WrongSize { faults, .. }
            | FetchError::Store { faults, .. } => faults,
            FetchError::NoPeers { .. } | FetchError::IdMismatch { .. } => &[],
        }
    }
}

/// The outcome of a successful fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The stored content.
    pub stat: ResourceStat,
    /// Whether the content was stored already (then nothing was fetched).
    pub already_stored: bool,
    /// Chunks each peer delivered, by position in the peer list.
    pub served: Vec<u64>,
    /// Peers that served bad chunks (each rejected and re-requested elsewhere).
    pub faults: Vec<PeerFault>,
}

/// Downloads resources from a list of untrusted peers (see the [module docs](self)).
pub struct Fetcher<'p> {
    peers: Vec<&'p dyn ChunkSource>,
}

impl<'p> Fetcher<'p> {
    /// A fetcher asking `peers` in this order of preference.
    pub fn new(peers: impl IntoIterator<Item = &'p dyn ChunkSource>) -> Self {
        Fetcher {
            peers: peers.into_iter().collect(),
        }
    }

    /// Fetches the content a `Resource` output registers into `store`, under the output's
    /// kind and metadata, unless the store has it already. Every chunk is verified against
    /// `resource.content` and `resource.size` before it reaches the store.
    pub fn fetch<S: ResourceStore + ?Sized>(
        &self,
        resource: &ResourceBody,
        store: &S,
    ) -> Result<FetchReport, FetchError<S::Error>> {
        let id = resource.content;
        let store_err = |source| FetchError::Store {
            source,
            faults: Vec::new(),
        };
        if store.has(&id).map_err(store_err)? {
            let stat = store.stat(&id).map_err(store_err)?;
            if let Some(stat) = stat {
                return Ok(FetchReport {
                    stat,
                    already_stored: true,
                    served: vec![0; self.peers.len()],
                    faults: Vec::new(),
                });
            }
        }
        if self.peers.is_empty() {
            return Err(FetchError::NoPeers { id });
        }
        let mut download = Download {
            peers: &self.peers,
            id,
            size: resource.size,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            banned: vec![false; self.peers.len()],
            served: vec![0; self.peers.len()],
            faults: Vec::new(),
            halt: None,
        };
        // Empty content has no chunk to check its size with: probe chunk 0, which must fail
        // one way or the other (a wrong size, or no peer has it).
        if resource.size == 0
            && id != empty_content_id()
            && let Err(halt) = download.fetch_chunk(0)
        {
            return Err(download.into_error(halt));
        }
        let put = store.put(resource.kind, &resource.meta, &mut download);
        if let Some(halt) = download.halt.take() {
            return Err(download.into_error(halt));
        }
        let stat = put.map_err(|source| FetchError::Store {
            source,
            faults: download.faults.clone(),
        })?;
        if stat.id != id {
            return Err(FetchError::IdMismatch {
                expected: id,
                got: stat.id,
            });
        }
        Ok(FetchReport {
            stat,
            already_stored: false,
            served: download.served,
            faults: download.faults,
        })
    }
}

/// Why a download stopped.
enum Halt {
    ChunkUnavailable { index: u64, attempts: Vec<Attempt> },
    WrongSize { actual: u64 },
}

/// A [`Read`] over the content that fetches and verifies one chunk at a time.
struct Download<'f, 'p> {
    peers: &'f [&'p dyn ChunkSource],
    id: ContentId,
    size: u64,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
    banned: Vec<bool>,
    served: Vec<u64>,
    faults: Vec<PeerFault>,
    halt: Option<Halt>,
}

impl Download<'_, '_> {
    fn fetch_chunk(&mut self, index: u64) -> Result<Vec<u8>, Halt> {
        let mut attempts = Vec::new();
        for (p, peer) in self.peers.iter().enumerate() {
            if self.banned[p] {
                attempts.push(Attempt {
                    peer: p,
                    outcome: AttemptOutcome::Skipped,
                });
                continue;
            }
            let chunk = match peer.chunk(&self.id, index) {
                Ok(chunk) => chunk,
                Err(e) => {
                    attempts.push(Attempt {
                        peer: p,
                        outcome: AttemptOutcome::Unavailable(e),
                    });
                    continue;
                }
            };
            let verdict = if chunk.index != index {
                Err(ChunkError::ProofIndex {
                    expected: index,
                    got: chunk.index,
                })
            } else {
                verify_chunk(&self.id, self.size, index, &chunk.bytes, &chunk.proof)
            };
            let error = match verdict {
                Ok(()) => {
                    self.served[p] += 1;
                    return Ok(chunk.bytes);
                }
                Err(error) => error,
            };
            // Before blaming the peer: is it the registered size that is wrong?
            if let Ok(actual) = peer.size(&self.id)
                && actual != self.size
                && chunk.index == index
                && verify_chunk(&self.id, actual, index, &chunk.bytes, &chunk.proof).is_ok()
            {
                return Err(Halt::WrongSize { actual });
            }
            self.banned[p] = true;
            self.faults.push(PeerFault {
                peer: p,
                index,
                error: error.clone(),
            });
            attempts.push(Attempt {
                peer: p,
                outcome: AttemptOutcome::Rejected(error),
            });
        }
        Err(Halt::ChunkUnavailable { index, attempts })
    }

    fn into_error<E: std::error::Error + 'static>(self, halt: Halt) -> FetchError<E> {
        match halt {
            Halt::ChunkUnavailable { index, attempts } => FetchError::ChunkUnavailable {
                id: self.id,
                index,
                attempts,
                faults: self.faults,
            },
            Halt::WrongSize { actual } => FetchError::WrongSize {
                id: self.id,
                registered: self.size,
                actual,
                faults: self.faults,
            },
        }
    }
}

impl Read for Download<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.halt.is_some() {
            return Err(io::Error::other("fetch halted"));
        }
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.buf.len() {
            if self.next >= chunk_count(self.size) {
                return Ok(0);
            }
            match self.fetch_chunk(self.next) {
                Ok(bytes) => {
                    self.buf = bytes;
                    self.pos = 0;
                    self.next += 1;
                }
                Err(halt) => {
                    self.halt = Some(halt);
                    return Err(io::Error::other("fetch halted"));
                }
            }
        }
        let n = (self.buf.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
