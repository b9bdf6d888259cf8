//! The [`PeerBook`](crate::peers::PeerBook) applied to the swarm: penalties and bans (and
//! their expiry), connections accepted or refused, addresses learnt from identify and dialled,
//! the operator's blocks, and the peers [`NetInfo`] reports.

use libp2p::core::ConnectedPoint;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId};

use super::requests::Pending;
use super::{NetInfo, PeerInfo, Service};
use crate::peers::{Offence, Verdict};
use crate::protocol::Request;

impl Service {
    /// Charges `offence` to `peer`; a peer whose score falls to the threshold is
    /// disconnected and refused (block list and gossip blacklist) until its ban expires.
    pub(super) fn penalise(&mut self, peer: PeerId, offence: Offence, why: &str) {
        match self.book.penalise(peer, offence, Self::now()) {
            Verdict::Keep(score) => {
                tracing::info!(%peer, ?offence, score, "peer penalised: {why}");
            }
            Verdict::Ban(_) => {
                tracing::warn!(%peer, ?offence, "peer banned: {why}");
                self.swarm.behaviour_mut().blocked.block_peer(peer);
                self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
                self.forget(&peer);
            }
            Verdict::AlreadyBanned => {}
        }
    }

    /// Drops what is known of a peer that left: its status, and the sync from it.
    pub(super) fn forget(&mut self, peer: &PeerId) {
        if self.statuses.remove(peer).is_some() {
            self.handle.set_chain_peers(self.statuses.keys().copied());
        }
        self.sync.forget(peer);
    }

    /// Identify told `peer`'s listen addresses: Kademlia learns them, and they are kept
    /// for dialling (for a bounded number of peers).
    pub(super) fn on_identified(&mut self, peer_id: PeerId, listen_addrs: Vec<Multiaddr>) {
        let addrs: Vec<Multiaddr> = listen_addrs.into_iter().take(8).collect();
        for a in &addrs {
            self.swarm
                .behaviour_mut()
                .kad
                .add_address(&peer_id, a.clone());
        }
        if self.addresses.len() < 4 * self.config.max_peers || self.addresses.contains_key(&peer_id)
        {
            self.addresses.insert(peer_id, addrs);
        }
    }

    /// A connection is up (`num_established` with this peer now): refused if the peer is
    /// banned, blocked or one too many; on the first, statuses are exchanged.
    pub(super) fn on_connected(
        &mut self,
        peer_id: PeerId,
        num_established: u32,
        endpoint: &ConnectedPoint,
    ) {
        let now = Self::now();
        if self.book.is_banned(&peer_id, now) || self.admin_blocked.contains(&peer_id) {
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return;
        }
        if self.swarm.connected_peers().count() > self.config.max_peers {
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return;
        }
        if endpoint.is_dialer() {
            self.swarm
                .behaviour_mut()
                .kad
                .add_address(&peer_id, endpoint.get_remote_address().clone());
        }
        if num_established == 1 {
            tracing::debug!(peer = %peer_id, "connected");
            let status = self.our_status();
            self.send_request(peer_id, &Request::Status(status), Pending::Status);
        }
    }

    /// Dials `peer` at the addresses identify gave, unless it is us, connected, banned,
    /// blocked, or the node has all the peers it wants.
    pub(super) fn maybe_dial(&mut self, peer: PeerId) {
        let now = Self::now();
        if peer == self.handle.peer_id
            || self.swarm.is_connected(&peer)
            || self.book.is_banned(&peer, now)
            || self.admin_blocked.contains(&peer)
            || self.swarm.connected_peers().count() >= self.config.max_peers
        {
            return;
        }
        let addrs = self.addresses.get(&peer).cloned().unwrap_or_default();
        let opts = DialOpts::peer_id(peer).addresses(addrs).build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, "dial failed: {e}");
        }
    }

    /// The operator blocks `peer` (disconnected and refused) or lifts the block (dialled
    /// again, unless it is banned).
    pub(super) fn set_blocked(&mut self, peer: PeerId, blocked: bool) {
        if blocked {
            self.admin_blocked.insert(peer);
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.forget(&peer);
        } else {
            self.admin_blocked.remove(&peer);
            if !self.book.is_banned(&peer, Self::now()) {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                self.maybe_dial(peer);
            }
        }
    }

    /// Scores recover with time; peers whose ban expired are let in again (unless the
    /// operator blocks them).
    pub(super) fn lift_expired_bans(&mut self) {
        for peer in self.book.tick(Self::now()) {
            if !self.admin_blocked.contains(&peer) {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .remove_blacklisted_peer(&peer);
            }
        }
    }

    /// Peers, scores, bans, the sync: what [`NetworkHandle::info`](super::NetworkHandle::info)
    /// answers.
    pub(super) fn info(&self) -> NetInfo {
        let now = Self::now();
        let mut peers: Vec<PeerInfo> = self
            .swarm
            .connected_peers()
            .map(|p| {
                let s = self.statuses.get(p);
                PeerInfo {
                    peer_id: p.to_string(),
                    score: self.book.score(p),
                    height: s.map(|s| s.height),
                    best: s.map(|s| s.best.to_string()),
                }
            })
            .collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        NetInfo {
            peer_id: self.handle.peer_id.to_string(),
            listen: self
                .handle
                .listen_addrs()
                .iter()
                .map(|a| a.to_string())
                .collect(),
            peers,
            banned: self
                .book
                .bans()
                .filter(|(_, until)| **until > now)
                .map(|(p, _)| p.to_string())
                .collect(),
            blocked: self.admin_blocked.iter().map(|p| p.to_string()).collect(),
            syncing_from: self.sync.peer().map(|p| p.to_string()),
            candidates_received: self.candidates_received,
            gossip: self.gossip,
        }
    }
}
