//! Running `wes-node` processes in tests and talking to them (shared by the test files; each
//! uses part of it).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_wes-node");

/// A running node, killed when dropped.
pub struct NodeProcess {
    pub child: Child,
    /// `http://host:port`.
    pub rpc: String,
    /// `host:port`.
    pub addr: String,
    /// The libp2p address it printed, if it networks.
    pub p2p: Option<String>,
    /// Its data directory (the keystore is `keys.json` there).
    pub dir: PathBuf,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A single-node devnet on `dir` with a random RPC port and 400 ms blocks (its P2P listener's
/// line awaited with `p2p`).
pub fn devnet(dir: &Path, p2p: bool) -> NodeProcess {
    let mut cmd = Command::new(BIN);
    cmd.args(["devnet", "--data-dir"]).arg(dir).args([
        "--rpc-addr",
        "127.0.0.1:0",
        "--block-time-ms",
        "400",
    ]);
    spawn(cmd, dir, p2p)
}

/// Spawns the node `cmd` runs on data directory `dir`; waits for its "RPC listening on" line
/// and, with `p2p`, its "P2P listening on" line.
pub fn spawn(mut cmd: Command, dir: &Path, p2p: bool) -> NodeProcess {
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start wes-node");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            for prefix in ["RPC listening on ", "P2P listening on "] {
                if let Some(v) = line.strip_prefix(prefix) {
                    let _ = tx.send(v.to_string());
                }
            }
        }
    });
    let rpc = rx.recv_timeout(Duration::from_secs(60)).expect("RPC line");
    let p2p = p2p.then(|| rx.recv_timeout(Duration::from_secs(60)).expect("P2P line"));
    let addr = rpc.trim_start_matches("http://").to_string();
    NodeProcess {
        child,
        rpc,
        addr,
        p2p,
        dir: dir.to_path_buf(),
    }
}

/// Runs a client command against `node` with its keystore; returns stdout, panicking with
/// stderr on failure.
pub fn cli(node: &NodeProcess, args: &[&str]) -> String {
    let out = try_cli(node, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "wes-node {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a client command against `node`, whatever its outcome.
pub fn try_cli(node: &NodeProcess, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["--rpc", &node.rpc, "--keystore"])
        .arg(node.dir.join("keys.json"))
        .args(args)
        .output()
        .unwrap()
}

/// [`cli`], parsed as JSON.
pub fn cli_json(node: &NodeProcess, args: &[&str]) -> Value {
    let out = cli(node, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

/// A raw HTTP POST to the node; returns the status line and body.
pub fn post(addr: &str, body: &[u8]) -> (String, String) {
    post_with(addr, "", body)
}

/// [`post`] with `headers` (each line ending in `\r\n`) added to the request.
pub fn post_with(addr: &str, headers: &str, body: &[u8]) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body); // the server may close early on an oversize body
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp).to_string();
    let status = resp.lines().next().unwrap_or("").to_string();
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// A raw HTTP GET of `path` (`/health`, `/metrics`); returns the status line and body.
pub fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp).to_string();
    let status = resp.lines().next().unwrap_or("").to_string();
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// A JSON-RPC call; returns the whole response (result or error).
pub fn rpc(node: &NodeProcess, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (_, resp) = post(&node.addr, body.to_string().as_bytes());
    serde_json::from_str(&resp).unwrap_or_else(|e| panic!("{method}: {e}: {resp}"))
}

/// A JSON-RPC call of an operator method (`wes_netBlockPeer`, `wes_settlements`…) with the
/// node's token (`rpc.token` in its data directory) that must succeed; returns its result.
pub fn operator_call(node: &NodeProcess, method: &str, params: Value) -> Value {
    let token = std::fs::read_to_string(node.dir.join("rpc.token")).expect("the node's token");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (_, resp) = post_with(
        &node.addr,
        &format!("Authorization: Bearer {}\r\n", token.trim()),
        body.to_string().as_bytes(),
    );
    let v: Value = serde_json::from_str(&resp).unwrap_or_else(|e| panic!("{method}: {e}: {resp}"));
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// A JSON-RPC call that must succeed; returns its result.
pub fn call(node: &NodeProcess, method: &str, params: Value) -> Value {
    let v = rpc(node, method, params);
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// The node's height.
pub fn height(node: &NodeProcess) -> u64 {
    call(node, "wes_blockNumber", json!([])).as_u64().unwrap()
}

/// Polls `f` every 100 ms until it holds, for at most `secs` seconds.
pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Alice deploys the contract module `wasm` through `node` (`wes contract deploy`), which is
/// then in a block: its resource id.
pub fn deploy_contract(node: &NodeProcess, wasm: &Path) -> String {
    let out = cli_json(
        node,
        &[
            "contract",
            "deploy",
            wasm.to_str().unwrap(),
            "--from",
            "alice",
        ],
    );
    confirmed(node, out["txid"].as_str().unwrap(), 1);
    out["resource"].as_str().unwrap().to_owned()
}

/// Waits until `txid` has at least `n` confirmations on `node`; returns the transaction.
pub fn confirmed(node: &NodeProcess, txid: &str, n: u64) -> Value {
    let mut found = Value::Null;
    wait_until(&format!("{txid} confirmed"), 60, || {
        let tx = rpc(node, "wes_getTransaction", json!([txid]));
        let ok = tx["result"]["confirmations"].as_u64().unwrap_or(0) >= n;
        if ok {
            found = tx["result"].clone();
        }
        ok
    });
    found
}
