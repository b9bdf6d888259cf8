//! An app chain with a ledger rule of its own: assets may only go to addresses on an
//! allow-list that a governance key controls ([`rule`]). The rule wraps the SDK's
//! `EutxoLedger` (every EUTXO rule still applies) and is handed to the `wes-node` library
//! with `NodeBuilder::ledger` in [`open`]; everything else is the library's default.

pub mod rule;

use std::path::Path;
use std::sync::Arc;

use wes_core::{
    Address, ChainId, CompactTarget, Genesis, Input, Lock, OutPoint, Output, OutputBody,
    ResourceBody, ResourceMeta, SecretKey, SignedTransaction, TokenId, Transaction, ValidityWindow,
};
use wes_ledger::SledStore;
use wes_node::{Config, Consensus, Node, NodeBuilder, NodeError};

use rule::{AllowListLedger, MEMO};

/// The chain's id.
pub const CHAIN: ChainId = ChainId(2_024);

/// The chain's node.
pub type AppNode = Node<AllowListLedger<SledStore>>;

/// The governance key (a dev key: for the example only).
pub fn governance() -> SecretKey {
    SecretKey::dev("governance")
}

/// The genesis: alice and the governance key funded (so both start on the list).
pub fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0),
        allocations: vec![
            Output::asset(
                Lock::key(SecretKey::dev("alice").public_key()),
                TokenId::Native,
                1_000_000,
            ),
            Output::asset(
                Lock::key(governance().public_key()),
                TokenId::Native,
                1_000_000,
            ),
        ],
        message: "allow-list chain".into(),
    }
}

/// The chain in `dir`.
///
/// # Errors
/// The node's.
pub fn open(dir: &Path) -> Result<Arc<AppNode>, NodeError> {
    let gov = governance().public_key();
    NodeBuilder::new(Config::new(dir), genesis())
        // The swap: the SDK's ledger on sled, wrapped with this chain's rule.
        .ledger(move |ctx| AllowListLedger::open(ctx.eutxo_sled()?, gov).map_err(NodeError::ledger))
        .consensus(|_| {
            Ok(Consensus::instant_seal(
                CHAIN,
                SecretKey::dev("sealer"),
                1_000,
            ))
        })
        .build()
}

/// A transfer of `amount` from the coin `coin` (worth `value`) of `from` to `to`, change
/// back to `from`, fee 10 000.
pub fn transfer(
    from: &SecretKey,
    coin: (OutPoint, u128),
    to: &Address,
    to_lock: Lock,
    amount: u128,
) -> SignedTransaction {
    debug_assert_eq!(&to_lock.address(), to);
    Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(coin.0)],
        outputs: vec![
            Output::asset(to_lock, TokenId::Native, amount),
            Output::asset(
                Lock::key(from.public_key()),
                TokenId::Native,
                coin.1 - amount - 10_000,
            ),
        ],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[from])
}

/// A governance memo (`allow <address>` or `deny <address>`) spending `coin` of `signer`.
/// Only a memo signed by the governance key is accepted.
pub fn memo(signer: &SecretKey, coin: (OutPoint, u128), text: &str) -> SignedTransaction {
    Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(coin.0)],
        outputs: vec![
            Output {
                lock: Lock::key(governance().public_key()),
                body: OutputBody::Resource(ResourceBody {
                    content: wes_ures::content_id(text.as_bytes()),
                    kind: MEMO,
                    size: text.len() as u64,
                    meta: ResourceMeta {
                        name: text.into(),
                        ..Default::default()
                    },
                }),
            },
            Output::asset(
                Lock::key(signer.public_key()),
                TokenId::Native,
                coin.1 - 10_000,
            ),
        ],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[signer])
}

/// The largest native coin of `key`.
pub fn coin_of(node: &AppNode, key: &SecretKey) -> Option<(OutPoint, u128)> {
    node.index()
        .outputs_of(&Lock::key(key.public_key()).address())
        .into_iter()
        .filter_map(|(op, o)| o.as_asset().map(|a| (op, a.amount)))
        .max_by_key(|(_, a)| *a)
}

/// Submits `tx` and produces a block with it.
///
/// # Errors
/// The node refuses the transaction (the rule's reason in the message), or fails.
pub fn land(node: &AppNode, tx: SignedTransaction) -> Result<(), NodeError> {
    node.submit(tx)?;
    node.produce_block()?;
    Ok(())
}
