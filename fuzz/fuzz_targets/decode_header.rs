//! Headers arrive alone during sync: decoding must never panic and must be canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wes_core::{BlockHeader, codec};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = codec::decode::<BlockHeader>(data) {
        assert_eq!(codec::encode(&header), data, "non-canonical header decoded");
        let _ = header.hash();
    }
});
