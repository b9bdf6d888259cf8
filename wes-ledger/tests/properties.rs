//! Property tests: random chains of valid transfers conserve every token's supply (fees
//! included, through the coinbase), the incremental state root always equals one computed
//! from scratch, and applying then reverting any block restores the exact previous state.

use std::collections::HashMap;

use proptest::prelude::*;
use wes_core::*;
use wes_ledger::*;

const CHAIN: ChainId = ChainId(9);
const KEYS: usize = 4;
const SUPPLY: u128 = 1_000_000_000;
const FEE: u128 = 1_000;

fn keys() -> Vec<SecretKey> {
    (0..KEYS as u8)
        .map(|i| SecretKey::from_seed([i + 1; 32]))
        .collect()
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 0,
        target: CompactTarget(0),
        allocations: keys()
            .iter()
            .map(|k| {
                Output::asset(
                    Lock::key(k.public_key()),
                    TokenId::Native,
                    SUPPLY / KEYS as u128,
                )
            })
            .collect(),
        message: "properties".into(),
    }
}

/// One transfer: the `coin`-th unspent coin (modulo) pays `share`‰ to key `to`.
#[derive(Debug, Clone)]
struct Transfer {
    coin: usize,
    to: usize,
    share: u32,
}

fn transfer() -> impl Strategy<Value = Transfer> {
    (any::<usize>(), 0..KEYS, 1u32..1000).prop_map(|(coin, to, share)| Transfer { coin, to, share })
}

/// The model: unspent outputs and who owns them.
struct Model {
    utxos: HashMap<OutPoint, Output>,
}

impl Model {
    fn apply(&mut self, block: &Block) {
        for t in &block.transactions {
            for i in &t.tx.inputs {
                self.utxos.remove(&i.prev);
            }
            for (i, o) in t.tx.outputs.iter().enumerate() {
                self.utxos.insert(t.tx.outpoint(i as u32), o.clone());
            }
        }
    }

    fn supply(&self) -> u128 {
        self.utxos
            .values()
            .filter_map(|o| o.as_asset())
            .map(|a| a.amount)
            .sum()
    }

    fn root(&self) -> Hash {
        state_root_of(self.utxos.iter())
    }
}

/// Turns transfers into valid transactions, each spending a distinct coin worth more than
/// the fee; coins are picked in a deterministic order.
fn transactions(model: &Model, transfers: &[Transfer]) -> Vec<SignedTransaction> {
    let keys = keys();
    let mut coins: Vec<(OutPoint, Output)> = model
        .utxos
        .iter()
        .filter(|(_, o)| o.as_asset().is_some_and(|a| a.amount > 3 * FEE))
        .map(|(op, o)| (*op, o.clone()))
        .collect();
    coins.sort_by_key(|(op, _)| *op);
    let mut used = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in transfers {
        if coins.is_empty() {
            break;
        }
        let (op, output) = &coins[t.coin % coins.len()];
        if !used.insert(*op) {
            continue;
        }
        let owner = keys
            .iter()
            .find(|k| output.lock == Lock::key(k.public_key()))
            .expect("coins belong to test keys");
        let amount = output.as_asset().unwrap().amount - FEE;
        let pay = (amount * u128::from(t.share) / 1000).max(1);
        let mut outputs = vec![Output::asset(
            Lock::key(keys[t.to].public_key()),
            TokenId::Native,
            pay,
        )];
        if amount > pay {
            outputs.push(Output::asset(
                output.lock.clone(),
                TokenId::Native,
                amount - pay,
            ));
        }
        out.push(
            Transaction {
                version: Transaction::VERSION,
                chain_id: CHAIN,
                inputs: vec![Input::spend(*op)],
                outputs,
                validity: ValidityWindow::ALWAYS,
                execution: None,
            }
            .sign(&[owner]),
        );
    }
    out
}

fn config() -> LedgerConfig {
    let mut c = LedgerConfig::new(CHAIN);
    c.fees = FeePolicy::native(TokenFee {
        per_byte: 1,
        per_cu: 1,
    });
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn supply_is_conserved_and_roots_match_a_full_recount(
        blocks in proptest::collection::vec(proptest::collection::vec(transfer(), 0..8), 1..6)
    ) {
        let ledger = EutxoLedger::open(MemoryStore::new(), config(), &genesis(), VerifierRegistry::new()).unwrap();
        let mut model = Model { utxos: HashMap::new() };
        let g = genesis().coinbase();
        for (i, o) in g.outputs.iter().enumerate() {
            model.utxos.insert(g.outpoint(i as u32), o.clone());
        }
        prop_assert_eq!(ledger.tip().unwrap().state_root, model.root());
        for (height, transfers) in blocks.iter().enumerate() {
            let txs = transactions(&model, transfers);
            let block = ledger
                .build_block(txs, &Lock::key(keys()[0].public_key()), keys()[0].public_key(), height as u64 + 1)
                .unwrap();
            let before = ledger.tip().unwrap();
            ledger.apply_block(&block).unwrap();

            // Apply then revert restores the exact previous state, then apply again.
            let reverted = ledger.revert_tip().unwrap();
            prop_assert_eq!(&reverted, &block);
            prop_assert_eq!(ledger.tip().unwrap(), before);
            prop_assert_eq!(before.state_root, model.root());
            ledger.apply_block(&block).unwrap();

            model.apply(&block);
            prop_assert_eq!(model.supply(), SUPPLY);
            prop_assert_eq!(ledger.tip().unwrap().state_root, model.root());
            for (op, output) in &model.utxos {
                let stored = ledger.unspent(op).unwrap();
                prop_assert_eq!(stored.as_ref(), Some(output));
            }
        }
    }
}
