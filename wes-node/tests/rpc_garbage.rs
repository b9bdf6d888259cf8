//! Every built-in RPC method, called with garbage, answers with a result or a typed
//! JSON-RPC error that blames the caller, and nothing panics. Garbage is made by mutating
//! well-formed parameters of each method (a real signed transaction, outpoints, ids,
//! addresses, construction and log filters): leaves replaced by others of the same type or
//! of another, hex flipped, truncated or extended, numbers at their edges, fields and
//! elements dropped. So most calls get past JSON decoding into the node's own parsing and
//! checks, which is what this exercises. The methods are called through the node's method
//! table (`wes_node::rpc::module`), as the server calls them.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value, json};
use tempfile::TempDir;
use wes_core::{
    ChainId, Input, Lock, Output, SecretKey, TokenId, Transaction, ValidityWindow, codec,
};

const CHAIN: ChainId = ChainId(43);
const CASES: usize = 1_000;

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Well-formed parameters of each method, the seeds of the garbage.
fn templates() -> Vec<(&'static str, Value)> {
    let alice = SecretKey::dev("alice");
    let genesis = common::genesis(CHAIN, "rpc garbage");
    let coin = genesis.coinbase().outpoint(0);
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(coin)],
        outputs: vec![Output::asset(
            Lock::key(SecretKey::dev("bob").public_key()),
            TokenId::Native,
            1_000,
        )],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[&alice]);
    let tx_hex = hex::encode(codec::encode(&tx));
    let hash = tx.id().to_string();
    let outpoint = format!("{}:0", coin.tx);
    let address = Lock::key(alice.public_key()).address().to_string();
    let payment = json!({
        "fee_inputs": [outpoint], "change": address, "fee": "1000",
        "fee_token": null, "sponsor": null, "cu_limit": 100_000,
    });
    let filter = json!({
        "from_block": 0, "to_block": 10, "contracts": [hash], "topics": ["746f70"],
        "after": "0:0:0", "limit": 5,
    });
    vec![
        ("wes_getBlockByHeight", json!([0])),
        ("wes_getBlockByHash", json!([hash])),
        ("wes_getBalance", json!([address, "latest"])),
        (
            "wes_getUtxos",
            json!([address, "pending", {"after": outpoint, "limit": 10}]),
        ),
        ("wes_getOutput", json!([outpoint])),
        ("wes_getState", json!([hash, "6b6579"])),
        ("wes_sendRawTransaction", json!([tx_hex])),
        ("wes_sendRawTransactions", json!([[tx_hex, tx_hex]])),
        ("wes_getTransaction", json!([hash])),
        ("wes_putResource", json!(["0061736d01000000", "file", "n"])),
        ("wes_getResource", json!([hash])),
        (
            "wes_constructCall",
            json!([{"resource": hash, "entry": "transfer", "args": "00", "payment": payment}]),
        ),
        ("wes_deployModel", json!(["0800", "m"])),
        (
            "wes_constructInference",
            json!([{"model": hash, "input": [1.0, 2.0], "payment": payment}]),
        ),
        ("wes_callModel", json!([hash, [1.0, -2.5]])),
        (
            "wes_netBlockPeer",
            json!(["12D3KooWLbA41t4gySGZpDUnQ8To5fshwq6CxvmVZRak7c2NWSue"]),
        ),
        (
            "wes_netUnblockPeer",
            json!(["12D3KooWLbA41t4gySGZpDUnQ8To5fshwq6CxvmVZRak7c2NWSue"]),
        ),
        ("wes_getLogs", json!([filter])),
        ("wes_settlements", json!([true])),
        ("wes_subscribeTransaction", json!([hash])),
        ("wes_subscribeLogs", json!([filter])),
    ]
}

/// A string like `s`, damaged: a character changed, cut, extended, or replaced outright.
fn mutate_str(s: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    match rng.below(7) {
        0 if !chars.is_empty() => {
            let i = rng.below(chars.len());
            chars[i] = b"0123456789abcdefxZ:- "[rng.below(21)] as char;
        }
        1 => chars.truncate(rng.below(chars.len() + 1)),
        2 => chars.extend(std::iter::repeat_n('f', rng.below(70))),
        3 => {
            let odd = rng.below(4) * 2 + 1;
            chars.truncate(chars.len().saturating_sub(odd));
        }
        4 => return String::new(),
        5 => return "é\u{0}💥".repeat(rng.below(5)),
        _ => return format!("{s}:{}", rng.next() % 5),
    }
    chars.into_iter().collect()
}

/// A number at an edge, or anywhere.
fn number(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(1e300),
        5 => json!(0.5),
        6 => json!(rng.next() % 1_000),
        _ => json!(rng.next()),
    }
}

/// Any leaf.
fn leaf(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => number(rng),
        3 => json!(hex::encode(rng.next().to_be_bytes())),
        _ => json!([]),
    }
}

/// `value`, damaged somewhere (or not at all, now and then).
fn mutate(value: &Value, rng: &mut Rng) -> Value {
    if rng.chance(8) {
        return leaf(rng);
    }
    match value {
        Value::String(s) => {
            if rng.chance(60) {
                Value::String(mutate_str(s, rng))
            } else {
                value.clone()
            }
        }
        Value::Number(_) => {
            if rng.chance(60) {
                number(rng)
            } else {
                value.clone()
            }
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|v| mutate(v, rng)).collect();
            if rng.chance(15) && !items.is_empty() {
                let i = rng.below(items.len());
                items.remove(i);
            }
            if rng.chance(10) {
                items.push(leaf(rng));
            }
            Value::Array(items)
        }
        Value::Object(fields) => {
            let mut out = Map::new();
            for (k, v) in fields {
                if !rng.chance(10) {
                    out.insert(k.clone(), mutate(v, rng));
                }
            }
            if rng.chance(5) {
                out.insert("unexpected".into(), leaf(rng));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_garbage_with_a_typed_error_and_never_panics() {
    let panics = Arc::new(AtomicUsize::new(0));
    {
        let panics = panics.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            panics.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    }
    let dir = TempDir::new().unwrap();
    let (running, _client) =
        common::contract_node(&dir, common::genesis(CHAIN, "rpc garbage"), None).await;
    let methods = wes_node::rpc::module(running.node.clone()).unwrap();
    let mut templates = templates();
    // The methods without parameters get garbage too.
    for name in methods.method_names() {
        if !name.starts_with("wes_unsubscribe") && templates.iter().all(|(m, _)| *m != name) {
            templates.push((name, json!([])));
        }
    }
    assert!(templates.len() >= 28, "{templates:?}");

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut failures: Vec<String> = Vec::new();
    let mut reached = 0usize;
    for (name, template) in &templates {
        for case in 0..CASES {
            let params = mutate(template, &mut rng);
            let request = json!({"jsonrpc": "2.0", "id": case, "method": name, "params": params});
            let (answer, _) = methods
                .raw_json_request(&request.to_string(), 4)
                .await
                .unwrap();
            let answer: Value = serde_json::from_str(answer.get()).unwrap();
            match answer.get("error") {
                Some(error) => {
                    let code = error["code"].as_i64().unwrap();
                    assert!(error["message"].is_string(), "{name}: {error}");
                    if code == i64::from(jsonrpsee::types::error::INTERNAL_ERROR_CODE)
                        || error["data"]["fault"] == "local"
                    {
                        failures.push(format!("{name}({params}): {error}"));
                    }
                    // Past JSON decoding: the node's own checks named a rule.
                    if error["data"]["rule"].is_string() {
                        reached += 1;
                    }
                }
                None => {
                    assert!(answer.get("result").is_some(), "{name}: {answer}");
                    reached += 1;
                }
            }
        }
    }
    // Found by this test: a range ending at `u64::MAX` overflowed while being described.
    let request = json!({"jsonrpc": "2.0", "id": 0, "method": "wes_getLogs",
        "params": [{"from_block": 0, "to_block": u64::MAX}]});
    let (answer, _) = methods
        .raw_json_request(&request.to_string(), 4)
        .await
        .unwrap();
    let answer: Value = serde_json::from_str(answer.get()).unwrap();
    assert_eq!(
        answer["error"]["data"]["rule"], "range_too_large",
        "{answer}"
    );
    assert!(
        failures.is_empty(),
        "garbage blamed on the node:\n{}",
        failures.join("\n")
    );
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a method panicked");
    // Most garbage reaches the node's own parsing, not only serde's.
    assert!(
        reached * 2 > templates.len() * CASES,
        "{reached} of {} calls got past decoding",
        templates.len() * CASES
    );
    running.stop().await;
}
