//! End to end, as a user meets the chain: the real `wes-node` binary started as a process on a
//! temporary data directory and a free localhost port, driven through its own client
//! commands and raw JSON-RPC: a transfer, a contract deployed and called, a model deployed
//! and a proven inference, confirmations growing; killed and restarted on the same data
//! directory with chain and balances intact; malformed and oversize requests answered with
//! errors while the node keeps mining.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use wes_core::ResourceStore;

/// Starts `wes-node devnet` on `dir` and free ports; waits for its RPC line.
fn start(dir: &Path) -> NodeProcess {
    devnet(dir, true)
}

fn fixtures() -> PathBuf {
    PathBuf::from(".").join("../../wes-ispc/tests/fixtures/onnx")
}

#[test]
fn devnet_transfer_contract_model_restart_and_bad_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let node = start(&dir);

    // A transfer, confirmations growing.
    let txid = cli(
        &node,
        &[
            "transfer", "--from", "alice", "--to", "bob", "--amount", "12345",
        ],
    );
    let txid = txid.trim();
    let first = confirmed(&node, txid, 1);
    assert_eq!(first["status"], "included");
    let later = confirmed(&node, txid, 3);
    assert!(later["confirmations"].as_u64().unwrap() >= 3);
    let bob = cli_json(&node, &["balance", "bob"]);
    assert_eq!(bob["native"], "1000000012345");

    // A contract: deploy, then two calls; the second returns 2.
    let wasm = PathBuf::from(".").join("contracts/counter.wat");
    let deployed = cli_json(
        &node,
        &[
            "contract",
            "deploy",
            wasm.to_str().unwrap(),
            "--from",
            "alice",
        ],
    );
    confirmed(&node, deployed["txid"].as_str().unwrap(), 1);
    let resource = deployed["resource"].as_str().unwrap();
    let call = cli_json(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            resource,
            "--entry",
            "increment",
            "--from",
            "bob",
        ],
    );
    confirmed(&node, call["txid"].as_str().unwrap(), 1);
    let call = cli_json(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            resource,
            "--entry",
            "increment",
            "--from",
            "bob",
        ],
    );
    assert_eq!(call["return_data"], hex(&2u64.to_le_bytes()));
    confirmed(&node, call["txid"].as_str().unwrap(), 1);

    // Fees in the devnet's second token, and a sponsor pool from the command line: created
    // for the counter, used by a call that names no key, funded, withdrawn.
    let tokens = cli_json(&node, &["fee-tokens"]);
    let usd = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .find(|t| t != "native")
        .expect("a second fee token");
    let before = cli_json(&node, &["balance", "alice"])[&usd].clone();
    let paid = cli(
        &node,
        &[
            "transfer",
            "--from",
            "alice",
            "--to",
            "bob",
            "--amount",
            "1",
            "--fee",
            "20000",
            "--fee-token",
            &usd,
        ],
    );
    confirmed(&node, paid.trim(), 1);
    let after = cli_json(&node, &["balance", "alice"])[&usd].clone();
    assert_eq!(
        before.as_str().unwrap().parse::<u128>().unwrap()
            - after.as_str().unwrap().parse::<u128>().unwrap(),
        20_000
    );
    let pool = cli_json(
        &node,
        &[
            "sponsor",
            "create",
            "--from",
            "alice",
            "--contract",
            resource,
            "--cap",
            "3000000",
            "--amount",
            "10000000",
        ],
    )["pool"]
        .as_str()
        .unwrap()
        .to_owned();
    confirmed(&node, pool.split(':').next().unwrap(), 1);
    let sponsored = cli_json(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            resource,
            "--entry",
            "increment",
            "--sponsor",
            &pool,
        ],
    );
    assert_eq!(sponsored["return_data"], hex(&3u64.to_le_bytes()));
    let included = confirmed(&node, sponsored["txid"].as_str().unwrap(), 1);
    let change = format!(
        "{}:{}",
        sponsored["txid"].as_str().unwrap(),
        included["outputs"].as_array().unwrap().len() - 1
    );
    let funded = cli_json(
        &node,
        &[
            "sponsor", "fund", "--from", "bob", "--pool", &change, "--amount", "5000000",
        ],
    )["pool"]
        .as_str()
        .unwrap()
        .to_owned();
    confirmed(&node, funded.split(':').next().unwrap(), 1);
    let withdrawn = cli(
        &node,
        &["sponsor", "withdraw", "--from", "alice", "--pool", &funded],
    );
    confirmed(&node, withdrawn.trim(), 1);
    let refused = try_cli(
        &node,
        &["sponsor", "withdraw", "--from", "bob", "--pool", &change],
    );
    assert!(!refused.status.success(), "only the owner withdraws");

    // A model: deploy (circuit generated), then a proven inference mined and verified.
    let model = fixtures().join("digits_mlp.onnx");
    let deployed = cli_json(
        &node,
        &[
            "model",
            "deploy",
            model.to_str().unwrap(),
            "--from",
            "alice",
        ],
    );
    confirmed(&node, deployed["txid"].as_str().unwrap(), 1);
    let cases: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("digits_mlp.json")).unwrap())
            .unwrap();
    let case = &cases["cases"][0];
    let input: Vec<String> = case["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let label = case["outputs"]["label"][0].as_f64().unwrap() as i64;
    let inferred = cli_json(
        &node,
        &[
            "model",
            "infer",
            "--model",
            deployed["model_output"].as_str().unwrap(),
            "--input",
            &input.join(","),
            "--prove",
            "--from",
            "alice",
        ],
    );
    assert_eq!(inferred["result"]["labels"][0].as_i64(), Some(label));
    assert!(inferred["proof_bytes"].as_u64().unwrap() > 0);
    let tx = confirmed(&node, inferred["txid"].as_str().unwrap(), 2);
    assert_eq!(tx["outputs"][0]["body"]["type"], "state");

    // Malformed and oversize requests: errors, and the node keeps mining.
    let before = height(&node);
    let (_, body) = post(&node.addr, b"{this is not json");
    assert!(body.contains("error"), "{body}");
    let unknown = rpc(&node, "wes_noSuchMethod", json!([]));
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("not found"),
        "{unknown}"
    );
    let bad_params = rpc(&node, "wes_getBlockByHeight", json!(["tall"]));
    assert_eq!(bad_params["error"]["code"], -32602, "{bad_params}");
    let bad_tx = rpc(&node, "wes_sendRawTransaction", json!(["00ff00ff"]));
    assert!(
        bad_tx["error"]["message"]
            .as_str()
            .unwrap()
            .contains("transaction"),
        "{bad_tx}"
    );
    // A construction may not ask for unbounded compute.
    let greedy = rpc(
        &node,
        "wes_constructCall",
        json!([{"resource": "00".repeat(32), "entry": "f", "fee_inputs": [], "change": "00".repeat(32),
                "fee": "1", "cu_limit": u64::MAX}]),
    );
    assert_eq!(greedy["error"]["code"], -32602, "{greedy}");
    let not_hex = rpc(&node, "wes_sendRawTransaction", json!(["zz"]));
    assert_eq!(not_hex["error"]["code"], -32602);
    let big = vec![b' '; 40 << 20];
    let (status, _) = post(&node.addr, &big);
    assert!(
        status.contains("413") || status.is_empty(),
        "oversize body: {status}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while height(&node) < before + 2 {
        assert!(Instant::now() < deadline, "the node stopped mining");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Kill and restart on the same data directory: chain and balances intact.
    let tip = height(&node);
    let alice = cli_json(&node, &["balance", "alice"]);
    let bob = cli_json(&node, &["balance", "bob"]);
    drop(node); // SIGKILL: no clean shutdown
    let node = start(&dir);
    assert!(height(&node) >= tip);
    assert_eq!(cli_json(&node, &["balance", "alice"]), alice);
    assert_eq!(cli_json(&node, &["balance", "bob"]), bob);
    let txid2 = cli(
        &node,
        &[
            "transfer", "--from", "bob", "--to", "alice", "--amount", "1",
        ],
    );
    confirmed(&node, txid2.trim(), 1);

    // Killed again, with the resource pins behind the ledger (as a kill between a block's
    // commit and its pins leaves them): the restart reconciles them, and garbage
    // collection then keeps what live outputs refer to.
    drop(node);
    let store_dir = dir.join("resources");
    let contract: wes_core::ContentId = resource.parse().unwrap();
    let (stray, mut live) = {
        let store = wes_ures::DiskStore::open(&store_dir).unwrap();
        let live = store.pins().unwrap();
        assert!(live.contains(&(contract, 1)), "{live:?}");
        assert!(live.len() >= 2, "the contract and the model: {live:?}");
        for (id, count) in &live {
            for _ in 0..*count {
                store.unpin(id).unwrap();
            }
        }
        let stray = store
            .put(
                wes_core::ResourceKind::File,
                &wes_core::ResourceMeta::default(),
                &mut &b"no output refers to this"[..],
            )
            .unwrap()
            .id;
        store.pin(&stray).unwrap();
        (stray, live)
    };
    let node = start(&dir);
    assert!(height(&node) >= tip);
    drop(node);
    let store = wes_ures::DiskStore::open(&store_dir).unwrap();
    let mut pins = store.pins().unwrap();
    pins.sort();
    live.sort();
    assert_eq!(pins, live, "reconciled with the live outputs");
    // Collection removes the stray (and uploads that were never registered, whose leases
    // the restart dropped), never what a live output holds.
    store.collect_garbage().unwrap();
    assert!(!store.has(&stray).unwrap());
    for (id, _) in &live {
        assert!(store.has(id).unwrap(), "{id} is live");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The passphrase of the keystores `init` creates in these tests.
const PASSPHRASE: (&str, &str) = ("WES_KEYSTORE_PASSPHRASE", "e2e passphrase");

/// `init` writes a template configuration and creates the data directory with the mining
/// key in an encrypted keystore; `run --config` starts a node from the TOML file.
#[test]
fn init_then_run_from_a_toml_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("node.toml");
    let out = Command::new(BIN)
        .args(["init", "--config"])
        .arg(&config)
        .env(PASSPHRASE.0, PASSPHRASE.1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("genesis"));
    // Pick a free port and a fast block time.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("[chain]") && text.contains("proof_systems"),
        "{text}"
    );
    let text = text.replace("block_time_ms = 2000", "block_time_ms = 300");
    std::fs::write(&config, text).unwrap();
    // The mining key is sealed, in a file only its owner reads; without the passphrase
    // the node does not start, and says why.
    let keys_path = tmp.path().join("wes-data/keys.json");
    let keys = std::fs::read_to_string(&keys_path).unwrap();
    assert!(
        keys.contains("ciphertext") && !keys.contains("\"seed\""),
        "{keys}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = Command::new(BIN)
        .args(["run", "--rpc-addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env_remove(PASSPHRASE.0)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(PASSPHRASE.0), "{stderr}");
    // A flag replaces the configuration's key: a free port instead of 8645.
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--rpc-addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env(PASSPHRASE.0, PASSPHRASE.1);
    let node = spawn(cmd, tmp.path(), false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while height(&node) < 2 {
        assert!(Instant::now() < deadline, "no blocks mined");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(rpc(&node, "wes_chainId", json!([]))["result"], 1337);
    // What operators watch, on the RPC port.
    let (status, body) = get(&node.addr, "/health");
    assert!(status.contains("200"), "{status} {body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["height"].as_u64().unwrap() >= 2, "{health}");
    let (status, metrics) = get(&node.addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(metrics.contains("wes_blocks_produced_total"), "{metrics}");
    drop(node);

    // Logs as JSON, one object per line; `--mine false` replaces `mine = true`.
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "run", "--mine", "false"])
        .args(["--rpc-addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env(PASSPHRASE.0, PASSPHRASE.1)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Every line is a JSON object; the node says when it has started, and how.
    let started = loop {
        let text = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a \"node started\" log line");
        let line: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: not JSON: {text}"));
        assert!(line["level"].is_string(), "{line}");
        if line["fields"]["message"] == "node started" {
            break line;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(started["fields"]["producing"], false, "{started}");
    // A configuration with an unknown field is refused with the reason.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&config).unwrap() + "\nsurprise = 1\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("surprise"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
