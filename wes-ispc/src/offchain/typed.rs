//! Typed calls off-chain: arguments given as JSON and encoded with the contract's ABI, the
//! return value and the contract's events decoded with it, as a node's RPC does
//! (`wes_constructCall`'s `typed_args` and `result`).

use serde_json::Value;
use wes_core::{Address, ContentId, ExecutionOutcome};

use super::{CallError, TestChain};
use crate::abi::ContractAbi;
use crate::contract_id;

/// A call's outcome, with what the contract returned and emitted decoded with its ABI.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedOutcome {
    /// The outcome itself (state writes, outputs, trace, compute units…).
    pub outcome: ExecutionOutcome,
    /// The return value, as JSON (see `wes_ispc::abi::AbiType` for each type's form).
    pub returns: Value,
    /// The events, in order.
    pub events: Vec<TypedEvent>,
}

/// An event of a typed call.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedEvent {
    /// Its topic.
    pub topic: String,
    /// Its fields by name, when the called contract emitted it and its ABI declares it
    /// (`None` for a nested callee's event).
    pub fields: Option<Value>,
}

impl TestChain {
    /// [`TestChain::call`] with the arguments as JSON, by name or in order, encoded with `abi`
    /// (the contract's, e.g. `ContractAbi::from_json(&token::ABI_JSON)`), and the return value
    /// and events decoded with it. A declared error is still a `CallError::Execution` abort;
    /// `abi.decode_error` names it.
    pub fn call_typed(
        &mut self,
        abi: &ContractAbi,
        resource: &ContentId,
        entry: &str,
        args: Value,
        caller: Address,
    ) -> Result<TypedOutcome, CallError> {
        let bytes = abi.encode_args(entry, &args)?;
        let outcome = self.call(resource, entry, &bytes, caller)?;
        decoded(abi, resource, entry, outcome)
    }

    /// [`TestChain::simulate`], typed as [`TestChain::call_typed`] is.
    pub fn simulate_typed(
        &mut self,
        abi: &ContractAbi,
        resource: &ContentId,
        entry: &str,
        args: Value,
        caller: Address,
    ) -> Result<TypedOutcome, CallError> {
        let bytes = abi.encode_args(entry, &args)?;
        let outcome = self.simulate(resource, entry, &bytes, caller)?;
        decoded(abi, resource, entry, outcome)
    }
}

/// `outcome` with its return value and the contract's own events decoded with `abi`.
fn decoded(
    abi: &ContractAbi,
    resource: &ContentId,
    entry: &str,
    outcome: ExecutionOutcome,
) -> Result<TypedOutcome, CallError> {
    let returns = abi.decode_return(entry, &outcome.return_data)?;
    let me = contract_id(resource);
    let events = outcome
        .events
        .iter()
        .map(|event| {
            let fields = if event.contract == me {
                abi.decode_event(&event.topic, &event.data).transpose()?
            } else {
                None
            };
            Ok(TypedEvent {
                topic: event.topic.clone(),
                fields,
            })
        })
        .collect::<Result<_, CallError>>()?;
    Ok(TypedOutcome {
        outcome,
        returns,
        events,
    })
}
