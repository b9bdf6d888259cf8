//! The swarm task's loop: swarm events, the handle's commands, feedback from the import
//! worker and the serving threads, and the status tick, each dispatched to the concern that
//! handles it.

use futures::StreamExt;
use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use libp2p::request_response::ResponseChannel;
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, kad};
use tokio::sync::mpsc;

use super::Service;
use super::handle::Command;
use super::import::Origin;
use super::swarm::BehaviourEvent;
use super::sync::HeadersChecked;
use crate::backend::{Imported, Rejection};
use crate::compact::PartialBlock;
use crate::protocol::{IDENTIFY_PROTOCOL, Response};
use wes_core::SignedTransaction;

/// What the import worker and the blocking threads send back to the swarm task.
pub(super) enum Feedback {
    Block {
        from: PeerId,
        origin: Origin,
        result: Result<Imported, Rejection>,
    },
    /// A gossiped batch of transactions imported, one result per transaction.
    Txs {
        from: PeerId,
        id: MessageId,
        txs: Vec<SignedTransaction>,
        results: Vec<Result<bool, Rejection>>,
    },
    /// A compact block from gossip lacks the transactions at `asked`.
    Missing {
        partial: Box<PartialBlock>,
        asked: Vec<u32>,
        from: PeerId,
        id: MessageId,
    },
    Headers {
        peer: PeerId,
        epoch: u64,
        result: HeadersChecked,
    },
    Respond {
        channel: ResponseChannel<Vec<u8>>,
        response: Response,
        /// Held until the response is handed to the swarm, so the serving limit also
        /// bounds responses waiting in the feedback queue.
        _permit: tokio::sync::OwnedSemaphorePermit,
    },
}

impl Service {
    /// Runs until the handle says `Command::Shutdown` or every handle is dropped.
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut feedback: mpsc::Receiver<Feedback>,
    ) {
        let mut tick = tokio::time::interval(self.config.status_interval);
        let mut ticks = 0u64;
        let mut flush = tokio::time::interval(self.config.tx_batch_interval);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event),
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(c) => self.on_command(c),
                },
                Some(fb) = feedback.recv() => self.on_feedback(fb),
                _ = tick.tick() => {
                    ticks += 1;
                    self.on_tick(ticks);
                }
                _ = flush.tick() => self.flush_relay(),
            }
        }
        tracing::debug!("network stopped");
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Rr(e)) => self.on_rr(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if info.protocol_version != IDENTIFY_PROTOCOL {
                    return;
                }
                self.on_identified(peer_id, info.listen_addrs);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, ..
            })) => self.maybe_dial(peer),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => self.on_connected(peer_id, num_established.get(), &endpoint),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "disconnected");
                self.forget(&peer_id);
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                let addr = address.with_p2p(self.handle.peer_id).unwrap_or_else(|a| a);
                let mut l = self.handle.listen.lock().unwrap_or_else(|e| e.into_inner());
                if !l.contains(&addr) {
                    l.push(addr);
                }
            }
            _ => {}
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Relay(txs) => self.relay(txs),
            Command::Announce { block, compact } => self.announce(block, compact),
            Command::Request {
                peer,
                request,
                reply,
            } => self.request(peer, &request, reply),
            Command::Penalise(peer, offence) => {
                self.penalise(peer, offence, "reported by the node")
            }
            Command::Info(reply) => {
                let _ = reply.send(self.info());
            }
            Command::SetBlocked(peer, blocked) => self.set_blocked(peer, blocked),
            Command::Dial(addr) => {
                if let Err(e) = self.swarm.dial(addr) {
                    tracing::warn!("dial: {e}");
                }
            }
            Command::Shutdown => {}
        }
    }

    fn on_feedback(&mut self, feedback: Feedback) {
        match feedback {
            Feedback::Respond {
                channel, response, ..
            } => self.respond(channel, &response),
            Feedback::Headers {
                peer,
                epoch,
                result,
            } => self.on_headers_checked(peer, epoch, result),
            Feedback::Txs {
                from,
                id,
                txs,
                results,
            } => self.on_txs_imported(from, &id, txs, results),
            Feedback::Missing {
                partial,
                asked,
                from,
                id,
            } => self.request_missing(partial, asked, from, id),
            Feedback::Block {
                from,
                origin,
                result,
            } => self.on_imported(from, origin, result),
        }
    }

    fn on_tick(&mut self, ticks: u64) {
        self.lift_expired_bans();
        self.sync.expire_backoff(Self::now());
        // Refresh statuses: a peer that got ahead without us hearing its blocks is found
        // here, and sync starts from it.
        self.refresh_statuses();
        if self.swarm.connected_peers().next().is_none() {
            for addr in self.config.bootnodes.clone() {
                let _ = self.swarm.dial(addr);
            }
        }
        if ticks % 15 == 1 {
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        self.abandon_stalled_sync();
    }
}
