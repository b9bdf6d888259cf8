//! Checking a construction before signing it. The node executes a call and assembles the
//! transaction; the client signs it. A dishonest node, or whoever sits between the two on
//! plain HTTP, could put anything in what is signed: another call, the caller's coins sent
//! elsewhere. [`check_constructed`] compares the transaction with what the client asked for
//! (the same rules as the TypeScript SDK's `checkConstructed`), and
//! [`Client::sign_checked`] signs only what passes.
//!
//! The amounts of the fee inputs are the caller's knowledge: read from a node the caller
//! trusts, or kept by its wallet. Taken from the same node that constructs, they are only
//! as good as that node.

use wes_core::{
    Amount, ChainId, ContentId, Lock, OutPoint, Output, OutputBody, SecretKey, TokenId,
    Transaction, TxId, codec,
};

use super::{Client, ClientError, ConstructedTx, decode_constructed};
use crate::rpc::WesApiClient;

/// What a construction must be, to be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The chain it is for.
    pub chain_id: ChainId,
    /// The code or model that runs.
    pub resource: ContentId,
    /// The entry point.
    pub entry: String,
    /// The arguments.
    pub args: Vec<u8>,
    /// The caller's fee inputs as sent, with their outputs.
    pub fee_inputs: Vec<(OutPoint, Output)>,
    /// Where the change goes: the caller's lock (or a sponsor pool's).
    pub change: Lock,
    /// The token the fee inputs pay in.
    pub fee_token: TokenId,
    /// The most the fee inputs may lose (their value minus the change returned), in
    /// `fee_token`: the fee, plus whatever the call is meant to pay.
    pub max_spend: Amount,
}

/// Checks `tx` against `expected`: the transaction format and chain, the execution asked
/// for, the fee inputs spent first and exactly as given (and not again), and what the
/// caller's coins lose at most `max_spend`.
///
/// # Errors
/// What differs, in words.
pub fn check_constructed(tx: &Transaction, expected: &Expected) -> Result<(), String> {
    if tx.version != Transaction::VERSION {
        return Err(format!("version {}", tx.version));
    }
    if tx.chain_id != expected.chain_id {
        return Err(format!(
            "chain {}, expected {}",
            tx.chain_id.0, expected.chain_id.0
        ));
    }
    let e = tx.execution.as_ref().ok_or("no execution")?;
    if e.resource != expected.resource {
        return Err(format!(
            "resource {} runs, not {}",
            e.resource, expected.resource
        ));
    }
    if e.entry != expected.entry {
        return Err(format!("entry {}, expected {}", e.entry, expected.entry));
    }
    if e.args != expected.args {
        return Err("other arguments".into());
    }
    if e.cu_used > e.cu_limit {
        return Err("more compute used than the limit".into());
    }
    for (i, (op, _)) in expected.fee_inputs.iter().enumerate() {
        match tx.inputs.get(i) {
            Some(input) if input.prev == *op && input.mode == wes_core::InputMode::Spend => {}
            _ => return Err(format!("input {i} is not the fee input {op}")),
        }
    }
    let ours = &expected.fee_inputs;
    if let Some(again) = tx.inputs[ours.len()..]
        .iter()
        .find(|input| ours.iter().any(|(op, _)| *op == input.prev))
    {
        return Err(format!("{} is spent again", again.prev));
    }
    let mut paid_in: Amount = 0;
    for (op, out) in ours {
        match &out.body {
            OutputBody::Asset(a) if a.token == expected.fee_token => {
                paid_in = paid_in.saturating_add(a.amount);
            }
            _ => return Err(format!("fee input {op} holds no {:?}", expected.fee_token)),
        }
    }
    let back: Amount = tx
        .outputs
        .iter()
        .filter(|o| o.lock == expected.change)
        .filter_map(|o| o.as_asset())
        .filter(|a| a.token == expected.fee_token)
        .map(|a| a.amount)
        .fold(0, Amount::saturating_add);
    let spent = paid_in.saturating_sub(back);
    if spent > expected.max_spend {
        return Err(format!(
            "the caller would pay {spent}, more than {}",
            expected.max_spend
        ));
    }
    Ok(())
}

impl Client {
    /// Checks a construction against `expected` ([`check_constructed`]), then signs it with
    /// `key`, attaches its proof and sends it. Use this rather than
    /// [`sign_and_send`](Client::sign_and_send) for anything a node constructed.
    ///
    /// # Errors
    /// [`ClientError::Mismatch`] naming what differs (nothing is signed);
    /// [`ClientError::Answer`] for a construction that does not decode; as
    /// [`Client::send`].
    pub async fn sign_checked(
        &self,
        key: &SecretKey,
        constructed: &ConstructedTx,
        expected: &Expected,
    ) -> Result<TxId, ClientError> {
        let (tx, proof) = decode_constructed(constructed, "wes_construct*")?;
        if tx.id().to_string() != constructed.txid {
            return Err(ClientError::Mismatch {
                reason: "the id does not match the transaction".into(),
            });
        }
        check_constructed(&tx, expected).map_err(|reason| ClientError::Mismatch { reason })?;
        let mut signed = tx.sign(&[key]);
        signed.witness.proof = proof;
        self.send(&signed).await
    }

    /// The unspent output at `op`, decoded (`wes_getOutput`).
    ///
    /// # Errors
    /// As [`Client::call`]; [`ClientError::Answer`] if it does not decode.
    pub async fn output(&self, op: &OutPoint) -> Result<Output, ClientError> {
        let info = self
            .api()
            .get_output(op.to_string())
            .await
            .map_err(|source| ClientError::Call {
                method: "wes_getOutput".into(),
                source,
            })?;
        hex::decode(&info.encoded)
            .map_err(|e| e.to_string())
            .and_then(|b| codec::decode(&b).map_err(|e| e.to_string()))
            .map_err(|reason| ClientError::Answer {
                method: "wes_getOutput".into(),
                reason,
            })
    }
}
