//! # saga: a business flow of several steps, spanning blocks, undone in reverse if it fails
//!
//! `order_flow` shows a flow that fits in one call: it lands whole or not at all. A longer
//! process — one that waits for outside answers between steps, or must not hold everything
//! in one transaction — is a **saga**: a sequence of contract calls, one transaction each,
//! where every step that succeeded is undone by its compensation, in reverse order, when a
//! later step fails or the saga times out.
//!
//! The saga's state is this contract's State: a header per saga and one record per step.
//! Each move spends the header, so two transactions making the same move cannot both land:
//! a step runs at most once on the best chain. A driver (`wes_node::saga::SagaDriver`, or any
//! client) submits the moves; it keeps nothing of its own, so a driver that restarts, or
//! another one, picks up where the chain says the saga is.
//!
//! Steps are nested `call`s made by this contract: the contracts they call see the address
//! of `Lock::contract(saga)` as their caller and must authorise it (as `stock` authorises
//! `order_flow`). That authority is this deployment's, so only its owner and the addresses it
//! authorises may begin sagas; otherwise anyone could borrow it (a confused deputy).
//!
//! Entry points (integers little-endian; `saga` is a 32-byte id chosen by the initiator):
//!
//! | entry | arguments | who | effect |
//! |---|---|---|---|
//! | `init` | none | anyone, once | state `"owner"` = caller |
//! | `authorize` | `address[32]` | owner | `address` may begin sagas |
//! | `begin` | `saga ‖ timeout u64 ‖ n u8 ‖ n × (u32 len ‖ step)` | owner or authorised | records the plan; `Running`, step deadline = height + timeout |
//! | `advance` | `saga ‖ step u8` | the initiator | runs step `step` (= steps done), before its deadline; `Completed` after the last |
//! | `fail` | `saga ‖ step u8 ‖ reason` | the initiator | step `step` failed: `Compensating` |
//! | `timeout` | `saga` | anyone | after the deadline of a `Running` saga: `Compensating` |
//! | `compensate` | `saga ‖ step u8` | anyone | undoes step `step` (= steps done − 1); `Compensated` when none is left |
//! | `status` | `saga` | anyone | returns the header |
//!
//! A step is `resource[32] ‖ u32 len ‖ entry ‖ u32 len ‖ args ‖ u32 len ‖ undo entry ‖ undo
//! args (rest)`; an empty undo entry means the step needs no compensation.
//!
//! The header, state `"h" ‖ saga`: `initiator[32] ‖ n u8 ‖ done u8 ‖ status u8 (0 running, 1
//! completed, 2 compensating, 3 compensated) ‖ timeout u64 ‖ deadline u64 ‖ failed step u8 ‖
//! reason`. Step `i` is state `"s" ‖ saga ‖ i`.
//!
//! Events (data starts with the saga id): `saga_begun`, `saga_step` (‖ step), `saga_completed`,
//! `saga_failed` (‖ step ‖ reason), `saga_undone` (‖ step), `saga_compensated`.

#![no_std]

use wes_contract::*;

/// Most steps in one saga: `begin` writes the header and every step (32 keys at most).
const MAX_STEPS: usize = 16;

/// Longest failure reason kept.
const MAX_REASON: usize = 256;

/// Largest `begin` argument list.
const BEGIN_CAP: usize = 16 * 1024;

/// Longest return data a step may give (it is passed on).
const RETURN_CAP: usize = 1024;

const RUNNING: u8 = 0;
const COMPLETED: u8 = 1;
const COMPENSATING: u8 = 2;
const COMPENSATED: u8 = 3;

/// Header bytes before the reason.
const HEAD: usize = 32 + 1 + 1 + 1 + 8 + 8 + 1;

/// The state key of the deployment's owner.
const OWNER: &[u8] = b"owner";

/// A saga's header.
struct Header {
    initiator: Address,
    steps: u8,
    done: u8,
    status: u8,
    timeout: u64,
    deadline: u64,
    failed_step: u8,
    reason: [u8; MAX_REASON],
    reason_len: usize,
}

impl Header {
    fn load(saga: &[u8; 32]) -> Header {
        let mut buf = [0u8; HEAD + MAX_REASON];
        let bytes = match state_get(&key(b"h", saga), &mut buf) {
            Some(b) => b,
            None => abort("saga: no such saga"),
        };
        let mut r = Reader::named(bytes, "saga header");
        let initiator: Address = r.array();
        let steps = r.u8();
        let done = r.u8();
        let status = r.u8();
        let timeout = r.u64();
        let deadline = r.u64();
        let failed_step = r.u8();
        let rest = r.rest();
        let mut reason = [0u8; MAX_REASON];
        reason[..rest.len()].copy_from_slice(rest);
        Header {
            initiator,
            steps,
            done,
            status,
            timeout,
            deadline,
            failed_step,
            reason,
            reason_len: rest.len(),
        }
    }

    fn store(&self, saga: &[u8; 32]) {
        let mut w = Writer::<{ HEAD + MAX_REASON }>::new();
        w.bytes(&self.initiator)
            .u8(self.steps)
            .u8(self.done)
            .u8(self.status)
            .u64(self.timeout)
            .u64(self.deadline)
            .u8(self.failed_step)
            .bytes(&self.reason[..self.reason_len]);
        state_set(&key(b"h", saga), &w);
    }

    /// Enters compensation because step `step` failed for `reason`.
    fn fail(&mut self, saga: &[u8; 32], step: u8, reason: &[u8]) {
        let reason = &reason[..reason.len().min(MAX_REASON)];
        self.status = COMPENSATING;
        self.failed_step = step;
        self.reason[..reason.len()].copy_from_slice(reason);
        self.reason_len = reason.len();
        let mut event = Writer::<{ 32 + 1 + MAX_REASON }>::new();
        event.bytes(saga).u8(step).bytes(reason);
        emit_event("saga_failed", &event);
        self.finish_compensation(saga);
    }

    /// Marks the saga compensated once no step is left to undo.
    fn finish_compensation(&mut self, saga: &[u8; 32]) {
        if self.done == 0 {
            self.status = COMPENSATED;
            emit_event("saga_compensated", saga);
        }
    }
}

/// The state key of step `i` of `saga`.
fn step_key(saga: &[u8; 32], i: u8) -> Writer<MAX_KEY_LEN> {
    let mut k = key(b"s", saga);
    k.u8(i);
    k
}

/// Checks a step record and returns its callee, entry, args, undo entry and undo args.
fn parse_step(bytes: &[u8]) -> (ResourceId, &str, &[u8], &str, &[u8]) {
    let mut r = Reader::named(bytes, "saga step");
    let resource: ResourceId = r.array();
    let entry = name(r.prefixed_u32());
    let args = r.prefixed_u32();
    let undo = name(r.prefixed_u32());
    let undo_args = r.rest();
    require(!entry.is_empty(), "saga: a step needs an entry");
    (resource, entry, args, undo, undo_args)
}

fn name(bytes: &[u8]) -> &str {
    require(bytes.len() <= MAX_KEY_LEN, "saga: entry name too long");
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => abort("saga: entry name is not UTF-8"),
    }
}

/// Reads `saga[32]` and, if `with_step`, `step u8`; the rest is returned.
fn saga_args<'a>(buf: &'a mut [u8], with_step: bool) -> ([u8; 32], u8, &'a [u8]) {
    let mut r = Reader::named(args(buf), "saga arguments");
    let saga: [u8; 32] = r.array();
    let step = if with_step { r.u8() } else { 0 };
    (saga, step, r.rest())
}

fn owner() -> Address {
    let mut owner = [0u8; 32];
    match state_get(OWNER, &mut owner) {
        Some(o) if o.len() == 32 => owner,
        Some(_) => abort("saga: bad owner record"),
        None => abort("saga: not initialised"),
    }
}

entries! {
    /// `init()`: makes the caller the owner of this deployment. Runs once.
    pub fn init() {
        require(args_len() == 0, "saga: init takes no arguments");
        require(!state_has(OWNER), "saga: already initialised");
        state_set(OWNER, &caller());
    }

    /// `authorize(address)`: lets `address` begin sagas (owner only).
    pub fn authorize() {
        let mut buf = [0u8; 32];
        let mut r = Reader::new(args(&mut buf));
        let address: Address = r.array();
        r.end();
        require(caller() == owner(), "saga: only the owner may do this");
        state_set(&key(b"a", &address), &[1]);
    }

    /// `begin(saga, timeout, steps…)`: records a saga's plan and starts it.
    pub fn begin() {
        let mut buf = [0u8; BEGIN_CAP];
        let mut r = Reader::named(args(&mut buf), "saga arguments");
        let saga: [u8; 32] = r.array();
        let timeout = r.u64();
        let n = r.u8();
        let who = caller();
        require(
            who == owner() || state_has(&key(b"a", &who)),
            "saga: caller may not begin sagas",
        );
        require(
            n >= 1 && n as usize <= MAX_STEPS,
            "saga: between 1 and 16 steps",
        );
        require(timeout >= 1, "saga: the timeout is at least one block");
        require(!state_has(&key(b"h", &saga)), "saga: id already used");
        for i in 0..n {
            let step = r.prefixed_u32();
            parse_step(step);
            state_set(&step_key(&saga, i), step);
        }
        r.end();
        let deadline = match height().checked_add(timeout) {
            Some(d) => d,
            None => abort("saga: timeout overflows"),
        };
        Header {
            initiator: who,
            steps: n,
            done: 0,
            status: RUNNING,
            timeout,
            deadline,
            failed_step: 0,
            reason: [0u8; MAX_REASON],
            reason_len: 0,
        }
        .store(&saga);
        emit_event("saga_begun", &saga);
    }

    /// `advance(saga, step)`: runs the next step; returns what the step returned.
    pub fn advance() {
        let mut buf = [0u8; 33];
        let (saga, step, rest) = saga_args(&mut buf, true);
        require(rest.is_empty(), "saga arguments: trailing bytes");
        let mut h = Header::load(&saga);
        require(caller() == h.initiator, "saga: only its initiator advances it");
        require(h.status == RUNNING, "saga: not running");
        require(step == h.done, "saga: not the next step");
        require(height() <= h.deadline, "saga: the step's deadline has passed");
        let mut record = [0u8; MAX_VALUE_LEN];
        let record = match state_get(&step_key(&saga, step), &mut record) {
            Some(r) => r,
            None => abort("saga: step record missing"),
        };
        let (resource, entry, args, _, _) = parse_step(record);
        let mut ret = [0u8; RETURN_CAP];
        let ret = call(&resource, entry, args, &mut ret);
        h.done += 1;
        h.deadline = height().saturating_add(h.timeout);
        let mut event = Writer::<33>::new();
        event.bytes(&saga).u8(step);
        emit_event("saga_step", &event);
        if h.done == h.steps {
            h.status = COMPLETED;
            emit_event("saga_completed", &saga);
        }
        h.store(&saga);
        set_return(ret);
    }

    /// `fail(saga, step, reason)`: the initiator reports that step `step` cannot be done.
    pub fn fail() {
        let mut buf = [0u8; 33 + MAX_REASON];
        let (saga, step, reason) = saga_args(&mut buf, true);
        let mut h = Header::load(&saga);
        require(caller() == h.initiator, "saga: only its initiator fails it");
        require(h.status == RUNNING, "saga: not running");
        require(step == h.done, "saga: not the next step");
        h.fail(&saga, step, reason);
        h.store(&saga);
    }

    /// `timeout(saga)`: anyone may start compensating a running saga whose deadline passed.
    pub fn timeout() {
        let mut buf = [0u8; 32];
        let (saga, _, _) = saga_args(&mut buf, false);
        let mut h = Header::load(&saga);
        require(h.status == RUNNING, "saga: not running");
        require(height() > h.deadline, "saga: the deadline has not passed");
        let step = h.done;
        h.fail(&saga, step, b"timed out");
        h.store(&saga);
    }

    /// `compensate(saga, step)`: undoes the latest step not yet undone.
    pub fn compensate() {
        let mut buf = [0u8; 33];
        let (saga, step, rest) = saga_args(&mut buf, true);
        require(rest.is_empty(), "saga arguments: trailing bytes");
        let mut h = Header::load(&saga);
        require(h.status == COMPENSATING, "saga: not compensating");
        require(
            h.done >= 1 && step == h.done - 1,
            "saga: not the step to undo",
        );
        let mut record = [0u8; MAX_VALUE_LEN];
        let record = match state_get(&step_key(&saga, step), &mut record) {
            Some(r) => r,
            None => abort("saga: step record missing"),
        };
        let (resource, _, _, undo, undo_args) = parse_step(record);
        if !undo.is_empty() {
            call(&resource, undo, undo_args, &mut [0u8; RETURN_CAP]);
        }
        h.done -= 1;
        let mut event = Writer::<33>::new();
        event.bytes(&saga).u8(step);
        emit_event("saga_undone", &event);
        h.finish_compensation(&saga);
        h.store(&saga);
    }

    /// `status(saga)`: returns the saga's header.
    pub fn status() {
        let mut buf = [0u8; 32];
        let (saga, _, rest) = saga_args(&mut buf, false);
        require(rest.is_empty(), "saga arguments: trailing bytes");
        let mut header = [0u8; HEAD + MAX_REASON];
        match state_get(&key(b"h", &saga), &mut header) {
            Some(h) => set_return(h),
            None => abort("saga: no such saga"),
        }
    }
}
