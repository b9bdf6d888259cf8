//! The committee proof system runs a chain: calls proven by 2 of 3 attestors over HTTP while
//! the node keeps producing and answering RPC, checked by a node that only has the members'
//! keys; false claims, forged proofs and a committee that cannot sign are refused.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use wes_committee_prover::attestor::{AttestRequest, Attestor};
use wes_committee_prover::committee::{Attestations, CommitteeProver, CommitteeVerifier};
use wes_committee_prover::{committee, open, prove_call};
use wes_core::{Blame, Fault, Ledger, ProofError, ProofVerifier, SecretKey, codec};
use wes_custom_executor::executor::{CalcProver, CalcVerifier};
use wes_custom_executor::{deploy, stored};
use wes_node::{LaunchOptions, NodeError};

fn members() -> Vec<SecretKey> {
    ["ana", "bo", "cy"]
        .iter()
        .map(|n| SecretKey::dev(n))
        .collect()
}

fn attestors(keys: &[SecretKey]) -> Vec<Attestor> {
    keys.iter()
        .map(|k| Attestor::start(k.clone(), Arc::new(CalcVerifier)).unwrap())
        .collect()
}

/// A door in front of an attestor: requests wait until the test opens it, then go through.
struct Door {
    url: String,
    open: Arc<(Mutex<bool>, Condvar)>,
    waiting: Arc<Mutex<usize>>,
    server: Arc<tiny_http::Server>,
}

impl Door {
    fn closed_before(upstream: &str) -> Door {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}/attest", server.server_addr().to_ip().unwrap());
        let open = Arc::new((Mutex::new(false), Condvar::new()));
        let waiting = Arc::new(Mutex::new(0));
        let (s, o, w, upstream) = (
            server.clone(),
            open.clone(),
            waiting.clone(),
            upstream.to_owned(),
        );
        std::thread::spawn(move || {
            for mut request in s.incoming_requests() {
                let mut body = Vec::new();
                request.as_reader().read_to_end(&mut body).unwrap();
                *w.lock().unwrap() += 1;
                let (lock, opened) = &*o;
                drop(
                    opened
                        .wait_while(lock.lock().unwrap(), |open| !*open)
                        .unwrap(),
                );
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut answer = agent.post(&upstream).send(&body[..]).unwrap();
                let status = answer.status().as_u16();
                let reply = answer.body_mut().read_to_vec().unwrap();
                let _ =
                    request.respond(tiny_http::Response::from_data(reply).with_status_code(status));
            }
        });
        Door {
            url,
            open,
            waiting,
            server,
        }
    }

    fn waiting(&self) -> usize {
        *self.waiting.lock().unwrap()
    }

    fn open(&self) {
        let (lock, opened) = &*self.open;
        *lock.lock().unwrap() = true;
        opened.notify_all();
    }
}

impl Drop for Door {
    fn drop(&mut self) {
        self.open();
        self.server.unblock();
    }
}

fn rpc_block_number(addr: std::net::SocketAddr) -> u64 {
    let mut answer = ureq::post(&format!("http://{addr}"))
        .header("Content-Type", "application/json")
        .send(r#"{"jsonrpc":"2.0","id":1,"method":"wes_blockNumber","params":[]}"#)
        .unwrap();
    let text = answer.body_mut().read_to_string().unwrap();
    let start = text.find("\"result\":").unwrap() + 9;
    text[start..]
        .trim_end_matches('}')
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no block number in {text}"))
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_proven_by_two_of_three_while_the_node_goes_on_and_checked_by_signatures() {
    let keys = members();
    let mut attestors = attestors(&keys);
    let committee = committee(&keys, 2).unwrap();
    // Member 1 answers only when the door opens; member 2 is down.
    let door = Door::closed_before(attestors[1].url());
    let down = attestors.pop().unwrap();
    let urls = vec![
        attestors[0].url().to_owned(),
        door.url.clone(),
        down.url().to_owned(),
    ];
    drop(down);

    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), &committee, Some(urls), 100).unwrap();
    let program = deploy(&node, "s + x * 2").unwrap();
    let running = wes_node::launch(
        node.clone(),
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            produce: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rpc = running.rpc_addr.unwrap();

    // The prover waits on the closed door; the node produces blocks and answers meanwhile.
    let proving = tokio::spawn({
        let node = node.clone();
        async move { prove_call(&node, program, 5).await }
    });
    until("the prover to reach the door", || door.waiting() == 1).await;
    let height = node.status().height;
    until("blocks while the prover waits", || {
        rpc_block_number(rpc) >= height + 3
    })
    .await;
    assert!(
        !proving.is_finished(),
        "the proof needs the member behind the door"
    );
    door.open();
    let (tx, result) = proving.await.unwrap().unwrap();
    assert_eq!(result, 10);
    let signed: Attestations = codec::decode(&tx.witness.proof).unwrap();
    assert_eq!(
        signed.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        vec![0, 1]
    );
    node.submit(tx).unwrap();
    until("the call to be included", || {
        stored(&node, program).unwrap() == Some(10)
    })
    .await;
    assert_eq!(attestors[0].signed(), 1);
    assert_eq!(attestors[1].signed(), 1);
    running.stop().await;

    // A node with only the members' keys (no prover, no attestor) checks every block.
    let other_dir = tempfile::tempdir().unwrap();
    let other = open(other_dir.path(), &committee, None, 100).unwrap();
    for height in 1..=node.status().height {
        let hash = node.ledger().hash_at(height).unwrap().unwrap();
        let block = node.ledger().block(&hash).unwrap().unwrap();
        other.import_block(block).unwrap();
    }
    assert_eq!(other.status().best, node.status().best);
    assert_eq!(stored(&other, program).unwrap(), Some(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committee_proof_system_passes_the_conformance_suite() {
    let keys = members();
    let attestors = attestors(&keys);
    let committee = committee(&keys, 2).unwrap();
    let urls: Vec<String> = attestors.iter().map(|a| a.url().to_owned()).collect();
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), &committee, Some(urls.clone()), 100).unwrap();
    let program = deploy(&node, "s * 3 + x").unwrap();
    let alice = SecretKey::dev("alice");
    let constructed = node
        .construct_async(wes_node::Call {
            resource: program,
            entry: "apply".into(),
            args: 7u64.to_le_bytes().to_vec(),
            cu_limit: 10_000,
            fee_inputs: vec![wes_custom_executor::alice_coin(&node).unwrap()],
            fee: 50_000,
            change: wes_core::Lock::key(alice.public_key()),
            proof_system: wes_committee_prover::calc_committee(),
        })
        .await
        .unwrap();
    let prover = CommitteeProver::new(
        committee.clone(),
        urls,
        Arc::new(CalcProver),
        Duration::from_secs(5),
    )
    .unwrap();
    let verifier = CommitteeVerifier::new(committee.clone());
    let view = node.view();
    let (tx, outcome) = (constructed.tx, constructed.outcome);
    tokio::task::spawn_blocking(move || {
        wes_core::conformance::check_proof_system(&prover, &verifier, &tx, &outcome, &view);

        // Forgeries: one signature short, a signature by someone outside the committee, a
        // member counted twice.
        let proof: Attestations = codec::decode(&constructed.proof).unwrap();
        let refuse = |signed: Attestations| verifier.verify(&tx, &codec::encode(&signed), &view);
        assert!(matches!(
            refuse(proof[..1].to_vec()),
            Err(ProofError::Rejected { .. })
        ));
        let claim = wes_committee_prover::committee::claim(
            &tx,
            &wes_committee_prover::committee::used_outputs(&tx, &view, &verifier.system()).unwrap(),
        );
        let outsider = SecretKey::dev("mallory").sign(claim.as_bytes());
        let err = refuse(vec![proof[0], (2, outsider)]).unwrap_err();
        assert_eq!(err.fault(), Fault::Input, "{err}");
        assert!(refuse(vec![proof[0], proof[0]]).is_err());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestors_refuse_false_executions_and_too_few_signatures_is_unavailable() {
    let keys = members();
    let attestors = attestors(&keys);
    let committee = committee(&keys, 2).unwrap();
    let urls: Vec<String> = attestors.iter().map(|a| a.url().to_owned()).collect();
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), &committee, Some(urls.clone()), 100).unwrap();
    let program = deploy(&node, "s + x").unwrap();
    let (tx, _) = prove_call(&node, program, 4).await.unwrap();

    // The same request with the written state changed: the attestor re-checks and refuses.
    let view = node.view();
    let mut forged = tx.tx.clone();
    if let wes_core::OutputBody::State(state) = &mut forged.outputs[0].body {
        state.data = 99u64.to_le_bytes().to_vec();
    }
    let request = AttestRequest {
        used: wes_committee_prover::committee::used_outputs(
            &forged,
            &view,
            &wes_committee_prover::calc_committee(),
        )
        .unwrap(),
        tx: forged,
        resource: node.resources().read(&program).unwrap().unwrap(),
        proof: codec::encode(&4u64),
    };
    let url = urls[0].clone();
    let (status, text) = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut answer = agent.post(&url).send(&codec::encode(&request)[..]).unwrap();
        (
            answer.status().as_u16(),
            answer.body_mut().read_to_string().unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("differs"), "{text}");
    let garbage = tokio::task::spawn_blocking({
        let url = urls[0].clone();
        move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            agent
                .post(&url)
                .send(&b"not a request"[..])
                .unwrap()
                .status()
                .as_u16()
        }
    })
    .await
    .unwrap();
    assert_eq!(garbage, 400);

    // Two members down: one signature is not a proof, and the node says why.
    drop(attestors);
    let err = prove_call(&node, program, 1).await.unwrap_err();
    let err = err.downcast::<NodeError>().unwrap();
    assert_eq!(err.fault(), Fault::Unavailable, "{err}");
    assert!(err.to_string().contains("0 of 2 signatures"), "{err}");
}
