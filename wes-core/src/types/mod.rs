//! The data model (DESIGN.md §3): outputs, locks, transactions, blocks, genesis.

pub mod block;
pub mod genesis;
pub mod lock;
pub mod output;
pub mod token;
pub mod trace;
pub mod transaction;
