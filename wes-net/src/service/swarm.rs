//! The libp2p side: the behaviour (operator block list, connection limits, identify,
//! Kademlia, gossipsub, request-response), the TCP + noise + yamux transport, the chain's
//! gossip topics, and listening.

use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageId, TopicHash};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, StreamProtocol, Swarm, allow_block_list, connection_limits, identify, kad, noise,
    tcp, yamux,
};

use super::NetConfig;
use crate::codec::FrameCodec;
use crate::error::NetError;
use crate::protocol::{IDENTIFY_PROTOCOL, KAD_PROTOCOL, PROTOCOL, Topics, message_id};

/// The protocols the swarm runs.
#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(super) limits: connection_limits::Behaviour,
    pub(super) identify: identify::Behaviour,
    pub(super) kad: kad::Behaviour<kad::store::MemoryStore>,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) rr: request_response::Behaviour<FrameCodec>,
}

/// The chain's gossip topics, as gossipsub names them.
pub(super) struct GossipTopics {
    /// Blocks.
    pub(super) blocks: TopicHash,
    /// Transactions.
    pub(super) transactions: TopicHash,
}

/// Builds the swarm and subscribes to the chain's topics.
pub(super) fn build(
    config: &NetConfig,
    keypair: Keypair,
) -> Result<(Swarm<Behaviour>, GossipTopics), NetError> {
    let topics = Topics::new(config.chain_id, &config.genesis);
    let mut swarm = build_swarm(config, keypair)?;
    let blocks_topic = IdentTopic::new(topics.blocks.clone());
    let txs_topic = IdentTopic::new(topics.transactions.clone());
    let gs = &mut swarm.behaviour_mut().gossipsub;
    gs.subscribe(&blocks_topic)
        .map_err(|e| NetError::Transport(e.to_string()))?;
    gs.subscribe(&txs_topic)
        .map_err(|e| NetError::Transport(e.to_string()))?;
    let topics = GossipTopics {
        blocks: blocks_topic.hash(),
        transactions: txs_topic.hash(),
    };
    Ok((swarm, topics))
}

/// Listens on the configured addresses and returns them, each with `/p2p/<id>`, once the
/// listeners reported them (port 0 resolved; 10 s at most).
pub(super) async fn listen(
    swarm: &mut Swarm<Behaviour>,
    config: &NetConfig,
) -> Result<Vec<Multiaddr>, NetError> {
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Transport(format!("listen on {addr}: {e}")))?;
    }
    let peer_id = *swarm.local_peer_id();
    // Wait for the listeners to report their addresses (port 0 resolved).
    let mut listen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listen.len() < config.listen.len() {
        match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr { address, .. }) => {
                listen.push(address.with_p2p(peer_id).unwrap_or_else(|a| a));
            }
            Ok(SwarmEvent::ListenerError { error, .. }) => {
                return Err(NetError::Transport(error.to_string()));
            }
            Ok(_) => {}
            Err(_) => return Err(NetError::Transport("no listen address after 10 s".into())),
        }
    }
    Ok(listen)
}

fn build_swarm(config: &NetConfig, keypair: Keypair) -> Result<Swarm<Behaviour>, NetError> {
    let limits = config.limits;
    let timeout = config.request_timeout;
    let max_serving = config.max_serving;
    let max_peers = u32::try_from(config.max_peers).unwrap_or(u32::MAX);
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let gossip_config = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Strict)
                .validate_messages()
                .max_transmit_size(limits.max_gossip_bytes)
                .heartbeat_interval(Duration::from_millis(500))
                .message_id_fn(|m| MessageId::from(message_id(&m.data).as_bytes().to_vec()))
                .build()?;
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossip_config,
            )?;
            let mut kad_config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
            kad_config.set_query_timeout(Duration::from_secs(30));
            let mut kad = kad::Behaviour::with_config(
                peer_id,
                kad::store::MemoryStore::new(peer_id),
                kad_config,
            );
            kad.set_mode(Some(kad::Mode::Server));
            let rr = request_response::Behaviour::with_codec(
                FrameCodec {
                    max_request: limits.max_request_bytes,
                    max_response: limits.max_response_bytes,
                },
                [(StreamProtocol::new(PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(timeout)
                    .with_max_concurrent_streams(max_serving * 4),
            );
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established(Some(max_peers))
                .with_max_established_per_peer(Some(2))
                .with_max_pending_incoming(Some(32));
            Ok(Behaviour {
                blocked: Default::default(),
                limits: connection_limits::Behaviour::new(limits),
                identify: identify::Behaviour::new(identify::Config::new(
                    IDENTIFY_PROTOCOL.into(),
                    key.public(),
                )),
                kad,
                gossipsub,
                rr,
            })
        })
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::multiaddr::Protocol;
    use wes_core::{BlockHash, ChainId};

    #[tokio::test]
    async fn the_swarm_joins_the_chain_s_topics_and_reports_dialable_addresses() {
        let genesis = BlockHash::default();
        let listen_on = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        let config = NetConfig::new(ChainId(7), genesis, listen_on);
        let (mut swarm, topics) = build(&config, Keypair::generate_ed25519()).unwrap();
        let names = Topics::new(ChainId(7), &genesis);
        assert_eq!(topics.blocks, IdentTopic::new(names.blocks).hash());
        assert_eq!(
            topics.transactions,
            IdentTopic::new(names.transactions).hash()
        );
        let joined: Vec<&TopicHash> = swarm.behaviour().gossipsub.topics().collect();
        assert_eq!(joined.len(), 2);
        assert!(joined.contains(&&topics.blocks) && joined.contains(&&topics.transactions));

        let addrs = listen(&mut swarm, &config).await.unwrap();
        let me = *swarm.local_peer_id();
        assert_eq!(addrs.len(), 1);
        let protocols: Vec<Protocol> = addrs[0].iter().collect();
        assert!(
            matches!(
                &protocols[..],
                [Protocol::Ip4(_), Protocol::Tcp(port), Protocol::P2p(id)] if *port != 0 && *id == me
            ),
            "{}",
            addrs[0]
        );
    }
}
