//! A node's Prometheus metrics: what it measures as it works (imports, production,
//! admissions, constructions, RPC calls) and what is read when scraped (height, mempool,
//! peers). Each node has a registry of its own, no process-wide recorder, so several nodes
//! in one process (tests, simulations) keep theirs apart. The RPC server exposes them at
//! `GET /metrics` in Prometheus' text format.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an RPC call's latency: its method.
type MethodLabels = Vec<(&'static str, String)>;

fn latency() -> Histogram {
    // 50 µs … ≈ 26 s: RPC reads at the low end, proofs at the high end.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// The metrics of one node (prefix `wes_`).
#[derive(Debug)]
pub struct NodeMetrics {
    registry: Registry,
    /// Height of the best chain (read when scraped).
    pub height: Gauge,
    /// Transactions in the mempool (read when scraped).
    pub mempool_txs: Gauge,
    /// Bytes in the mempool (read when scraped).
    pub mempool_bytes: Gauge,
    /// Connected peers (read when scraped; 0 without networking).
    pub peers: Gauge,
    /// Blocks that extended or reorganised the best chain.
    pub blocks_imported: Counter,
    /// Reorganisations of the best chain.
    pub reorgs: Counter,
    /// Time to import a block (validation and application), in seconds.
    pub block_import_seconds: Histogram,
    /// Blocks this node produced.
    pub blocks_produced: Counter,
    /// Time to check a submitted or gossiped transaction (signatures, proofs, state), in
    /// seconds.
    pub tx_check_seconds: Histogram,
    /// Transactions admitted to the mempool.
    pub txs_admitted: Counter,
    /// Transactions refused (invalid, conflicting, pool full…).
    pub txs_refused: Counter,
    /// Time to construct a call or an inference (execution and proof), in seconds.
    pub construct_seconds: Histogram,
    /// Time to answer an RPC call, by method, in seconds.
    pub rpc_seconds: Family<MethodLabels, Histogram>,
    /// The settlement of external calls.
    pub settlement: crate::settlement::SettlementMetrics,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("wes");
        let metrics = NodeMetrics {
            height: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            peers: Gauge::default(),
            blocks_imported: Counter::default(),
            reorgs: Counter::default(),
            block_import_seconds: latency(),
            blocks_produced: Counter::default(),
            tx_check_seconds: latency(),
            txs_admitted: Counter::default(),
            txs_refused: Counter::default(),
            construct_seconds: latency(),
            rpc_seconds: Family::new_with_constructor(latency),
            settlement: Default::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        registry.register("height", "Height of the best chain", m.height.clone());
        registry.register(
            "mempool_transactions",
            "Transactions in the mempool",
            m.mempool_txs.clone(),
        );
        registry.register(
            "mempool_bytes",
            "Bytes in the mempool",
            m.mempool_bytes.clone(),
        );
        registry.register("peers", "Connected peers", m.peers.clone());
        registry.register(
            "blocks_imported",
            "Blocks that extended or reorganised the best chain",
            m.blocks_imported.clone(),
        );
        registry.register(
            "reorgs",
            "Reorganisations of the best chain",
            m.reorgs.clone(),
        );
        registry.register(
            "block_import_seconds",
            "Time to validate and apply a block",
            m.block_import_seconds.clone(),
        );
        registry.register(
            "blocks_produced",
            "Blocks this node produced",
            m.blocks_produced.clone(),
        );
        registry.register(
            "transaction_check_seconds",
            "Time to check a submitted or gossiped transaction",
            m.tx_check_seconds.clone(),
        );
        registry.register(
            "transactions_admitted",
            "Transactions admitted to the mempool",
            m.txs_admitted.clone(),
        );
        registry.register(
            "transactions_refused",
            "Transactions refused by the ledger or the mempool",
            m.txs_refused.clone(),
        );
        registry.register(
            "construct_seconds",
            "Time to construct a call or inference (execution and proof)",
            m.construct_seconds.clone(),
        );
        registry.register(
            "rpc_seconds",
            "Time to answer an RPC call, by method",
            m.rpc_seconds.clone(),
        );
        registry.register(
            "settlement_open",
            "External-call ops not yet committed or aborted",
            m.settlement.open.clone(),
        );
        registry.register(
            "settlement_stuck",
            "External-call ops whose connector has failed for longer than the stuck limit",
            m.settlement.stuck.clone(),
        );
        registry.register(
            "settlement_calls",
            "Commit, abort and compensate calls to connectors, by outcome and result",
            m.settlement.calls.clone(),
        );
        NodeMetrics {
            registry,
            ..metrics
        }
    }
}

impl NodeMetrics {
    /// Records one RPC call of `method` that took `elapsed`.
    pub fn rpc_call(&self, method: &str, elapsed: Duration) {
        self.rpc_seconds
            .get_or_create(&vec![("method", method.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// Everything, in Prometheus' text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exposed_with_its_value() {
        let m = NodeMetrics::default();
        m.height.set(7);
        m.blocks_imported.inc();
        m.block_import_seconds.observe(0.003);
        m.rpc_call("wes_blockNumber", Duration::from_micros(80));
        let text = m.encode();
        assert!(text.contains("wes_height 7"), "{text}");
        assert!(text.contains("wes_blocks_imported_total 1"), "{text}");
        assert!(text.contains("wes_block_import_seconds_count 1"), "{text}");
        assert!(
            text.contains("wes_rpc_seconds_count{method=\"wes_blockNumber\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
