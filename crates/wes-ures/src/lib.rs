//! # wes-ures
//!
//! URES, content-addressed storage for contracts, models and files: chunked Merkle content ids, verified reads, pinning and garbage collection, and fetching chunks from peers.
//!
//! **Status: skeleton.** This crate is reserved in the workspace so that the layout and the
//! dependency direction (every crate depends on `wes-core` only) are fixed from the start;
//! its implementation is tracked in issue #4. It implements `ResourceStore` from `wes-core`, and a
//! chain that wants something else implements that trait instead of using this crate.
