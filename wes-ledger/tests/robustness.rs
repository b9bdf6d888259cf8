//! Bad input never panics the ledger: arbitrary blocks and transactions, and valid blocks
//! with random parts replaced, get a typed error (or, rarely, are valid) — and a rejected
//! block changes nothing.

mod common;

use common::*;
use proptest::prelude::*;
use wes_core::testing as arb;
use wes_core::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_transactions_get_an_error_not_a_panic(t in arb::signed_transaction()) {
        let ledger = memory_ledger();
        let _ = ledger.check_transaction(&t, &next_ctx(&ledger));
    }

    #[test]
    fn arbitrary_blocks_are_rejected_without_changing_anything(b in arb::block()) {
        let ledger = memory_ledger();
        let before = ledger.tip().unwrap();
        prop_assert!(ledger.apply_block(&b).is_err());
        prop_assert_eq!(ledger.tip().unwrap(), before);
    }

    #[test]
    fn valid_blocks_with_a_part_replaced_never_panic(
        t in arb::signed_transaction(),
        o in arb::output(),
        i in arb::input(),
        which in 0usize..5,
    ) {
        let ledger = memory_ledger();
        let before = ledger.tip().unwrap();
        let mut block = build(&ledger, vec![alice_pays(lock("bob"), 100, 2_000)]);
        match which {
            0 => block.transactions.push(t),
            1 => block.transactions[1].tx.outputs.push(o),
            2 => block.transactions[1].tx.inputs.push(i),
            3 => block.transactions[0].tx.outputs.push(o),
            _ => block.transactions.insert(1, t),
        }
        block.seal_roots();
        if ledger.apply_block(&block).is_err() {
            prop_assert_eq!(ledger.tip().unwrap(), before);
        }
    }
}
