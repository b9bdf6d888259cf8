//! A node killed with SIGKILL under load, again and again (the crash harness of #17): the
//! height never goes back, every transfer it acknowledged as included is still included in
//! the same block after the restart, and the node answers again soon after it is started.
//!
//! `WES_KILL_LOOP` sets the number of kills (5 by default, what CI runs; `scripts/kill-loop.sh`
//! runs 100). With `WES_KILL_LOOP_MAX_RESTART_MS` set, a restart slower than that fails the
//! run; otherwise restart times are only reported (a test asserts no timings).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn start(dir: &Path) -> (NodeProcess, Duration) {
    let started = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.args(["devnet", "--data-dir"]).arg(dir).args([
        "--rpc-addr",
        "127.0.0.1:0",
        "--block-time-ms",
        "300",
    ]);
    let node = spawn(cmd, dir, false);
    // Answering means a read that goes to the chain.
    height(&node);
    (node, started.elapsed())
}

/// A small deterministic generator (xorshift), seeded from the clock and printed, so a
/// failing run can be repeated with `WES_KILL_LOOP_SEED`.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn killed_under_load_the_node_keeps_every_acknowledged_block() {
    let kills = env_u64("WES_KILL_LOOP").unwrap_or(5);
    let seed = env_u64("WES_KILL_LOOP_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1
    });
    eprintln!("kill loop: {kills} kills, seed {seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let (mut node, _) = start(&dir);
    // Every transfer the node reported included: (txid, block, height).
    let mut acknowledged: Vec<(String, String, u64)> = Vec::new();
    let mut restarts = Vec::new();
    let mut last_height = 0;
    for kill in 0..kills {
        // Load: transfers back and forth, each waited for, then one more sent and the node
        // killed at a random moment, whether that one is mined or not.
        for i in 0..=rng.below(3) {
            let (from, to) = if i % 2 == 0 {
                ("alice", "bob")
            } else {
                ("bob", "alice")
            };
            let txid = cli(
                &node,
                &["transfer", "--from", from, "--to", to, "--amount", "1"],
            );
            let tx = confirmed(&node, txid.trim(), 1);
            acknowledged.push((
                txid.trim().to_string(),
                tx["block"].as_str().unwrap().to_string(),
                tx["height"].as_u64().unwrap(),
            ));
        }
        let _ = try_cli(
            &node,
            &[
                "transfer", "--from", "alice", "--to", "bob", "--amount", "2",
            ],
        );
        std::thread::sleep(Duration::from_millis(rng.below(600)));
        let before = height(&node);
        drop(node); // SIGKILL
        let (restarted, took) = start(&dir);
        node = restarted;
        restarts.push(took);

        let after = height(&node);
        assert!(
            after >= before && after >= last_height,
            "kill {kill}: height went back from {before} to {after}"
        );
        last_height = after;
        for (txid, block, at) in &acknowledged {
            let tx = rpc(&node, "wes_getTransaction", json!([txid]));
            assert_eq!(
                (
                    tx["result"]["block"].as_str(),
                    tx["result"]["height"].as_u64()
                ),
                (Some(block.as_str()), Some(*at)),
                "kill {kill}: acknowledged transfer {txid} lost: {tx}"
            );
        }
    }
    restarts.sort();
    let max = restarts.last().copied().unwrap_or_default();
    eprintln!(
        "kill loop: {kills} kills, {} acknowledged transfers kept, height {last_height}; \
         answering after a restart: median {:.0} ms, max {:.0} ms",
        acknowledged.len(),
        restarts[restarts.len() / 2].as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
    if let Some(limit) = env_u64("WES_KILL_LOOP_MAX_RESTART_MS") {
        assert!(
            max <= Duration::from_millis(limit),
            "a restart took {max:?}, over {limit} ms"
        );
    }
}
