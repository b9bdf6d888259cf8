//! Compact blocks and the transactions peers send for them (`wes_net::compact`): a block
//! announced by its ids is rebuilt from a pool and from answers that are all attacker's
//! bytes. Nothing may panic, and a block that comes out must agree with its header's roots.
//!
//! The input is `[pool mask] [answer length: u16 LE] [answer] [compact block]`: the mask says
//! which announced transactions the "pool" returns (as the prefilled ones, so lookups both
//! hit and miss), the answer is decoded as the transactions a peer sends for what is
//! missing, and the rest is the announcement.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wes_core::{SignedTransaction, TxId, codec};
use wes_net::{CompactBlock, PartialBlock, Rebuilt};

fuzz_target!(|data: &[u8]| {
    let [mask, lo, hi, rest @ ..] = data else {
        return;
    };
    let answer_len = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
    let (answer, announcement) = rest.split_at(answer_len);
    let Ok(compact) = codec::decode_with_limit::<CompactBlock>(announcement, 8 << 20) else {
        return;
    };
    let answer: Vec<SignedTransaction> = codec::decode_with_limit(answer, 8 << 20).unwrap_or_default();
    // The pool holds the prefilled transactions (by id) when the mask's low bit says so.
    let pooled: Vec<SignedTransaction> = compact.prefilled.iter().map(|p| p.tx.clone()).collect();
    let header = compact.header.clone();
    let lookup = |ids: &[TxId]| -> Vec<Option<SignedTransaction>> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                (mask >> (i % 8) & 1 == 1)
                    .then(|| pooled.iter().find(|t| t.id() == *id).cloned())
                    .flatten()
            })
            .collect()
    };
    let Ok(mut partial) = PartialBlock::new(compact, lookup) else {
        return;
    };
    let mut answer = Some(answer);
    for _ in 0..3 {
        match partial.rebuild() {
            Ok(Rebuilt::Block(block)) => {
                assert_eq!(block.compute_tx_root(), header.tx_root);
                assert_eq!(block.compute_witness_root(), header.witness_root);
                return;
            }
            Ok(Rebuilt::Missing(asked)) => {
                let Some(txs) = answer.take() else { return };
                if partial.fill(&asked, txs).is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
});
