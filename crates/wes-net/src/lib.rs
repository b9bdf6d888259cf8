//! # wes-net
//!
//! libp2p networking: gossip of transactions and blocks, discovery, block sync, resource transfer between nodes, and peer scoring.
//!
//! **Status: skeleton.** This crate is reserved in the workspace so that the layout and the
//! dependency direction (every crate depends on `wes-core` only) are fixed from the start;
//! its implementation is tracked in issue #9. It implements the URES fetch interface and block/transaction gossip from `wes-core`, and a
//! chain that wants something else implements that trait instead of using this crate.
