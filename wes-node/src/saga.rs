//! Sagas: business flows of several steps that span blocks, compensated in reverse when a
//! step fails or the flow times out.
//!
//! A flow that fits in one contract call is atomic (the nested calls of `order_flow` land
//! together or not at all). A longer one — steps that wait for outside answers, or that must
//! not all sit in one transaction — is a saga, kept as the State of the generic `saga`
//! contract (`wes-ispc/guest/contracts/saga.rs`): the plan (each step a contract call and
//! the call that undoes it), how many steps are done, and whether the saga is running,
//! completed, compensating or compensated. Every move is an ordinary call of that contract
//! that spends the saga's header, so two transactions making the same move never both land.
//!
//! [`SagaDriver`] moves sagas forward on a node: it reads the saga's state from the best
//! chain, decides the next move ([`SagaState::next_move`]), constructs the call, signs and
//! submits it. It keeps nothing but the transaction it is waiting for, so a driver that
//! restarts, or any other client that can make the same calls, picks up where the chain
//! says the saga is. A client reads a saga with `wes_getState(saga contract, "h" ‖ id)`
//! and decodes the `data` with [`SagaState::decode`].
//!
//! # Guarantees
//!
//! - **Each step's call lands at most once on the best chain, in order**: `advance(i)` is
//!   valid only while `i` steps are done, and spends the header that says so.
//! - **A failed saga undoes every step that landed, latest first**, each undo at most once,
//!   for the same reason. Undoing can be driven by anyone once the saga is compensating, so
//!   a counterparty can unwind a saga its initiator abandoned: after a step's deadline
//!   (`timeout_blocks` after the previous move) anyone may call `timeout`.
//! - **External effects follow their transactions**: a step's external calls are settled
//!   by the node's settlement journal like any call's (commit once deep enough, compensate if
//!   a reorganisation removes the step, abort if it can no longer land). A step rewound by a
//!   reorganisation is simply the next step again: the driver re-runs it.
//!
//! # Not guaranteed
//!
//! - **Isolation.** Between steps, other transactions see and may change what a step did
//!   (stock taken but not yet shipped); a compensation is a new call, not a rollback, and
//!   must make sense on whatever state it meets.
//! - **That a compensation succeeds.** An undo call that aborts leaves the saga
//!   compensating; the driver retries it (reported as [`Progress::Retry`]) until it lands.
//!   Write undo entries that cannot refuse what their step did.
//! - **Why a step failed.** A refused call leaves no trace on chain; `fail` records the
//!   initiator's word for it. A step refused once fails the saga: there is no retry of a
//!   refusal (an unreachable connector, by contrast, is retried until the deadline).
//! - **Timing.** Deadlines are heights the calls are constructed for (the contract's
//!   `height`), not wall-clock times.

use std::sync::Arc;
use std::time::Duration;

use wes_core::{
    Address, Amount, Blame, ContentId, Fault, Lock, OutPoint, SecretKey, TokenId, TxId,
};

use crate::construct::{Call, ConstructError};
use crate::error::NodeError;
use crate::ledger::ChainLedger;
use crate::node::Node;

/// Most steps in one saga (the contract's limit: `begin` writes them all).
pub const MAX_STEPS: usize = 16;

/// Longest failure reason the contract keeps.
pub const MAX_REASON: usize = 256;

/// Longest entry name.
pub const MAX_ENTRY: usize = 64;

/// Largest `begin` argument list the contract reads.
pub const MAX_BEGIN_ARGS: usize = 16 * 1024;

/// A saga's id, chosen by its initiator.
pub type SagaId = [u8; 32];

/// Why a saga could not be planned, read or driven.
#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    /// The plan breaks one of the contract's limits.
    #[error("saga plan: {0}")]
    Plan(String),
    /// The saga's header is not what the contract writes.
    #[error("saga {saga}: malformed header: {reason}")]
    Header {
        /// The saga, hex.
        saga: String,
        /// What is wrong.
        reason: String,
    },
    /// The driver's key has no native coin to pay a move's fee with.
    #[error("no unspent native coin of at least {need} to pay a saga move")]
    NoFeeCoin {
        /// The fee plus a margin.
        need: Amount,
    },
    /// The node failed (reading the chain, constructing or submitting).
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// One step: a call of `entry` on the contract deployed as `resource`, and the call that
/// undoes it, if it needs undoing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaStep {
    /// The contract's code resource.
    pub resource: ContentId,
    /// The entry the step calls.
    pub entry: String,
    /// Its arguments.
    pub args: Vec<u8>,
    /// The compensation: an entry of the same contract and its arguments.
    pub undo: Option<(String, Vec<u8>)>,
}

impl SagaStep {
    /// A step calling `entry(args)` of `resource`, with nothing to undo.
    pub fn new(resource: ContentId, entry: impl Into<String>, args: Vec<u8>) -> Self {
        SagaStep {
            resource,
            entry: entry.into(),
            args,
            undo: None,
        }
    }

    /// The step, undone by `entry(args)` of the same contract.
    pub fn undo_with(mut self, entry: impl Into<String>, args: Vec<u8>) -> Self {
        self.undo = Some((entry.into(), args));
        self
    }

    /// The record the contract stores: `resource ‖ u32 len ‖ entry ‖ u32 len ‖ args ‖ u32
    /// len ‖ undo entry ‖ undo args`.
    pub fn encode(&self) -> Vec<u8> {
        let (undo, undo_args) = match &self.undo {
            Some((entry, args)) => (entry.as_bytes(), args.as_slice()),
            None => (&[][..], &[][..]),
        };
        let mut out = self.resource.as_bytes().to_vec();
        for part in [self.entry.as_bytes(), &self.args, undo] {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
        out.extend_from_slice(undo_args);
        out
    }
}

/// A saga to begin: its id, how many blocks each step may take, and the steps in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaPlan {
    /// The saga's id (unique per saga contract).
    pub id: SagaId,
    /// Blocks after each move within which the next step must be made; after that anyone
    /// may start compensating.
    pub timeout_blocks: u64,
    /// The steps.
    pub steps: Vec<SagaStep>,
}

impl SagaPlan {
    /// The arguments of the contract's `begin`.
    ///
    /// # Errors
    /// [`SagaError::Plan`]: no steps or more than [`MAX_STEPS`], a zero timeout, an empty
    /// or overlong entry name, a step record above the contract's 4096-byte value limit, or
    /// arguments above [`MAX_BEGIN_ARGS`].
    pub fn begin_args(&self) -> Result<Vec<u8>, SagaError> {
        let plan = |reason: String| Err(SagaError::Plan(reason));
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return plan(format!(
                "{} steps; a saga has 1 to {MAX_STEPS}",
                self.steps.len()
            ));
        }
        if self.timeout_blocks == 0 {
            return plan("the timeout is at least one block".into());
        }
        let mut args = self.id.to_vec();
        args.extend_from_slice(&self.timeout_blocks.to_le_bytes());
        args.push(self.steps.len() as u8);
        for (i, step) in self.steps.iter().enumerate() {
            let undo = step.undo.as_ref().map_or("", |(e, _)| e.as_str());
            if step.entry.is_empty() || step.entry.len() > MAX_ENTRY || undo.len() > MAX_ENTRY {
                return plan(format!("step {i}: entry names are 1 to {MAX_ENTRY} bytes"));
            }
            let record = step.encode();
            if record.len() > 4096 {
                return plan(format!(
                    "step {i}: {} bytes; a step record is at most 4096",
                    record.len()
                ));
            }
            args.extend_from_slice(&(record.len() as u32).to_le_bytes());
            args.extend_from_slice(&record);
        }
        if args.len() > MAX_BEGIN_ARGS {
            return plan(format!(
                "{} bytes of arguments; begin reads at most {MAX_BEGIN_ARGS}",
                args.len()
            ));
        }
        Ok(args)
    }
}

/// Where a saga is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaStatus {
    /// Steps are being made.
    Running,
    /// Every step landed.
    Completed,
    /// A step failed or the saga timed out: the steps done are being undone.
    Compensating,
    /// Every step done was undone.
    Compensated,
}

/// Why a saga stopped running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaFailure {
    /// The step that failed (or was due when the saga timed out).
    pub step: u8,
    /// The reason recorded (`"timed out"` for a timeout).
    pub reason: String,
}

/// A saga's header, as the contract keeps it (state `"h" ‖ id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaState {
    /// Who began it (the only one who may advance it).
    pub initiator: Address,
    /// Steps in the plan.
    pub steps: u8,
    /// Steps done and not undone.
    pub done: u8,
    /// Where it is.
    pub status: SagaStatus,
    /// Blocks allowed per step.
    pub timeout_blocks: u64,
    /// The last height at which the next step may be made.
    pub deadline: u64,
    /// Why it stopped running, once it did.
    pub failure: Option<SagaFailure>,
}

/// The next move of a saga: the contract entry to call and for which step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SagaMove {
    /// Run step `n` (`advance`; the initiator only).
    Advance(u8),
    /// Record that step `n` failed (`fail`; the initiator only).
    Fail(u8, String),
    /// Start compensating a saga past its deadline (`timeout`; anyone).
    Timeout,
    /// Undo step `n` (`compensate`; anyone).
    Compensate(u8),
}

impl SagaMove {
    /// The contract entry.
    pub fn entry(&self) -> &'static str {
        match self {
            SagaMove::Advance(_) => "advance",
            SagaMove::Fail(..) => "fail",
            SagaMove::Timeout => "timeout",
            SagaMove::Compensate(_) => "compensate",
        }
    }

    /// The entry's arguments for saga `id`.
    pub fn args(&self, id: &SagaId) -> Vec<u8> {
        let mut args = id.to_vec();
        match self {
            SagaMove::Advance(step) | SagaMove::Compensate(step) => args.push(*step),
            SagaMove::Fail(step, reason) => {
                args.push(*step);
                args.extend_from_slice(truncate(reason, MAX_REASON).as_bytes());
            }
            SagaMove::Timeout => {}
        }
        args
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl SagaState {
    /// The state key of saga `id`'s header.
    pub fn key(id: &SagaId) -> Vec<u8> {
        [b"h".as_slice(), id].concat()
    }

    /// Decodes a header.
    ///
    /// # Errors
    /// [`SagaError::Header`]: too short, an unknown status, more steps done than planned.
    pub fn decode(id: &SagaId, bytes: &[u8]) -> Result<SagaState, SagaError> {
        let bad = |reason: &str| SagaError::Header {
            saga: hex::encode(id),
            reason: reason.into(),
        };
        const HEAD: usize = 32 + 1 + 1 + 1 + 8 + 8 + 1;
        if bytes.len() < HEAD || bytes.len() > HEAD + MAX_REASON {
            return Err(bad(&format!("{} bytes", bytes.len())));
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let mut initiator = [0u8; 32];
        initiator.copy_from_slice(&bytes[..32]);
        let (steps, done) = (bytes[32], bytes[33]);
        let status = match bytes[34] {
            0 => SagaStatus::Running,
            1 => SagaStatus::Completed,
            2 => SagaStatus::Compensating,
            3 => SagaStatus::Compensated,
            other => return Err(bad(&format!("status {other}"))),
        };
        if done > steps {
            return Err(bad(&format!("{done} of {steps} steps done")));
        }
        let failure =
            matches!(status, SagaStatus::Compensating | SagaStatus::Compensated).then(|| {
                SagaFailure {
                    step: bytes[51],
                    reason: String::from_utf8_lossy(&bytes[HEAD..]).into_owned(),
                }
            });
        Ok(SagaState {
            initiator: Address(wes_core::Hash(initiator)),
            steps,
            done,
            status,
            timeout_blocks: u64_at(35),
            deadline: u64_at(43),
            failure,
        })
    }

    /// The move to make next, for a call constructed at `height` by `me`: `None` when the
    /// saga is over, or when it is running, within its deadline, and `me` is not its
    /// initiator (only the initiator advances it).
    pub fn next_move(&self, height: u64, me: &Address) -> Option<SagaMove> {
        match self.status {
            SagaStatus::Completed | SagaStatus::Compensated => None,
            SagaStatus::Compensating => self.done.checked_sub(1).map(SagaMove::Compensate),
            SagaStatus::Running if height > self.deadline => Some(SagaMove::Timeout),
            SagaStatus::Running if *me == self.initiator => Some(SagaMove::Advance(self.done)),
            SagaStatus::Running => None,
        }
    }

    /// Whether the saga is over (completed or compensated).
    pub fn is_finished(&self) -> bool {
        matches!(self.status, SagaStatus::Completed | SagaStatus::Compensated)
    }
}

/// What one [`SagaDriver::poll`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A move was submitted.
    Submitted {
        /// The move.
        step: SagaMove,
        /// Its transaction.
        tx: TxId,
    },
    /// The step was refused by its contract; the saga's failure was submitted (the
    /// [`SagaMove::Fail`] in `step`) and compensation follows once it lands.
    Refused {
        /// The `fail` move, with the refusal as its reason.
        step: SagaMove,
        /// Its transaction.
        tx: TxId,
    },
    /// The driver's previous move is still waiting in the mempool.
    Waiting {
        /// Its transaction.
        tx: TxId,
    },
    /// Nothing to do for this driver: the saga runs within its deadline and is another
    /// key's to advance.
    Idle,
    /// The move could not be made now (a connector unreachable, an undo refused, a fee
    /// coin taken); the next poll tries again.
    Retry {
        /// The move.
        step: SagaMove,
        /// Why it failed.
        reason: String,
    },
    /// The saga is over.
    Finished(SagaStatus),
    /// There is no saga with this id (yet: its `begin` may still be pending).
    Unknown,
}

/// Moves sagas of one saga contract forward on a node, signing with one key.
pub struct SagaDriver<L: ChainLedger> {
    node: Arc<Node<L>>,
    resource: ContentId,
    key: SecretKey,
    fee: Amount,
    cu_limit: u64,
    pending: Option<TxId>,
}

impl<L: ChainLedger> std::fmt::Debug for SagaDriver<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SagaDriver")
            .field("resource", &self.resource)
            .field("signer", &self.address())
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl<L: ChainLedger> SagaDriver<L> {
    /// A driver for the saga contract deployed as `resource`, paying and signing with `key`.
    /// Fees default to 1,000,000 native units per move and calls to 2,000,000 compute units
    /// (a step's nested call and external calls included).
    pub fn new(node: Arc<Node<L>>, resource: ContentId, key: SecretKey) -> Self {
        SagaDriver {
            node,
            resource,
            key,
            fee: 1_000_000,
            cu_limit: 2_000_000,
            pending: None,
        }
    }

    /// Pays `fee` per move.
    pub fn with_fee(mut self, fee: Amount) -> Self {
        self.fee = fee;
        self
    }

    /// Gives each move `cu_limit` compute units.
    pub fn with_cu_limit(mut self, cu_limit: u64) -> Self {
        self.cu_limit = cu_limit;
        self
    }

    /// The address the driver's moves come from.
    pub fn address(&self) -> Address {
        Lock::key(self.key.public_key()).address()
    }

    /// The saga contract's id.
    pub fn contract(&self) -> wes_core::ContractId {
        wes_ispc::contract_id(&self.resource)
    }

    /// Saga `id`'s state on the best chain, `None` if it was never begun there.
    ///
    /// # Errors
    /// [`SagaError::Header`]; the chain could not be read.
    pub fn state(&self, id: &SagaId) -> Result<Option<SagaState>, SagaError> {
        let found = self
            .node
            .view()
            .state(&self.contract(), &SagaState::key(id))
            .map_err(|e| NodeError::Ledger {
                source: Box::new(e),
                rule: None,
            })?;
        let Some((_, output)) = found else {
            return Ok(None);
        };
        let data = output.as_state().map(|s| s.data.as_slice()).unwrap_or(&[]);
        SagaState::decode(id, data).map(Some)
    }

    /// Begins `plan` with the driver's key as its initiator: submits the contract's `begin`.
    ///
    /// # Errors
    /// [`SagaError::Plan`]; the call failed (the key may not begin sagas, the id is used).
    pub fn begin(&mut self, plan: &SagaPlan) -> Result<TxId, SagaError> {
        let args = plan.begin_args()?;
        let tx = self.submit("begin", args)?;
        self.pending = Some(tx);
        Ok(tx)
    }

    /// Makes saga `id`'s next move, if any, and says what happened. Call it after each new
    /// block (from the node's feed, or a timer): a move needs the previous one to have
    /// landed. Faults of the node or the outside world come back as [`Progress::Retry`],
    /// not as errors.
    ///
    /// # Errors
    /// [`SagaError::Header`]; the chain could not be read.
    pub fn poll(&mut self, id: &SagaId) -> Result<Progress, SagaError> {
        if let Some(tx) = self.pending {
            if self.node.mempool().contains(&tx) {
                return Ok(Progress::Waiting { tx });
            }
            // Included, or dropped: the chain's state says which.
            self.pending = None;
        }
        let Some(state) = self.state(id)? else {
            return Ok(Progress::Unknown);
        };
        if state.is_finished() {
            return Ok(Progress::Finished(state.status));
        }
        let height = self.node.next_context().height;
        let Some(step) = state.next_move(height, &self.address()) else {
            return Ok(Progress::Idle);
        };
        let submitted = self.submit(step.entry(), step.args(id));
        match (submitted, &step) {
            (Ok(tx), _) => {
                self.pending = Some(tx);
                Ok(Progress::Submitted { step, tx })
            }
            (Err(e), SagaMove::Advance(n)) if refusal(&e).is_some() => {
                // The step's contract refused: the saga fails and compensation follows.
                // (Had the saga's own checks refused, the state we read was stale, and
                // `fail` for this step is refused in turn: the next poll re-reads.)
                let fail = SagaMove::Fail(*n, refusal(&e).unwrap_or_default());
                match self.submit(fail.entry(), fail.args(id)) {
                    Ok(tx) => {
                        self.pending = Some(tx);
                        Ok(Progress::Refused { step: fail, tx })
                    }
                    Err(e) => Ok(Progress::Retry {
                        step: fail,
                        reason: e.to_string(),
                    }),
                }
            }
            (Err(e), _) => Ok(Progress::Retry {
                step,
                reason: e.to_string(),
            }),
        }
    }

    /// Polls saga `id` every `interval` until it is over or the node stops; returns how it
    /// ended (`None` if the node stopped first). Blocks the calling thread: run it on one
    /// of its own, beside a node that produces or imports blocks.
    ///
    /// # Errors
    /// As [`poll`](Self::poll).
    pub fn drive(
        &mut self,
        id: &SagaId,
        interval: Duration,
    ) -> Result<Option<SagaStatus>, SagaError> {
        while !self.node.stopping() {
            match self.poll(id)? {
                Progress::Finished(status) => return Ok(Some(status)),
                Progress::Retry { step, reason } => {
                    tracing::warn!(saga = %hex::encode(id), ?step, %reason, "saga move failed; retrying");
                }
                _ => {}
            }
            std::thread::sleep(interval);
        }
        Ok(None)
    }

    /// Constructs `entry(args)` of the saga contract, signs it and submits it.
    fn submit(&self, entry: &str, args: Vec<u8>) -> Result<TxId, SagaError> {
        let call = Call {
            resource: self.resource,
            entry: entry.into(),
            args,
            cu_limit: self.cu_limit,
            fee_inputs: vec![self.fee_coin()?],
            fee: self.fee,
            change: Lock::key(self.key.public_key()),
            proof_system: wes_ispc::replay_system(),
        };
        let constructed = self.node.construct(&call)?;
        let mut signed = constructed.tx.sign(&[&self.key]);
        signed.witness.proof = constructed.proof;
        Ok(self.node.submit(signed)?)
    }

    /// A native coin of the driver's key that covers the fee and that no pooled
    /// transaction spends: confirmed, or pooled change.
    fn fee_coin(&self) -> Result<OutPoint, SagaError> {
        let need = self.fee.saturating_add(self.fee / 10);
        let me = self.address();
        let pool = self.node.mempool();
        let confirmed = self.node.index().outputs_of(&me);
        let pooled = pool.unspent_outputs_of(&me);
        confirmed
            .into_iter()
            .filter(|(op, _)| pool.spender(op).is_none())
            .chain(pooled)
            .find(|(_, o)| {
                o.as_asset()
                    .is_some_and(|a| a.token == TokenId::Native && a.amount >= need)
            })
            .map(|(op, _)| op)
            .ok_or(SagaError::NoFeeCoin { need })
    }
}

/// The contract's own refusal (an abort, a trap, running out of units), if that is why `e`
/// failed: not the node's fault nor the outside world's.
fn refusal(e: &SagaError) -> Option<String> {
    let SagaError::Node(NodeError::Construct(c)) = e else {
        return None;
    };
    match c {
        ConstructError::Execution(x) if x.fault == Fault::Input => Some(x.message.clone()),
        ConstructError::Contract(wes_ispc::ConstructError::Execution(w))
            if w.fault() == Fault::Input =>
        {
            Some(w.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(status: u8, done: u8, reason: &[u8]) -> Vec<u8> {
        let mut h = [7u8; 32].to_vec();
        h.extend_from_slice(&[3, done, status]);
        h.extend_from_slice(&5u64.to_le_bytes());
        h.extend_from_slice(&40u64.to_le_bytes());
        h.push(2);
        h.extend_from_slice(reason);
        h
    }

    #[test]
    fn headers_decode_and_choose_the_next_move() {
        let me = Address(wes_core::Hash([7; 32]));
        let other = Address(wes_core::Hash([8; 32]));
        let running = SagaState::decode(&[1; 32], &header(0, 1, b"")).unwrap();
        assert_eq!(running.status, SagaStatus::Running);
        assert_eq!((running.steps, running.done, running.deadline), (3, 1, 40));
        assert_eq!(running.failure, None);
        assert_eq!(running.next_move(40, &me), Some(SagaMove::Advance(1)));
        assert_eq!(
            running.next_move(40, &other),
            None,
            "not other's to advance"
        );
        assert_eq!(running.next_move(41, &other), Some(SagaMove::Timeout));

        let failing = SagaState::decode(&[1; 32], &header(2, 2, b"payment declined")).unwrap();
        let failure = failing.failure.clone().unwrap();
        assert_eq!(
            (failure.step, failure.reason.as_str()),
            (2, "payment declined")
        );
        assert_eq!(failing.next_move(0, &other), Some(SagaMove::Compensate(1)));

        let over = SagaState::decode(&[1; 32], &header(3, 0, b"timed out")).unwrap();
        assert!(over.is_finished());
        assert_eq!(over.next_move(99, &me), None);
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        for bad in [
            vec![],
            header(0, 1, b"")[..50].to_vec(),
            header(9, 1, b""),
            header(0, 4, b""),
            header(2, 1, &[b'x'; MAX_REASON + 1]),
        ] {
            assert!(
                matches!(
                    SagaState::decode(&[0; 32], &bad),
                    Err(SagaError::Header { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn plans_encode_what_the_contract_reads_and_refuse_its_limits() {
        let r = ContentId(wes_core::Hash([5; 32]));
        let step = SagaStep::new(r, "take", vec![1, 2]).undo_with("put_back", vec![3]);
        let rec = step.encode();
        assert_eq!(&rec[..32], r.as_bytes());
        assert_eq!(&rec[32..36], &4u32.to_le_bytes());
        assert_eq!(&rec[36..40], b"take");
        assert_eq!(&rec[40..44], &2u32.to_le_bytes());
        assert_eq!(&rec[44..46], &[1, 2]);
        assert_eq!(&rec[46..50], &8u32.to_le_bytes());
        assert_eq!(&rec[50..58], b"put_back");
        assert_eq!(&rec[58..], &[3]);
        let plan = SagaPlan {
            id: [9; 32],
            timeout_blocks: 4,
            steps: vec![step.clone(), SagaStep::new(r, "charge", vec![])],
        };
        let args = plan.begin_args().unwrap();
        assert_eq!(&args[..32], &[9; 32]);
        assert_eq!(&args[32..40], &4u64.to_le_bytes());
        assert_eq!(args[40], 2);
        assert_eq!(&args[41..45], &(rec.len() as u32).to_le_bytes());

        let refused = |plan: SagaPlan| matches!(plan.begin_args(), Err(SagaError::Plan(_)));
        let with = |steps: Vec<SagaStep>, timeout_blocks| SagaPlan {
            id: [0; 32],
            timeout_blocks,
            steps,
        };
        assert!(refused(with(vec![], 1)));
        assert!(refused(with(vec![step.clone(); MAX_STEPS + 1], 1)));
        assert!(refused(with(vec![step.clone()], 0)));
        assert!(refused(with(vec![SagaStep::new(r, "", vec![])], 1)));
        assert!(refused(with(vec![SagaStep::new(r, "x", vec![0; 4096])], 1)));
        assert!(refused(with(
            vec![SagaStep::new(r, "x", vec![0; 2000]); 9],
            1
        )));
    }

    #[test]
    fn fail_reasons_are_cut_on_a_character_boundary() {
        let long = "é".repeat(200);
        let args = SagaMove::Fail(1, long).args(&[0; 32]);
        assert!(args.len() - 33 <= MAX_REASON);
        assert!(std::str::from_utf8(&args[33..]).is_ok());
    }
}
