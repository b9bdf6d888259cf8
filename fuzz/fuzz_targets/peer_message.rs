//! Requests and responses as peers send them (`wes_net::protocol`): decoding within the
//! protocol's limits must never panic and must be canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wes_core::codec;
use wes_net::{Limits, Request, Response};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(request) = codec::decode_with_limit::<Request>(data, limits.max_request_bytes) {
        assert_eq!(codec::encode(&request), data, "non-canonical request decoded");
    }
    if let Ok(response) = codec::decode_with_limit::<Response>(data, limits.max_response_bytes) {
        assert_eq!(codec::encode(&response), data, "non-canonical response decoded");
    }
});
