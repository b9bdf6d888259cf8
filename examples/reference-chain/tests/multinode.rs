//! Several `wes-node` processes forming one chain over libp2p on 127.0.0.1:
//!
//! * a transaction sent to a node that does not mine lands in a block mined by another, and
//!   every node follows the same tip;
//! * a contract uploaded to one node is fetched over the network by the others, called on
//!   another node and verified by all;
//! * a node killed and restarted catches up; a node started late syncs from genesis;
//! * a peer sending garbage, oversize frames and an invalid block is banned while the others
//!   keep working;
//! * after a partition (links blocked through the admin RPC) heals, all nodes converge within
//!   two blocks.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const BLOCK_MS: &str = "300";

/// Starts `wes-node devnet` (one node) on `dir`, a free RPC port and a free p2p port; a
/// miner gets a key of its own (named after its directory).
fn start(dir: &Path, mine: bool, bootnodes: &[&NodeProcess]) -> NodeProcess {
    let mut cmd = Command::new(BIN);
    cmd.args(["devnet", "--data-dir"])
        .arg(dir)
        .args(["--rpc-addr", "127.0.0.1:0", "--block-time-ms", BLOCK_MS])
        .args(["--listen", "/ip4/127.0.0.1/tcp/0"]);
    if mine {
        let name = dir.file_name().unwrap().to_str().unwrap();
        cmd.args(["--miner-key", &format!("miner-{name}")]);
    } else {
        cmd.arg("--no-mine");
    }
    if !bootnodes.is_empty() {
        let list: Vec<&str> = bootnodes.iter().map(|n| p2p(n)).collect();
        cmd.args(["--bootnodes", &list.join(",")]);
    }
    spawn(cmd, dir, true)
}

fn p2p(node: &NodeProcess) -> &str {
    node.p2p.as_deref().expect("a networked node")
}

/// (height, tip hash) of a node.
fn tip(node: &NodeProcess) -> (u64, String) {
    let s = call(node, "wes_miningStatus", json!([]));
    (
        s["height"].as_u64().unwrap(),
        s["tip"].as_str().unwrap().to_string(),
    )
}

fn hash_at(node: &NodeProcess, height: u64) -> Option<String> {
    rpc(node, "wes_getBlockByHeight", json!([height]))["result"]["hash"]
        .as_str()
        .map(str::to_string)
}

/// Waits until every node has reached `height` and they agree on the block there.
fn agree_at(nodes: &[&NodeProcess], height: u64, secs: u64) -> String {
    let mut agreed = String::new();
    wait_until(&format!("agreement at height {height}"), secs, || {
        let hashes: Vec<Option<String>> = nodes.iter().map(|n| hash_at(n, height)).collect();
        if hashes.iter().all(|h| h.is_some() && *h == hashes[0]) {
            agreed = hashes[0].clone().unwrap();
            true
        } else {
            false
        }
    });
    agreed
}

fn peer_id(node: &NodeProcess) -> String {
    p2p(node).rsplit('/').next().unwrap().to_string()
}

#[test]
fn nodes_share_transactions_blocks_and_contracts_and_catch_up() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start(&tmp.path().join("a"), true, &[]);
    let b = start(&tmp.path().join("b"), false, &[&a]);
    let c = start(&tmp.path().join("c"), true, &[&a]);
    wait_until("peers found", 30, || {
        call(&b, "wes_netInfo", json!([]))["peers"]
            .as_array()
            .unwrap()
            .len()
            >= 2
    });

    // A transfer sent to b, which does not mine, is mined by a or c.
    let txid = cli(
        &b,
        &[
            "transfer", "--from", "alice", "--to", "bob", "--amount", "1234",
        ],
    )
    .trim()
    .to_string();
    let tx = confirmed(&b, &txid, 1);
    assert_eq!(call(&b, "wes_miningStatus", json!([]))["blocks_mined"], 0);
    let h = tx["height"].as_u64().expect("height of the block");
    agree_at(&[&a, &b, &c], h, 30);

    // A contract uploaded to b only: the miners fetch it over the network when its
    // registration is mined, a calls it, c and b verify the call by replay.
    let wasm = PathBuf::from(".").join("contracts/counter.wat");
    let deployed = cli_json(
        &b,
        &[
            "contract",
            "deploy",
            wasm.to_str().unwrap(),
            "--from",
            "alice",
        ],
    );
    let resource = deployed["resource"].as_str().unwrap().to_string();
    confirmed(&b, deployed["txid"].as_str().unwrap(), 1);
    confirmed(&a, deployed["txid"].as_str().unwrap(), 1);
    let mut called = Value::Null;
    wait_until("the contract callable on a", 30, || {
        let out = Command::new(BIN)
            .args(["--rpc", &a.rpc, "--keystore"])
            .arg(a.dir.join("keys.json"))
            .args([
                "contract",
                "call",
                "--resource",
                &resource,
                "--entry",
                "increment",
                "--from",
                "bob",
            ])
            .output()
            .unwrap();
        if out.status.success() {
            called = serde_json::from_slice(&out.stdout).unwrap();
        } else {
            // Shown if the wait times out.
            eprintln!("call on a: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        out.status.success()
    });
    let call_tx = confirmed(&c, called["txid"].as_str().unwrap(), 1);
    confirmed(&b, called["txid"].as_str().unwrap(), 1);
    agree_at(&[&a, &b, &c], call_tx["height"].as_u64().unwrap(), 30);

    // c killed, the chain moves on, c restarted on its data catches up.
    let c_dir = c.dir.clone();
    drop(c);
    let (h0, _) = tip(&a);
    wait_until("a grows while c is down", 30, || tip(&a).0 >= h0 + 3);
    let c = start(&c_dir, true, &[&a]);
    let (h1, _) = tip(&a);
    agree_at(&[&a, &b, &c], h1, 60);

    // A node started now syncs the whole chain from genesis.
    let d = start(&tmp.path().join("d"), false, &[&b]);
    let (h2, _) = tip(&a);
    agree_at(&[&a, &b, &c, &d], h2, 60);
    // It holds what it synced: the transfer and the contract call.
    confirmed(&d, &txid, 1);
    confirmed(&d, called["txid"].as_str().unwrap(), 1);
    // Miners sent their blocks to each height's aggregator too.
    let candidates: u64 = [&a, &b, &c]
        .iter()
        .map(|n| {
            call(n, "wes_netInfo", json!([]))["candidates_received"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert!(candidates > 0, "no candidate reached an aggregator");
}

#[test]
fn partitioned_groups_converge_within_two_blocks_after_healing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start(&tmp.path().join("a"), true, &[]);
    let b = start(&tmp.path().join("b"), false, &[&a]);
    let c = start(&tmp.path().join("c"), true, &[&a]);
    let d = start(&tmp.path().join("d"), false, &[&a, &c]);
    let all = [&a, &b, &c, &d];
    wait_until("full mesh", 30, || {
        all.iter().all(|n| {
            call(n, "wes_netInfo", json!([]))["peers"]
                .as_array()
                .unwrap()
                .len()
                >= 3
        })
    });
    let (h, _) = tip(&a);
    agree_at(&all, h, 30);

    // Partition {a, b} | {c, d}: each side blocks the other's peers.
    let (left, right) = ([&a, &b], [&c, &d]);
    for (side, other) in [(left, right), (right, left)] {
        for n in side {
            for o in other {
                operator_call(n, "wes_netBlockPeer", json!([peer_id(o)]));
            }
        }
    }
    // Both sides mine their own branch.
    let (ha, _) = tip(&a);
    let (hc, _) = tip(&c);
    wait_until("both sides grow", 30, || {
        tip(&a).0 >= ha + 3 && tip(&c).0 >= hc + 3
    });
    wait_until("b follows a", 30, || tip(&b) == tip(&a));
    assert_ne!(tip(&a).1, tip(&c).1, "the partition holds");

    // Heal, then all four agree before the best chain grows by more than two blocks.
    for (side, other) in [(left, right), (right, left)] {
        for n in side {
            for o in other {
                operator_call(n, "wes_netUnblockPeer", json!([peer_id(o)]));
            }
        }
    }
    let healed_at = all.iter().map(|n| tip(n).0).max().unwrap();
    let mut converged_at = None;
    wait_until("convergence after healing", 60, || {
        let tips: Vec<(u64, String)> = all.iter().map(|n| tip(n)).collect();
        if tips.iter().all(|t| t.1 == tips[0].1) {
            converged_at = Some(tips[0].0);
            true
        } else {
            false
        }
    });
    let converged_at = converged_at.unwrap();
    assert!(
        converged_at <= healed_at + 2,
        "converged at height {converged_at}, healed at {healed_at}"
    );
}

mod evil {
    //! A peer that speaks the protocols but sends rubbish.

    use std::time::Duration;

    use wes_net::codec::FrameCodec;
    use wes_net::libp2p::futures::StreamExt;
    use wes_net::libp2p::gossipsub::{self, IdentTopic};
    use wes_net::libp2p::request_response::{self, ProtocolSupport};
    use wes_net::libp2p::swarm::{NetworkBehaviour, SwarmEvent};
    use wes_net::libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, noise, tcp, yamux};

    #[derive(NetworkBehaviour)]
    #[behaviour(prelude = "wes_net::libp2p::swarm::derive_prelude")]
    pub struct Evil {
        gossipsub: gossipsub::Behaviour,
        rr: request_response::Behaviour<FrameCodec>,
    }

    pub struct EvilPeer {
        pub swarm: Swarm<Evil>,
        pub topic: IdentTopic,
    }

    impl EvilPeer {
        pub fn new(blocks_topic: &str) -> Self {
            let mut swarm = wes_net::libp2p::SwarmBuilder::with_new_identity()
                .with_tokio()
                .with_tcp(
                    tcp::Config::default(),
                    noise::Config::new,
                    yamux::Config::default,
                )
                .unwrap()
                .with_behaviour(|key| {
                    let gossipsub = gossipsub::Behaviour::new(
                        gossipsub::MessageAuthenticity::Signed(key.clone()),
                        gossipsub::ConfigBuilder::default()
                            .max_transmit_size(64 << 20)
                            .build()
                            .unwrap(),
                    )
                    .unwrap();
                    let rr = request_response::Behaviour::with_codec(
                        FrameCodec {
                            max_request: 64 << 20,
                            max_response: 64 << 20,
                        },
                        [(
                            StreamProtocol::new(wes_net::protocol::PROTOCOL),
                            ProtocolSupport::Full,
                        )],
                        request_response::Config::default(),
                    );
                    Evil { gossipsub, rr }
                })
                .unwrap()
                .build();
            let topic = IdentTopic::new(blocks_topic);
            swarm.behaviour_mut().gossipsub.subscribe(&topic).unwrap();
            EvilPeer { swarm, topic }
        }

        pub fn id(&self) -> PeerId {
            *self.swarm.local_peer_id()
        }

        /// Dials `addr` and waits until the peer has subscribed to the blocks topic.
        pub async fn connect(&mut self, addr: Multiaddr) -> PeerId {
            self.swarm.dial(addr).unwrap();
            loop {
                if let SwarmEvent::Behaviour(EvilEvent::Gossipsub(gossipsub::Event::Subscribed {
                    peer_id,
                    topic,
                })) = self.swarm.select_next_some().await
                    && topic == self.topic.hash()
                {
                    return peer_id;
                }
            }
        }

        pub fn publish(&mut self, data: Vec<u8>) {
            self.swarm
                .behaviour_mut()
                .gossipsub
                .publish(self.topic.clone(), data)
                .unwrap();
        }

        pub fn request(&mut self, peer: &PeerId, data: Vec<u8>) {
            self.swarm.behaviour_mut().rr.send_request(peer, data);
        }

        /// Drives the swarm for a while.
        pub async fn run_for(&mut self, d: Duration) {
            let _ = tokio::time::timeout(d, async {
                loop {
                    self.swarm.select_next_some().await;
                }
            })
            .await;
        }
    }
}

#[test]
fn a_peer_sending_garbage_oversize_frames_and_invalid_blocks_is_banned() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start(&tmp.path().join("a"), true, &[]);
    let b = start(&tmp.path().join("b"), false, &[&a]);
    wait_until("b syncs", 30, || tip(&b).0 >= 2);

    let genesis: wes_core::BlockHash = hash_at(&a, 0).unwrap().parse().unwrap();
    let topics = wes_net::Topics::new(wes_core::ChainId(1337), &genesis);
    // An invalid block: the tip with its time changed and a transaction added, so neither
    // its proof of work nor its body can be right.
    let (h, _) = tip(&a);
    let v = call(&a, "wes_getBlockByHeight", json!([h]));
    let bytes = hex::decode(v["encoded"].as_str().unwrap()).unwrap();
    let mut block: wes_core::Block = wes_core::decode(&bytes).unwrap();
    block.header.time_ms += 1;
    let coinbase = block.transactions[0].clone();
    block.transactions.push(coinbase);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let evil_id = runtime.block_on(async {
        let mut evil = evil::EvilPeer::new(&topics.blocks);
        let peer = evil.connect(p2p(&a).parse().unwrap()).await;
        evil.run_for(Duration::from_millis(500)).await;
        evil.publish(b"definitely not a block".to_vec());
        evil.request(&peer, vec![0xff; 40]);
        evil.request(&peer, vec![0u8; 9 << 20]);
        // Announced compactly with every transaction sent along, as gossip carries blocks.
        let compact = wes_net::CompactBlock {
            header: block.header.clone(),
            ids: block.tx_ids(),
            prefilled: (0u32..)
                .zip(&block.transactions)
                .map(|(index, tx)| wes_net::Prefilled {
                    index,
                    tx: tx.clone(),
                })
                .collect(),
        };
        evil.publish(wes_core::encode(&compact));
        evil.run_for(Duration::from_secs(3)).await;
        evil.id()
    });

    let mut info = Value::Null;
    wait_until("the evil peer banned", 20, || {
        info = call(&a, "wes_netInfo", json!([]));
        info["banned"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == &json!(evil_id.to_string()))
    });
    assert!(
        info["peers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["peer_id"] != json!(evil_id.to_string())),
        "disconnected: {info}"
    );
    // The honest nodes keep working together.
    let (h, _) = tip(&a);
    agree_at(&[&a, &b], h + 2, 30);
}
