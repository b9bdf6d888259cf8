//! A chain that runs a kind of resource the SDK does not know: `calc` programs ([`calc`]), a
//! tiny deterministic expression language, executed by a user-written [`Executor`] and
//! verified by a user-written proof system ([`executor`]). The chain registers them with the
//! `wes-node` library in [`open`]; deploying a program and calling it go through the
//! library's generic construction ([`wes_node::Node::construct`]).
//!
//! [`Executor`]: wes_core::Executor

pub mod calc;
pub mod executor;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use wes_core::{
    ChainId, CompactTarget, ContentId, Genesis, Input, Ledger, Lock, OutPoint, Output, OutputBody,
    ResourceStore, SecretKey, TokenId, Transaction, ValidityWindow,
};
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::{Call, Config, Consensus, Node, NodeBuilder};

use executor::{CALC, CalcExecutor, CalcProver, CalcVerifier, ENTRY, KEY, calc_replay};

/// The chain's id.
pub const CHAIN: ChainId = ChainId(9_001);

/// The chain's node.
pub type CalcNode = Node<EutxoLedger<SledStore>>;

/// The genesis of a calc chain `chain_id`: alice holds the native coins.
pub fn genesis(chain_id: ChainId) -> Genesis {
    Genesis {
        chain_id,
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0),
        allocations: vec![Output::asset(
            Lock::key(SecretKey::dev("alice").public_key()),
            TokenId::Native,
            1_000_000_000,
        )],
        message: "calc chain".into(),
    }
}

/// The chain in `dir`: the library's defaults, an instant-seal authority, and the calc
/// executor with its proof system.
///
/// # Errors
/// The node's.
pub fn open(dir: &Path) -> Result<Arc<CalcNode>, wes_node::NodeError> {
    NodeBuilder::new(Config::new(dir), genesis(CHAIN))
        .consensus(|_| {
            Ok(Consensus::instant_seal(
                CHAIN,
                SecretKey::dev("sealer"),
                1_000,
            ))
        })
        // The module this chain adds: a resource kind, its executor, its proof system.
        .executor(Arc::new(CalcExecutor))
        .prover(Arc::new(CalcProver))
        .verifier(Arc::new(CalcVerifier))
        .build()
}

/// Alice's largest coin.
///
/// # Errors
/// She has none.
pub fn alice_coin(node: &CalcNode) -> Result<OutPoint> {
    node.index()
        .outputs_of(&Lock::key(SecretKey::dev("alice").public_key()).address())
        .into_iter()
        .filter_map(|(op, o)| o.as_asset().map(|a| (op, a.amount)))
        .max_by_key(|(_, a)| *a)
        .map(|(op, _)| op)
        .context("alice has no coin")
}

/// Submits `tx` and produces the block that includes it.
///
/// # Errors
/// The transaction is refused, or the block does not include it.
pub fn land(node: &CalcNode, tx: wes_core::SignedTransaction) -> Result<()> {
    node.submit(tx)?;
    let (_, _, n) = node.produce_block()?;
    anyhow::ensure!(n == 1, "the block did not include the transaction");
    Ok(())
}

/// Stores `program` (checked by the calc executor) and registers it on chain with a
/// Resource output owned by alice. Returns its content id.
///
/// # Errors
/// A program that does not parse, or the node's.
pub fn deploy(node: &CalcNode, program: &str) -> Result<ContentId> {
    let id = node.put_resource(program.as_bytes(), CALC, "program.calc")?;
    let stat = node.resources().stat(&id)?.context("just stored")?;
    let alice = SecretKey::dev("alice");
    let coin = alice_coin(node)?;
    let amount = node
        .ledger()
        .unspent(&coin)?
        .and_then(|o| o.as_asset().map(|a| a.amount))
        .context("coin")?;
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: node.chain_id(),
        inputs: vec![Input::spend(coin)],
        outputs: vec![
            Output {
                lock: Lock::key(alice.public_key()),
                body: OutputBody::Resource(stat.body()),
            },
            Output::asset(
                Lock::key(alice.public_key()),
                TokenId::Native,
                amount - 20_000,
            ),
        ],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    };
    land(node, tx.sign(&[&alice]))?;
    Ok(id)
}

/// Calls `program` with `x` as alice: the node executes it once, alice signs the
/// constructed transaction, and a block includes it. Returns the result.
///
/// # Errors
/// A failing program, or the node's.
pub fn call(node: &CalcNode, program: ContentId, x: u64) -> Result<u64> {
    let alice = SecretKey::dev("alice");
    let constructed = node.construct(&Call {
        resource: program,
        entry: ENTRY.into(),
        args: x.to_le_bytes().to_vec(),
        cu_limit: 10_000,
        fee_inputs: vec![alice_coin(node)?],
        fee: 50_000,
        change: Lock::key(alice.public_key()),
        proof_system: calc_replay(),
    })?;
    let mut signed = constructed.tx.sign(&[&alice]);
    signed.witness.proof = constructed.proof;
    land(node, signed)?;
    Ok(u64::from_le_bytes(
        constructed.outcome.return_data.as_slice().try_into()?,
    ))
}

/// The value `program` has stored, read from the chain.
///
/// # Errors
/// The node's.
pub fn stored(node: &CalcNode, program: ContentId) -> Result<Option<u64>> {
    let contract = wes_ispc::contract_id(&program);
    Ok(node
        .ledger()
        .state(&contract, KEY)?
        .and_then(|(_, o)| o.as_state().map(|s| s.data.clone()))
        .map(|d| u64::from_le_bytes(d.try_into().unwrap_or_default())))
}
