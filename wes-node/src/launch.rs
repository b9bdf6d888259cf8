//! Starting and stopping a node's services: the RPC server, the network and the block
//! producer, with a graceful shutdown that stops them in order.

use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::Methods;
use jsonrpsee::server::ServerHandle;
use wes_net::NetworkHandle;
use wes_net::libp2p::Multiaddr;

use crate::error::NodeError;
use crate::ledger::ChainLedger;
use crate::node::Node;

/// Which of a node's services to start.
#[derive(Clone, Default)]
pub struct LaunchOptions {
    /// Serve JSON-RPC on this address (port 0 picks a free one); `None`: no RPC server.
    pub rpc: Option<SocketAddr>,
    /// The chain's own RPC methods, served beside the built-in `wes_*` ones.
    pub rpc_methods: Vec<Methods>,
    /// libp2p listen addresses; empty: no networking.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start.
    pub bootnodes: Vec<Multiaddr>,
    /// Run the block producer (if the node has one) on a thread of its own.
    pub produce: bool,
    /// Serve the explorer's static files (`sdk/ts/explorer`, built) from this directory
    /// under `GET /explorer/` on the RPC port.
    pub explorer: Option<std::path::PathBuf>,
    /// Who may call which RPC methods, and the server's limits (rate, batch, connections,
    /// CORS): see [`crate::rpc::access`].
    pub rpc_config: crate::rpc::RpcConfig,
}

impl core::fmt::Debug for LaunchOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LaunchOptions")
            .field("rpc", &self.rpc)
            .field("rpc_methods", &self.rpc_methods.len())
            .field("listen", &self.listen)
            .field("bootnodes", &self.bootnodes)
            .field("produce", &self.produce)
            .field("explorer", &self.explorer)
            .field("rpc_config", &self.rpc_config)
            .finish()
    }
}

/// A node with its services running. [`stop`](RunningNode::stop) shuts them down.
pub struct RunningNode<L: ChainLedger> {
    /// The node.
    pub node: Arc<Node<L>>,
    /// The RPC server's address, if it serves.
    pub rpc_addr: Option<SocketAddr>,
    /// The network, if it is on.
    pub network: Option<NetworkHandle>,
    rpc: Option<ServerHandle>,
    producer: Option<std::thread::JoinHandle<()>>,
    collector: Option<tokio::task::JoinHandle<()>>,
}

impl<L: ChainLedger> core::fmt::Debug for RunningNode<L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RunningNode")
            .field("node", &self.node)
            .field("rpc_addr", &self.rpc_addr)
            .field("network", &self.network.is_some())
            .field("producing", &self.producer.is_some())
            .finish()
    }
}

/// Starts `node`'s services (on the current tokio runtime): the RPC server, then the
/// network, then the producer.
///
/// # Errors
/// The RPC address cannot be bound or the network cannot start; what was started before
/// is stopped again.
pub async fn launch<L: ChainLedger>(
    node: Arc<Node<L>>,
    options: LaunchOptions,
) -> Result<RunningNode<L>, NodeError> {
    let mut running = RunningNode {
        node: node.clone(),
        rpc_addr: None,
        network: None,
        rpc: None,
        producer: None,
        collector: None,
    };
    if let Some(addr) = options.rpc {
        let (handle, local) = crate::rpc::serve(
            node.clone(),
            addr,
            options.rpc_methods,
            options.explorer,
            &options.rpc_config,
        )
        .await?;
        running.rpc = Some(handle);
        running.rpc_addr = Some(local);
    }
    if !options.listen.is_empty() {
        match crate::network::start(&node, &options.listen, &options.bootnodes).await {
            Ok(net) => running.network = Some(net),
            Err(e) => {
                running.stop().await;
                return Err(e);
            }
        }
    }
    if options.produce && node.producer().is_some() {
        let n = node.clone();
        running.producer = Some(std::thread::spawn(move || n.produce_forever()));
    }
    if let Some(every) = node.config().uploads.gc_interval {
        running.collector = Some(tokio::spawn(collect_garbage_every(node.clone(), every)));
    }
    let status = node.status();
    tracing::info!(
        chain = node.chain_id().0,
        height = status.height,
        best = %status.best,
        rpc = ?running.rpc_addr,
        networking = running.network.is_some(),
        producing = running.producer.is_some(),
        "node started"
    );
    Ok(running)
}

/// Expires upload leases and collects unpinned resources every `every`, off the runtime's
/// threads.
async fn collect_garbage_every<L: ChainLedger>(node: Arc<Node<L>>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await; // the first tick is immediate: leave fresh uploads alone
    loop {
        ticks.tick().await;
        let n = node.clone();
        match tokio::task::spawn_blocking(move || n.collect_garbage()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "collecting unpinned resources failed"),
            Err(_) => return,
        }
    }
}

impl<L: ChainLedger> RunningNode<L> {
    /// Stops production (a seal in progress is cancelled), the network and the RPC server,
    /// and waits for them. The node's stores are closed when the last `Arc` goes.
    pub async fn stop(mut self) {
        self.node.shutdown();
        if let Some(collector) = self.collector.take() {
            collector.abort();
        }
        if let Some(net) = self.network.take() {
            net.shutdown();
        }
        if let Some(handle) = self.rpc.take() {
            let _ = handle.stop();
            handle.stopped().await;
        }
        if let Some(producer) = self.producer.take() {
            let _ = tokio::task::spawn_blocking(move || producer.join()).await;
        }
    }
}
