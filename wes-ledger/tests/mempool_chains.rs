//! Property: whatever a wallet sends (chains of spends of pending change, double spends,
//! replacements) and whatever blocks do (confirm part of the pool, get reverted), the pool
//! stays a valid next block: everything it holds fits in one block, parents first, and
//! every pooled parent of a held transaction is held.

mod common;

use common::*;
use proptest::prelude::*;
use wes_core::*;
use wes_ledger::*;

#[derive(Clone, Debug)]
enum Step {
    /// Alice spends one of her coins (confirmed or pending), paying bob 1 and `fee`,
    /// splitting the change in two when `split`.
    Spend { coin: usize, fee: u32, split: bool },
    /// A block of at most `max` pooled transactions.
    Mine { max: usize },
    /// The tip block is reverted.
    Revert,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (any::<usize>(), 1_500u32..50_000, any::<bool>())
            .prop_map(|(coin, fee, split)| Step::Spend { coin, fee, split }),
        2 => (0usize..6).prop_map(|max| Step::Mine { max }),
        1 => Just(Step::Revert),
    ]
}

fn spend(coin: (OutPoint, u128), fee: u128, split: bool) -> Option<SignedTransaction> {
    let change = coin.1.checked_sub(1 + fee)?;
    let mut outputs = vec![Output::asset(lock("bob"), TokenId::Native, 1)];
    if split && change >= 2 {
        outputs.push(Output::asset(lock("alice"), TokenId::Native, change / 2));
        outputs.push(Output::asset(
            lock("alice"),
            TokenId::Native,
            change - change / 2,
        ));
    } else {
        outputs.push(Output::asset(lock("alice"), TokenId::Native, change));
    }
    Some(sign(
        tx(vec![Input::spend(coin.0)], outputs),
        &[&key("alice")],
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_pool_is_always_one_valid_block(steps in proptest::collection::vec(step(), 1..40)) {
        let ledger = memory_ledger();
        let mut pool = Mempool::new(MempoolConfig::default(), config().fees);
        // Every coin alice ever had: spent, confirmed or pending alike.
        let mut coins: Vec<(OutPoint, u128)> = vec![(genesis_out(0), 1_000_000)];
        for step in steps {
            match step {
                Step::Spend { coin, fee, split } => {
                    let coin = coins[coin % coins.len()];
                    if let Some(t) = spend(coin, fee.into(), split)
                        && pool.insert(&ledger, t.clone(), &next_ctx(&ledger)).is_ok()
                    {
                        for (i, o) in t.tx.outputs.iter().enumerate().skip(1) {
                            let amount = o.as_asset().unwrap().amount;
                            coins.push((t.tx.outpoint(i as u32), amount));
                        }
                    }
                }
                Step::Mine { max } => {
                    let txs = pool.select(BlockBudget::new(max, 1 << 20)).into_iter().map(|p| p.tx.clone()).collect();
                    let block = mine(&ledger, txs);
                    pool.block_applied(&ledger, &block, &next_ctx(&ledger));
                }
                Step::Revert => {
                    if ledger.tip().unwrap().height > 0 {
                        let block = ledger.revert_tip().unwrap();
                        pool.block_reverted(&ledger, &block, &next_ctx(&ledger));
                    }
                }
            }
            for id in pool.ids() {
                for parent in pool.parents(id) {
                    prop_assert!(pool.contains(parent), "{id}'s parent {parent} is not held");
                }
            }
            let all: Vec<SignedTransaction> =
                pool.select(BlockBudget::UNLIMITED).into_iter().map(|p| p.tx.clone()).collect();
            prop_assert_eq!(all.len(), pool.len());
            let block = build(&ledger, all);
            prop_assert_eq!(block.transactions.len(), pool.len() + 1);
        }
    }
}
