//! Whose fault an error is: the input's, or this node's.
//!
//! A node must treat the two differently: an invalid block from a peer costs the peer its
//! reputation and is dropped; a failed disk write stops the node from pretending all is well.
//! Every error type that crosses a module trait says which it is.

/// Who caused an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The data given was invalid (a bad block, transaction, proof, chunk…). Retrying the
    /// same data fails again; whoever sent it may be penalised.
    Input,
    /// Something needed is missing for now (an unknown parent, an unfetched resource).
    /// The same data may succeed later.
    Unavailable,
    /// This node failed (storage, a bug, a full disk). The data may be fine; nobody else is
    /// to blame.
    Local,
}

/// Errors that can say whose fault they are.
pub trait Blame {
    /// Who caused the error.
    fn fault(&self) -> Fault;

    /// A stable, machine-readable name of the rule the error reports, in `snake_case`
    /// (`"missing_input"`, `"fee_too_low"`…): what an RPC error's `data` carries so that
    /// clients can act on a refusal without parsing its message. `None` when the error
    /// names no rule of its own (the default).
    fn rule(&self) -> Option<&'static str> {
        None
    }

    /// Whether the error holds whatever the chain's state: what was refused (a malformed
    /// transaction, a bad signature) is invalid on every chain, so whoever sent it is at
    /// fault even if their tip differs from ours. `false` (the default) when it may depend
    /// on the state.
    fn invalid_everywhere(&self) -> bool {
        false
    }
}

impl Blame for crate::codec::CodecError {
    fn fault(&self) -> Fault {
        match self {
            crate::codec::CodecError::Unencodable { .. } => Fault::Local,
            _ => Fault::Input,
        }
    }
}
