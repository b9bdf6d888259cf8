//! Peers as URES chunk sources: [`PeerSource`] implements [`wes_ures::ChunkSource`] over the
//! request-response protocol, so [`wes_ures::Fetcher`] downloads resources from the network
//! with every chunk verified against its content id.

use std::time::Instant;

use libp2p::PeerId;
use wes_core::{Chunk, ContentId};
use wes_ures::{ChunkSource, SourceError};

use crate::protocol::{Request, Response};
use crate::service::NetworkHandle;

/// One connected peer's chunks. Blocking: use it from a thread outside the async runtime
/// (the import worker, `spawn_blocking`).
#[derive(Debug, Clone)]
pub struct PeerSource {
    net: NetworkHandle,
    peer: PeerId,
    deadline: Option<Instant>,
}

impl PeerSource {
    /// Chunks of `peer`, asked through `net`.
    pub fn new(net: NetworkHandle, peer: PeerId) -> Self {
        PeerSource {
            net,
            peer,
            deadline: None,
        }
    }

    /// Asks nothing after `deadline` (a request already sent still runs to its timeout), so a
    /// slow peer cannot hold a download forever.
    pub fn until(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The peer.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    fn ask(&self, request: Request) -> Result<Response, SourceError> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SourceError::Failed {
                reason: "the download's deadline passed".into(),
            });
        }
        self.net
            .request_blocking(self.peer, request)
            .map_err(|e| SourceError::Failed {
                reason: e.to_string(),
            })
    }
}

impl ChunkSource for PeerSource {
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        match self.ask(Request::Chunk { id: *id, index })? {
            Response::Chunk(Some(c)) => Ok(c.into()),
            Response::Chunk(None) => Err(SourceError::Missing { id: *id, index }),
            _ => Err(SourceError::Failed {
                reason: "answered a chunk request with something else".into(),
            }),
        }
    }

    fn size(&self, id: &ContentId) -> Result<u64, SourceError> {
        match self.ask(Request::Size { id: *id })? {
            Response::Size(Some(s)) => Ok(s),
            Response::Size(None) => Err(SourceError::Missing { id: *id, index: 0 }),
            _ => Err(SourceError::Failed {
                reason: "answered a size request with something else".into(),
            }),
        }
    }
}
