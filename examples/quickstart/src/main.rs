//! The smallest WES-rs program: everything `wes-core` gives a chain, end to end, in one run.
//!
//! It makes deterministic dev keys, a genesis that funds them, a signed transfer that pays a
//! fee, and block 1 whose coinbase collects that fee; then it checks what a node would check
//! with `wes-core` alone (body roots, batch signature verification, canonical round-trips)
//! and prints the result. The running chain is `wes-node` (`examples/reference-chain`).

use anyhow::{Context, Result, ensure};
use wes_core::{
    BatchVerifier, Block, BlockHeader, ChainId, CompactTarget, Genesis, Hash, Input, Lock, Output,
    SecretKey, SignedTransaction, TokenId, Transaction, ValidityWindow, Witness, codec,
};

const CHAIN: ChainId = ChainId(1337);
const FEE: u128 = 10;

fn dev_key(name: &str) -> SecretKey {
    // Dev keys are derived from their names so every run (and every reader) gets the same.
    SecretKey::dev(name)
}

fn main() -> Result<()> {
    let alice = dev_key("alice");
    let bob = dev_key("bob");
    let miner = dev_key("miner");

    let genesis = Genesis {
        chain_id: CHAIN,
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0x207f_ffff),
        allocations: vec![Output::asset(
            Lock::key(alice.public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: "WES-rs quickstart devnet".into(),
    };
    // The state root is the ledger's to compute (wes-ledger); zero stands in here.
    let genesis_block = genesis.block(Hash::ZERO);
    let funding = genesis_block.transactions[0].tx.outpoint(0);

    let transfer = Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(funding)],
        outputs: vec![
            Output::asset(Lock::key(bob.public_key()), TokenId::Native, 250_000),
            Output::asset(
                Lock::key(alice.public_key()),
                TokenId::Native,
                1_000_000 - 250_000 - FEE,
            ),
        ],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[&alice]);

    let coinbase = SignedTransaction {
        tx: Transaction {
            version: Transaction::VERSION,
            chain_id: CHAIN,
            inputs: vec![],
            outputs: vec![Output::asset(
                Lock::key(miner.public_key()),
                TokenId::Native,
                FEE,
            )],
            validity: ValidityWindow {
                not_before: 1,
                not_after: 1,
            },
            execution: None,
        },
        witness: Witness::default(),
    };

    let mut block = Block {
        header: BlockHeader {
            version: BlockHeader::VERSION,
            chain_id: CHAIN,
            parent: genesis_block.hash(),
            height: 1,
            time_ms: genesis.time_ms + 5_000,
            tx_root: Hash::ZERO,
            witness_root: Hash::ZERO,
            state_root: Hash::ZERO,
            producer: miner.public_key(),
            target: genesis.target,
            nonce: 0,
            seal: vec![],
        },
        transactions: vec![coinbase, transfer],
    };
    block.seal_roots();

    // What a receiving node checks with wes-core alone.
    block.check_body().context("block body")?;
    let sighashes: Vec<Hash> = block.transactions.iter().map(|t| t.tx.sighash()).collect();
    let mut batch = BatchVerifier::new();
    for (tx, sighash) in block.transactions.iter().zip(&sighashes) {
        for s in &tx.witness.signatures {
            batch.push(s.key, sighash.as_bytes(), s.signature);
        }
    }
    let signatures = batch.len();
    batch.verify().context("block signatures")?;
    let bytes = codec::encode(&block);
    let decoded: Block = codec::decode(&bytes).context("decode block")?;
    ensure!(
        decoded.hash() == block.hash(),
        "block hash changed in a round trip"
    );

    println!("WES-rs quickstart — chain {CHAIN}");
    println!("  genesis block   {}", genesis_block.hash());
    println!(
        "  alice           {}",
        Lock::key(alice.public_key()).address()
    );
    println!(
        "  bob             {}",
        Lock::key(bob.public_key()).address()
    );
    println!(
        "  miner           {}",
        Lock::key(miner.public_key()).address()
    );
    println!(
        "  transfer tx     {} (250000 to bob, fee {FEE})",
        block.transactions[1].id()
    );
    println!("  block 1         {}", block.hash());
    println!("    tx root       {}", block.header.tx_root);
    println!("    witness root  {}", block.header.witness_root);
    println!(
        "    {signatures} signature(s) batch-verified, {} bytes encoded",
        bytes.len()
    );
    println!();
    println!("Next: the reference chain (wes-node) will mine and serve this over JSON-RPC.");
    Ok(())
}
