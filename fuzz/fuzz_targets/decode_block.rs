//! Blocks as they arrive from peers: decoding must never panic, must be canonical, and the
//! body checks (roots, seal length) must run on anything that decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wes_core::{Block, codec};

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = codec::decode::<Block>(data) {
        assert_eq!(codec::encode(&block), data, "non-canonical block decoded");
        let _ = block.hash();
        let _ = block.header.seal_hash();
        let _ = block.check_body();
    }
});
