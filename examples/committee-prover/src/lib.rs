//! A chain whose calls are proven by a committee over HTTP: the user-written proof system
//! of [`mod@committee`] (m-of-n attestation, with attestors served by [`attestor`]) registered
//! with the `wes-node` library beside the `calc` executor of the `custom-executor` example.
//!
//! The prover waits on the network, so calls are constructed with
//! [`Node::construct_async`](wes_node::Node::construct_async): the proof is gathered on a
//! blocking thread while the node goes on producing, importing and answering RPC. Every node
//! checks a call by its signatures alone; only the attestors run the program again.

pub mod attestor;
pub mod committee;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use wes_core::{ChainId, ContentId, Lock, ProofSystemId, SecretKey};
use wes_custom_executor::executor::{CalcExecutor, CalcProver, ENTRY};
use wes_custom_executor::{CalcNode, alice_coin, genesis, land};
use wes_node::{Call, Config, Consensus, NodeBuilder, NodeError};

use committee::{Committee, CommitteeProver, CommitteeVerifier};

/// The chain's id.
pub const CHAIN: ChainId = ChainId(9_002);

/// How long the prover waits for one attestor.
pub const ATTESTOR_TIMEOUT: Duration = Duration::from_secs(20);

/// The proof system's id on this chain.
pub fn calc_committee() -> ProofSystemId {
    ProofSystemId::new("calc-committee").expect("a valid id")
}

/// The committee of the members `keys`, `threshold` of whom must sign.
///
/// # Errors
/// A threshold that does not fit the members.
pub fn committee(keys: &[SecretKey], threshold: usize) -> Result<Committee> {
    Committee::new(
        calc_committee(),
        keys.iter().map(SecretKey::public_key).collect(),
        threshold,
    )
    .map_err(Into::into)
}

/// The chain in `dir`, sealing a block every `block_time_ms` when launched. With `attestors`
/// (each member's URL) the node proves calls; without, it only checks them.
///
/// # Errors
/// The node's, or attestor URLs that do not fit the committee.
pub fn open(
    dir: &Path,
    committee: &Committee,
    attestors: Option<Vec<String>>,
    block_time_ms: u64,
) -> Result<Arc<CalcNode>, NodeError> {
    let mut builder = NodeBuilder::new(Config::new(dir), genesis(CHAIN))
        .consensus(move |_| {
            Ok(Consensus::instant_seal(
                CHAIN,
                SecretKey::dev("sealer"),
                block_time_ms,
            ))
        })
        .executor(Arc::new(CalcExecutor))
        // The module this chain adds: committee attestation, checked by every node.
        .verifier(Arc::new(CommitteeVerifier::new(committee.clone())));
    if let Some(urls) = attestors {
        let prover = CommitteeProver::new(
            committee.clone(),
            urls,
            Arc::new(CalcProver),
            ATTESTOR_TIMEOUT,
        )
        .map_err(|e| NodeError::Config(e.to_string()))?;
        builder = builder.prover(Arc::new(prover));
    }
    builder.build()
}

/// Alice's call of `program` with `x`, constructed and proven off the node's async threads
/// (the committee answers over HTTP). Returns the transaction, signed and proven, and the
/// program's result.
///
/// # Errors
/// A failing program, a committee that does not sign, or the node's.
pub async fn prove_call(
    node: &Arc<CalcNode>,
    program: ContentId,
    x: u64,
) -> Result<(wes_core::SignedTransaction, u64)> {
    let alice = SecretKey::dev("alice");
    let constructed = node
        .construct_async(Call {
            resource: program,
            entry: ENTRY.into(),
            args: x.to_le_bytes().to_vec(),
            cu_limit: 10_000,
            fee_inputs: vec![alice_coin(node)?],
            fee: 50_000,
            change: Lock::key(alice.public_key()),
            proof_system: calc_committee(),
        })
        .await?;
    let mut signed = constructed.tx.sign(&[&alice]);
    signed.witness.proof = constructed.proof;
    let result = u64::from_le_bytes(constructed.outcome.return_data.as_slice().try_into()?);
    Ok((signed, result))
}

/// [`prove_call`], then a block including it (for a node that is not producing on its own).
///
/// # Errors
/// As [`prove_call`]; the transaction is refused.
pub async fn call(node: &Arc<CalcNode>, program: ContentId, x: u64) -> Result<u64> {
    let (signed, result) = prove_call(node, program, x).await?;
    land(node, signed)?;
    Ok(result)
}
