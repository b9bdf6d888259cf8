//! The user-written executor and proof system run a chain: a program deployed as a resource
//! of the chain's own kind, called in transactions that every node verifies by re-running
//! it; the proof system passes the SDK's conformance suite.

use wes_core::{Blame, Fault};
use wes_custom_executor::executor::{CALC, CalcProver, CalcVerifier, calc_replay};
use wes_custom_executor::{call, deploy, open, stored};
use wes_node::{Call, NodeError};

#[test]
fn a_program_deployed_and_called_updates_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path()).unwrap();
    let id = deploy(&node, "s + x * 2").unwrap();
    assert_eq!(stored(&node, id).unwrap(), None);
    assert_eq!(call(&node, id, 5).unwrap(), 10);
    assert_eq!(call(&node, id, 1).unwrap(), 12);
    assert_eq!(stored(&node, id).unwrap(), Some(12));
    assert_eq!(node.status().height, 3);
    // The chain reopens with the program's state (the verifier ran at each import).
    drop(node);
    let node = open(dir.path()).unwrap();
    assert_eq!(stored(&node, id).unwrap(), Some(12));
}

#[test]
fn bad_programs_and_failing_calls_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path()).unwrap();
    let err = node.put_resource(b"s + ", CALC, "bad").unwrap_err();
    assert!(matches!(err, NodeError::InvalidResource { .. }), "{err}");
    let id = deploy(&node, "100 / x").unwrap();
    let err = call(&node, id, 0).unwrap_err();
    assert!(err.to_string().contains("division by zero"), "{err}");
    let err = node
        .construct(&Call {
            resource: id,
            entry: "apply".into(),
            args: vec![1, 2, 3],
            cu_limit: 10_000,
            fee_inputs: vec![],
            fee: 1,
            change: wes_core::Lock::key(wes_core::SecretKey::dev("alice").public_key()),
            proof_system: calc_replay(),
        })
        .unwrap_err();
    assert_eq!(err.fault(), Fault::Input, "{err}");
}

#[test]
fn calc_replay_passes_the_proof_system_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path()).unwrap();
    let id = deploy(&node, "s * 3 + x").unwrap();
    let alice = wes_core::SecretKey::dev("alice");
    let coin = node
        .index()
        .outputs_of(&wes_core::Lock::key(alice.public_key()).address())
        .into_iter()
        .find(|(_, o)| o.as_asset().is_some())
        .unwrap()
        .0;
    let constructed = node
        .construct(&Call {
            resource: id,
            entry: "apply".into(),
            args: 7u64.to_le_bytes().to_vec(),
            cu_limit: 10_000,
            fee_inputs: vec![coin],
            fee: 50_000,
            change: wes_core::Lock::key(alice.public_key()),
            proof_system: calc_replay(),
        })
        .unwrap();
    wes_core::conformance::check_proof_system(
        &CalcProver,
        &CalcVerifier,
        &constructed.tx,
        &constructed.outcome,
        &node.view(),
    );
}
