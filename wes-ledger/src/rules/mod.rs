//! The validation rules, in three phases:
//!
//! 1. [`structure`]: what can be checked on the transaction alone (format, limits, duplicate
//!    and overlapping inputs, well-formed outputs).
//! 2. [`signatures`]: every witness signature verifies. Independent of the state, so a
//!    block's signatures are checked in batches on all cores.
//! 3. [`state`]: against the UTXO set: inputs exist, locks are satisfied, value is conserved
//!    per token, fees are paid, sponsor pools and contract state are used as allowed, the
//!    execution proof verifies.

pub(crate) mod signatures;
pub(crate) mod state;
pub(crate) mod structure;
