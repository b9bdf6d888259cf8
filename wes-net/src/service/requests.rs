//! The request-response protocol's events: requests this node sends (statuses, sync,
//! candidates, the handle's own) with what waits for each answer, their answers, failures
//! and timeouts routed back; requests peers send go to `serve`.

use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::request_response;
use tokio::sync::oneshot;
use wes_core::{BlockHash, codec};

use super::Service;
use crate::codec::FrameTooLarge;
use crate::compact::PartialBlock;
use crate::error::NetError;
use crate::peers::Offence;
use crate::protocol::{Request, Response};

/// What waits for an outbound request's answer.
pub(super) enum Pending {
    /// The handle's [`request`](super::NetworkHandle::request).
    Reply(oneshot::Sender<Result<Response, NetError>>),
    Status,
    /// Headers for the sync of this epoch.
    Headers(u64),
    /// Bodies for the sync of this epoch, those asked for.
    Blocks(u64, Vec<BlockHash>),
    Candidate,
    /// Transactions for a compact block from gossip (message `id`), at the positions asked.
    BlockTransactions {
        partial: Box<PartialBlock>,
        asked: Vec<u32>,
        id: MessageId,
    },
}

impl Service {
    pub(super) fn send_request(&mut self, peer: PeerId, request: &Request, pending: Pending) {
        let id = self
            .swarm
            .behaviour_mut()
            .rr
            .send_request(&peer, codec::encode(request));
        self.pending.insert(id, pending);
    }

    /// The handle's request: sent if `peer` is connected.
    pub(super) fn request(
        &mut self,
        peer: PeerId,
        request: &Request,
        reply: oneshot::Sender<Result<Response, NetError>>,
    ) {
        if !self.swarm.is_connected(&peer) {
            let _ = reply.send(Err(NetError::NotConnected(peer.to_string())));
            return;
        }
        self.send_request(peer, request, Pending::Reply(reply));
    }

    pub(super) fn on_rr(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.on_request(peer, &request, channel),
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(pending) = self.pending.remove(&request_id) else {
                    return;
                };
                let limit = self.config.limits.max_response_bytes;
                match codec::decode_with_limit::<Response>(&response, limit) {
                    Ok(r) => self.on_response(peer, pending, r, response.len()),
                    Err(e) => {
                        self.penalise(peer, Offence::Malformed, &e.to_string());
                        self.fail(peer, pending, NetError::Decode(e.to_string()));
                    }
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                match &error {
                    request_response::OutboundFailure::Io(e) if is_oversize(e) => {
                        self.penalise(peer, Offence::Oversize, &e.to_string())
                    }
                    // Only requests a peer answers at once count: a candidate waits for the
                    // aggregator's import, a chunk may be large on a slow link.
                    request_response::OutboundFailure::Timeout
                        if matches!(
                            self.pending.get(&request_id),
                            Some(
                                Pending::Status
                                    | Pending::Headers(_)
                                    | Pending::Blocks(..)
                                    | Pending::BlockTransactions { .. }
                            )
                        ) =>
                    {
                        self.penalise(peer, Offence::Unresponsive, "request timed out")
                    }
                    _ => {}
                }
                if let Some(p) = self.pending.remove(&request_id) {
                    self.fail(peer, p, NetError::Request(error.to_string()));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                if let request_response::InboundFailure::Io(e) = &error
                    && is_oversize(e)
                {
                    self.penalise(peer, Offence::Oversize, &e.to_string());
                }
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn fail(&mut self, peer: PeerId, pending: Pending, error: NetError) {
        match pending {
            Pending::Reply(reply) => {
                let _ = reply.send(Err(error));
            }
            Pending::Headers(epoch) | Pending::Blocks(epoch, _) => {
                tracing::debug!(%peer, "sync request failed: {error}");
                if self.sync.is_current(&peer, epoch) {
                    self.abandon_sync(peer);
                }
            }
            Pending::BlockTransactions { id, partial, .. } => {
                tracing::debug!(%peer, "block transactions request failed: {error}");
                // A block whose transactions did not come is nothing to wait for.
                self.handle.forget_heard_block(&partial.hash());
                self.report(&id, &peer, MessageAcceptance::Ignore);
            }
            Pending::Status | Pending::Candidate => {}
        }
    }

    fn on_response(&mut self, peer: PeerId, pending: Pending, response: Response, size: usize) {
        match (pending, response) {
            (Pending::Reply(reply), r) => {
                let _ = reply.send(Ok(r));
            }
            (Pending::Status, Response::Status(s)) => self.on_status(peer, s),
            (Pending::Headers(epoch), Response::Headers(headers)) => {
                if self.sync.is_current(&peer, epoch) {
                    self.on_headers(peer, headers)
                }
            }
            (Pending::Blocks(epoch, asked), Response::Blocks(blocks)) => {
                if self.sync.is_current(&peer, epoch) {
                    self.on_blocks(peer, asked, blocks)
                }
            }
            (Pending::Candidate, Response::Candidate { best }) => {
                self.on_candidate_answer(peer, best)
            }
            (
                Pending::BlockTransactions { partial, asked, id },
                Response::BlockTransactions(txs),
            ) => self.on_block_transactions(peer, (partial, asked, id), txs, size),
            (pending, other) => {
                if let Pending::BlockTransactions { id, partial, .. } = pending {
                    self.handle.forget_heard_block(&partial.hash());
                    self.report(&id, &peer, MessageAcceptance::Ignore);
                }
                self.penalise(
                    peer,
                    Offence::BadSyncResponse,
                    &format!("unexpected response {}", response_kind(&other)),
                )
            }
        }
    }
}

/// Whether an I/O error is a frame over the size limit (the peer's fault).
fn is_oversize(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameTooLarge>())
        .is_some()
}

fn response_kind(r: &Response) -> &'static str {
    match r {
        Response::Status(_) => "status",
        Response::Headers(_) => "headers",
        Response::Blocks(_) => "blocks",
        Response::Chunk(_) => "chunk",
        Response::Size(_) => "size",
        Response::Candidate { .. } => "candidate",
        Response::BlockTransactions(_) => "block transactions",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn only_oversize_frames_are_oversize() {
        let oversize = io::Error::new(
            io::ErrorKind::InvalidData,
            FrameTooLarge { len: 10, max: 5 },
        );
        assert!(is_oversize(&oversize));
        let garbage = io::Error::new(io::ErrorKind::InvalidData, "frame of 10 bytes");
        assert!(!is_oversize(&garbage));
        assert!(!is_oversize(&io::Error::from(io::ErrorKind::UnexpectedEof)));
    }
}
