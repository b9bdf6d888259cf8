//! # wes-consensus
//!
//! Proof of work with XOR-distance tie-breaking (ASERT difficulty, fork choice by cumulative work), a second dev/authority engine, and the chain manager that follows the best chain.
//!
//! **Status: skeleton.** This crate is reserved in the workspace so that the layout and the
//! dependency direction (every crate depends on `wes-core` only) are fixed from the start;
//! its implementation is tracked in issue #5. It implements `ConsensusEngine` from `wes-core`, and a
//! chain that wants something else implements that trait instead of using this crate.
