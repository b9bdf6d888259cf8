//! `wes_getLogs`: contract logs over a range of the best chain, from the node's event index
//! ([`crate::events::EventIndex`]).

use wes_core::ContractId;

use super::json::parse;
use super::types::{Log, LogFilter, LogPage};
use super::{RpcResult, invalid, node_err, not_found};
use crate::events::{LogMatch, LogPosition};
use crate::ledger::ChainLedger;
use crate::node::Node;

/// The contracts and topics of `filter`, parsed.
pub(super) fn log_match(filter: &LogFilter) -> RpcResult<LogMatch> {
    Ok(LogMatch {
        contracts: filter
            .contracts
            .iter()
            .enumerate()
            .map(|(i, c)| parse::<ContractId>(&format!("contracts[{i}]"), c))
            .collect::<RpcResult<_>>()?,
        topics: filter.topics.clone(),
    })
}

pub(super) fn get_logs<L: ChainLedger>(node: &Node<L>, filter: &LogFilter) -> RpcResult<LogPage> {
    let index = node
        .events()
        .ok_or_else(|| not_found("this node keeps no index of contract events"))?;
    let matching = log_match(filter)?;
    let limit = filter.limit.unwrap_or(LogFilter::DEFAULT_LIMIT);
    if limit == 0 || limit > LogFilter::MAX_LIMIT {
        return Err(invalid(
            "limit",
            "out_of_range",
            format!("{limit}: from 1 to {}", LogFilter::MAX_LIMIT),
        ));
    }
    let after: Option<LogPosition> = filter
        .after
        .as_deref()
        .map(|a| parse("after", a))
        .transpose()?;
    let best = node.status().height;
    let to = filter.to_block.unwrap_or(best);
    let from = filter.from_block.unwrap_or(to);
    if from > to {
        return Err(invalid(
            "from_block",
            "out_of_range",
            format!("{from} is above to_block {to}"),
        ));
    }
    if to - from >= LogFilter::MAX_RANGE {
        return Err(invalid(
            "to_block",
            "range_too_large",
            format!(
                "{} blocks from {from}; at most {} per request",
                (to - from).saturating_add(1),
                LogFilter::MAX_RANGE
            ),
        ));
    }
    // What the index holds: it may be a move behind the tip for a moment.
    let indexed = index.indexed_height().map_err(node_err)?;
    let Some(to) = indexed.map(|h| h.min(to)).filter(|&t| t >= from) else {
        return Ok(LogPage {
            logs: Vec::new(),
            next: None,
            to_block: to.min(indexed.unwrap_or(0)),
        });
    };
    let (entries, more) = index
        .logs(from, to, &matching, after, limit)
        .map_err(node_err)?;
    let next = more
        .then(|| entries.last().map(|e| e.position().to_string()))
        .flatten();
    Ok(LogPage {
        logs: entries.iter().map(|e| Log::new(e, false)).collect(),
        next,
        to_block: to,
    })
}
