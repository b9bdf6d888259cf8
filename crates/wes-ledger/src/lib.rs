//! # wes-ledger
//!
//! The EUTXO ledger: validation rules with typed evidence, per-token fees to the block producer, sponsor pools, the UTXO set and block store (in memory and on sled) with atomic block application, undo data for reorgs, and the mempool.
//!
//! **Status: skeleton.** This crate is reserved in the workspace so that the layout and the
//! dependency direction (every crate depends on `wes-core` only) are fixed from the start;
//! its implementation is tracked in issue #3. It implements `Ledger` from `wes-core`, and a
//! chain that wants something else implements that trait instead of using this crate.
