//! Reads that see the mempool: what a wallet can spend next. Confirmed outputs that a
//! pooled transaction spends are left out and outputs of pooled transactions are included,
//! marked, so that one key can send many transactions before a block confirms any.

use std::collections::HashSet;

use wes_core::{Address, OutPoint, Output};

use crate::ledger::ChainLedger;
use crate::node::Node;

/// Which state a read sees (as Ethereum's `"latest"` and `"pending"` block tags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadTag {
    /// The best chain's state.
    #[default]
    Latest,
    /// The best chain's state with the mempool's transactions applied.
    Pending,
}

impl std::str::FromStr for ReadTag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "latest" => Ok(ReadTag::Latest),
            "pending" => Ok(ReadTag::Pending),
            other => Err(format!(
                "unknown tag {other:?}: expected \"latest\" or \"pending\""
            )),
        }
    }
}

/// An unspent output as a wallet sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedOutput {
    /// Where it is.
    pub outpoint: OutPoint,
    /// The output.
    pub output: Output,
    /// Whether a pooled (not yet confirmed) transaction creates it.
    pub pending: bool,
}

impl<L: ChainLedger> Node<L> {
    /// The unspent outputs `owner` can spend, confirmed ones first, each group in outpoint
    /// order. With [`ReadTag::Pending`], those a pooled transaction spends are left out and
    /// those pooled transactions create (and no other pooled one spends) are added.
    pub fn outputs_of(&self, owner: &Address, tag: ReadTag) -> Vec<OwnedOutput> {
        // The index first, then the pool: an output confirmed in between is then missing
        // from both for this read, never listed twice.
        let confirmed = self.index().outputs_of(owner);
        let owned = |(outpoint, output), pending| OwnedOutput {
            outpoint,
            output,
            pending,
        };
        if tag == ReadTag::Latest {
            return confirmed.into_iter().map(|o| owned(o, false)).collect();
        }
        let pool = self.mempool();
        let pending = pool.unspent_outputs_of(owner);
        let mut out: Vec<OwnedOutput> = confirmed
            .into_iter()
            .filter(|(op, _)| pool.spender(op).is_none())
            .map(|o| owned(o, false))
            .collect();
        drop(pool);
        let listed: HashSet<OutPoint> = out.iter().map(|o| o.outpoint).collect();
        out.extend(
            pending
                .into_iter()
                .filter(|(op, _)| !listed.contains(op))
                .map(|o| owned(o, true)),
        );
        out
    }
}

impl<L: ChainLedger> Node<L> {
    /// One page of [`outputs_of`](Self::outputs_of), all in outpoint order (pending ones
    /// among the confirmed): those after `after`, at most `limit`. The next page starts
    /// after the last outpoint of this one. Confirmed outputs are read a page at a time from
    /// the ledger's index, not the owner's whole list.
    pub fn outputs_page(
        &self,
        owner: &Address,
        tag: ReadTag,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Vec<OwnedOutput> {
        let owned = |(outpoint, output), pending| OwnedOutput {
            outpoint,
            output,
            pending,
        };
        if tag == ReadTag::Latest {
            return self
                .index()
                .outputs_page(owner, after, limit)
                .into_iter()
                .map(|o| owned(o, false))
                .collect();
        }
        // Confirmed ones first (pages, each filtered by the pool under a short lock), then
        // the pool's: an output confirmed in between is missing from this read, never twice.
        let mut confirmed: Vec<(OutPoint, Output)> = Vec::new();
        let mut cursor = after.copied();
        loop {
            let page = self.index().outputs_page(owner, cursor.as_ref(), limit);
            let full = page.len() == limit;
            cursor = page.last().map(|(op, _)| *op);
            {
                let pool = self.mempool();
                confirmed.extend(
                    page.into_iter()
                        .filter(|(op, _)| pool.spender(op).is_none()),
                );
            }
            if !full || confirmed.len() >= limit {
                break;
            }
        }
        let listed: HashSet<OutPoint> = confirmed.iter().map(|(op, _)| *op).collect();
        let mut all: Vec<OwnedOutput> = confirmed.into_iter().map(|o| owned(o, false)).collect();
        all.extend(
            self.mempool()
                .unspent_outputs_of(owner)
                .into_iter()
                .filter(|(op, _)| !listed.contains(op) && after.is_none_or(|a| op > a))
                .map(|o| owned(o, true)),
        );
        all.sort_by_key(|o| o.outpoint);
        all.truncate(limit);
        all
    }
}
