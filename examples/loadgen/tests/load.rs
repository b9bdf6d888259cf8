//! The load generator against a real node on 127.0.0.1 (instant-seal blocks every 300 ms):
//! every transfer it sends is included, and the report adds up.

use std::time::Duration;

use wes_core::{ChainId, CompactTarget, Genesis, Lock, Output, SecretKey, TokenId};
use wes_loadgen::{LoadError, LoadOptions, run};
use wes_node::rpc::{RateLimit, RpcConfig, RpcToken};
use wes_node::{ChainLedger, Config, Consensus, LaunchOptions, NodeBuilder, RunningNode, launch};

const CHAIN: ChainId = ChainId(34);

/// A node sealing every 300 ms with its RPC on 127.0.0.1, configured by `rpc_config`.
async fn node(
    dir: &std::path::Path,
    rpc_config: RpcConfig,
) -> (RunningNode<impl ChainLedger>, String) {
    let genesis = Genesis {
        chain_id: CHAIN,
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0),
        allocations: vec![Output::asset(
            Lock::key(SecretKey::dev("funder").public_key()),
            TokenId::Native,
            1_000_000_000,
        )],
        message: "loadgen test".into(),
    };
    let node = NodeBuilder::new(Config::new(dir), genesis)
        .consensus(|_| {
            Ok(Consensus::instant_seal(
                CHAIN,
                SecretKey::dev("sealer"),
                300,
            ))
        })
        .build()
        .unwrap();
    let running = launch(
        node,
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            produce: true,
            rpc_config,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.rpc_addr.unwrap());
    (running, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transfer_sent_is_included_and_the_report_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let (running, url) = node(dir.path(), RpcConfig::default()).await;
    let options = LoadOptions {
        nodes: vec![url.clone(), url],
        funder: SecretKey::dev("funder"),
        senders: 8,
        transfers: 300,
        rate: None,
        fee: 1_000,
        batch: 1,
        confirmations: 2,
        settle_timeout: Duration::from_secs(30),
        tokens: Vec::new(),
    };
    let report = run(&options).await.unwrap();
    assert_eq!(report.submitted, 300, "{report}");
    assert_eq!(report.refused, 0, "{report}");
    assert_eq!(report.included, 300, "{report}");
    assert_eq!(report.lost, 0);
    assert!(report.blocks >= 1);
    assert!(report.submitted_per_second > 0.0 && report.included_per_second > 0.0);
    assert!(report.inclusion_ms.p50 <= report.inclusion_ms.p99);
    assert!(report.inclusion_ms.p99 <= report.inclusion_ms.max);
    assert!(
        report.confirmed_ms.p50 >= report.inclusion_ms.p50,
        "two confirmations come after inclusion: {report}"
    );

    // A paced run sends at about the asked rate.
    let paced = run(&LoadOptions {
        transfers: 40,
        rate: Some(100.0),
        senders: 4,
        ..options.clone()
    })
    .await
    .unwrap();
    assert_eq!(paced.included, 40, "{paced}");
    assert!(paced.submitted_per_second < 150.0, "{paced}");

    // Batched: each sender's transfers go 25 to a request, signatures verified together.
    let batched = run(&LoadOptions {
        transfers: 400,
        batch: 25,
        ..options.clone()
    })
    .await
    .unwrap();
    assert_eq!(
        (batched.submitted, batched.included),
        (400, 400),
        "{batched}"
    );

    assert!(matches!(
        run(&LoadOptions {
            senders: 0,
            ..options.clone()
        })
        .await,
        Err(LoadError::Options(_))
    ));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_token_lifts_the_rate_limit_and_a_refusal_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let token = RpcToken::generate();
    let (running, url) = node(
        dir.path(),
        RpcConfig {
            token: Some(token.clone()),
            rate_limit: RateLimit::per_second(10),
            ..RpcConfig::default()
        },
    )
    .await;
    let options = LoadOptions {
        nodes: vec![url],
        funder: SecretKey::dev("funder"),
        senders: 4,
        transfers: 400,
        rate: None,
        fee: 1_000,
        batch: 1,
        confirmations: 1,
        settle_timeout: Duration::from_secs(30),
        tokens: vec![token],
    };
    let report = run(&options).await.unwrap();
    assert_eq!((report.submitted, report.refused), (400, 0), "{report}");
    assert_eq!(report.included, 400, "{report}");

    // The same load as an anonymous client: throttled, and the report says so.
    let throttled = run(&LoadOptions {
        funder: SecretKey::dev("funder"),
        tokens: Vec::new(),
        ..options.clone()
    })
    .await;
    let report = match throttled {
        Ok(report) => report,
        // Throttled before the senders were even funded.
        Err(e) => return assert!(e.to_string().contains("rate limit"), "{e}"),
    };
    assert!(report.refused > 0, "{report}");
    let why = report.first_refusal.clone().unwrap_or_default();
    assert!(why.contains("rate limit"), "{report}");
    assert_eq!(report.lost, 0, "what was accepted is included: {report}");
    running.stop().await;
}
