//! A conformance test any connector service can be run against, whatever it is written in:
//! it speaks the protocol through the node's own [`HttpConnector`] and checks each rule of
//! [the service library](super), step by step.
//!
//! It creates fresh op ids on every run and commits, compensates and aborts some of them,
//! so run it against a service whose effects may be exercised (a test database).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use wes_core::{ContractId, Domain, Hash, SecretKey, codec, hash};

use crate::connector::{Connector, ExternalOp};
use crate::connectors::HttpConnector;

/// The step at which a service broke the protocol, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct ConformanceError {
    /// The rule checked.
    pub step: &'static str,
    /// What the service did instead.
    pub detail: String,
}

/// Checks the service at `url`.
///
/// `request(n)` is the `n`-th request the service accepts (its effects decide what is valid:
/// a shipment order, a payment); requests 0 and 1 must differ. With `node_key`, requests
/// are signed with it, and the service must also refuse unsigned requests and requests
/// signed by another key.
pub fn check(
    url: &str,
    node_key: Option<&SecretKey>,
    request: &dyn Fn(u32) -> Vec<u8>,
) -> Result<(), ConformanceError> {
    let node = match node_key {
        Some(key) => HttpConnector::new(url).signed_by(key.clone()),
        None => HttpConnector::new(url),
    };
    let run = Run {
        node: &node,
        request,
    };
    run.prepare_is_idempotent()?;
    run.commit_and_compensate()?;
    run.abort_is_final()?;
    run.unknown_ops()?;
    if node_key.is_some() {
        run.strangers_are_refused(url)?;
    }
    Ok(())
}

struct Run<'a> {
    node: &'a HttpConnector,
    request: &'a dyn Fn(u32) -> Vec<u8>,
}

fn contract() -> ContractId {
    ContractId(hash(Domain::new("wes-ispc/conformance"), b"contract"))
}

/// A fresh op id: never seen by the service before.
fn fresh_op() -> Hash {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    hash(
        Domain::new("wes-ispc/conformance"),
        codec::encode(&(nanos, n, std::process::id())),
    )
}

fn ok<T>(
    step: &'static str,
    result: Result<T, crate::ConnectorError>,
) -> Result<T, ConformanceError> {
    result.map_err(|e| ConformanceError {
        step,
        detail: format!("refused: {e}"),
    })
}

fn refused<T: std::fmt::Debug>(
    step: &'static str,
    result: Result<T, crate::ConnectorError>,
) -> Result<(), ConformanceError> {
    match result {
        Err(_) => Ok(()),
        Ok(answer) => Err(ConformanceError {
            step,
            detail: format!("accepted, answering {answer:?}"),
        }),
    }
}

impl Run<'_> {
    fn op(&self, n: u32) -> ExternalOp {
        ExternalOp {
            id: fresh_op(),
            contract: contract(),
            request: (self.request)(n),
        }
    }

    fn prepare_is_idempotent(&self) -> Result<(), ConformanceError> {
        let op = self.op(0);
        let first = ok("prepare of a new op", self.node.prepare(&op))?;
        let again = ok("prepare repeated", self.node.prepare(&op))?;
        if again != first {
            return Err(ConformanceError {
                step: "prepare repeated",
                detail: format!("answered {again:?}, the first time {first:?}"),
            });
        }
        let other = ExternalOp {
            request: (self.request)(1),
            ..op.clone()
        };
        refused(
            "prepare of a known op with another request",
            self.node.prepare(&other),
        )?;
        ok("abort of a prepared op", self.node.abort(&op.id))
    }

    fn commit_and_compensate(&self) -> Result<(), ConformanceError> {
        let op = self.op(2);
        ok("prepare", self.node.prepare(&op))?;
        ok("commit of a prepared op", self.node.commit(&op.id))?;
        ok("commit repeated", self.node.commit(&op.id))?;
        refused("abort of a committed op", self.node.abort(&op.id))?;
        ok("compensate of a committed op", self.node.compensate(&op.id))?;
        ok("compensate repeated", self.node.compensate(&op.id))?;
        ok(
            "commit of a compensated op (its transaction came back)",
            self.node.commit(&op.id),
        )?;
        ok("compensate again", self.node.compensate(&op.id))?;
        ok("abort of a compensated op", self.node.abort(&op.id))?;
        refused("commit of an aborted op", self.node.commit(&op.id))
    }

    fn abort_is_final(&self) -> Result<(), ConformanceError> {
        let op = self.op(3);
        ok("prepare", self.node.prepare(&op))?;
        ok("abort of a prepared op", self.node.abort(&op.id))?;
        ok("abort repeated", self.node.abort(&op.id))?;
        refused("commit of an aborted op", self.node.commit(&op.id))?;
        refused("compensate of an aborted op", self.node.compensate(&op.id))?;
        refused("prepare of an aborted op", self.node.prepare(&op))
    }

    fn unknown_ops(&self) -> Result<(), ConformanceError> {
        let early = self.op(4);
        ok(
            "abort of an op never prepared (its prepare may still be on the way)",
            self.node.abort(&early.id),
        )?;
        refused(
            "prepare arriving after its op's abort",
            self.node.prepare(&early),
        )?;
        ok(
            "compensate of an op never prepared",
            self.node.compensate(&fresh_op()),
        )?;
        refused(
            "commit of an op never prepared",
            self.node.commit(&fresh_op()),
        )
    }

    fn strangers_are_refused(&self, url: &str) -> Result<(), ConformanceError> {
        let op = self.op(5);
        refused("an unsigned prepare", HttpConnector::new(url).prepare(&op))?;
        let stranger = HttpConnector::new(url).signed_by(SecretKey::generate());
        refused("a prepare signed by an unknown key", stranger.prepare(&op))?;
        // The refused requests did nothing: the node's own prepare of the op is its first.
        ok("prepare after refused strangers", self.node.prepare(&op))?;
        refused("an abort signed by an unknown key", stranger.abort(&op.id))?;
        refused("an unsigned commit", HttpConnector::new(url).commit(&op.id))?;
        ok("abort", self.node.abort(&op.id))
    }
}
