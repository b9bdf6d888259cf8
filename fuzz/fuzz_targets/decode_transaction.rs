//! Transactions as they arrive from peers and RPC: decoding must never panic, a decoded value
//! must re-encode to exactly the input (canonical encoding), and every derived value (id,
//! witness commitment, lock checks, signature checks) must be computable without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wes_core::{SignedTransaction, codec, verify};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = codec::decode::<SignedTransaction>(data) {
        assert_eq!(codec::encode(&tx), data, "non-canonical transaction decoded");
        let sighash = tx.tx.sighash();
        let _ = tx.witness_commitment();
        for output in &tx.tx.outputs {
            let _ = output.lock.validate();
            let _ = output.lock.address();
        }
        for s in &tx.witness.signatures {
            let _ = verify(&s.key, sighash.as_bytes(), &s.signature);
        }
    }
});
