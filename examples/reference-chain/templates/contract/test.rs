//! {{name}}'s unit tests: the contract runs natively against a mock chain
//! (`wes_ispc::offchain::TestChain`), with the chain's own host functions, no WASM, no node.

use wes_ispc::WasmError;
use wes_ispc::offchain::{CallError, TestChain};

#[test]
fn the_owner_counts_and_nobody_else() {
    let mut chain = TestChain::new();
    let counter = chain.deploy("{{name}}", {{name}}::ENTRIES);
    let owner = TestChain::address("owner");
    chain.call(&counter, "init", &[], owner).unwrap();

    // Arguments and results are encoded as the ABI says: a u64 is 8 bytes, little-endian.
    let out = chain
        .call(&counter, "increment", &5u64.to_le_bytes(), owner)
        .unwrap();
    assert_eq!(out.return_data, 5u64.to_le_bytes());
    assert_eq!(out.events[0].topic, "Incremented");
    assert!(out.cu_used > 0);

    let stranger = TestChain::address("stranger");
    assert_eq!(
        chain
            .call(&counter, "increment", &1u64.to_le_bytes(), stranger)
            .unwrap_err(),
        CallError::Execution(WasmError::Abort(
            "#2 NotOwner: only the owner may do this".into()
        ))
    );
    let count = chain.simulate(&counter, "count", &[], owner).unwrap();
    assert_eq!(count.return_data, 5u64.to_le_bytes());
}
