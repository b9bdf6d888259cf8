//! {{name}}'s unit tests: the contract runs natively against a mock chain
//! (`wes_ispc::offchain::TestChain`), with the chain's own host functions, no WASM, no node.

use serde_json::{Value, json};
use wes_ispc::WasmError;
use wes_ispc::abi::{ContractAbi, DecodedError};
use wes_ispc::offchain::{CallError, TestChain};

#[test]
fn the_owner_counts_and_nobody_else() {
    // The ABI `contract!` declared: typed calls, decoded results, named errors.
    let abi = ContractAbi::from_json(&{{name}}::ABI_JSON).unwrap();
    let mut chain = TestChain::new();
    let counter = chain.deploy("{{name}}", {{name}}::ENTRIES);
    let owner = TestChain::address("owner");
    chain
        .call_typed(&abi, &counter, "init", Value::Null, owner)
        .unwrap();

    let out = chain
        .call_typed(&abi, &counter, "increment", json!({"by": 5}), owner)
        .unwrap();
    assert_eq!(out.returns, json!("5"));
    assert_eq!(out.events[0].topic, "Incremented");
    assert_eq!(out.events[0].fields, Some(json!({"by": "5", "count": "5"})));
    assert!(out.outcome.cu_used > 0);

    let stranger = TestChain::address("stranger");
    let refused = chain
        .call_typed(&abi, &counter, "increment", json!({"by": 1}), stranger)
        .unwrap_err();
    let CallError::Execution(WasmError::Abort(message)) = refused else {
        panic!("expected an abort, got {refused:?}");
    };
    assert_eq!(
        abi.decode_error(&message),
        Some(DecodedError {
            code: 2,
            name: "NotOwner".into(),
            message: "only the owner may do this".into(),
        })
    );
    let count = chain
        .simulate_typed(&abi, &counter, "count", Value::Null, owner)
        .unwrap();
    assert_eq!(count.returns, json!("5"));
}
