//! The import queue and its worker: blocks and transactions from peers wait in a queue
//! bounded by count and by bytes, and one thread imports them in arrival order; each result
//! goes back to the swarm task as feedback, which relays, charges, answers or continues the
//! sync according to where the block came from.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use libp2p::request_response::ResponseChannel;
use tokio::sync::mpsc;
use wes_core::{Block, SignedTransaction};

use super::event_loop::Feedback;
use super::{NetworkHandle, Service};
use crate::backend::{ChainBackend, Imported, Rejection};
use crate::compact::{CompactBlock, PartialBlock, Rebuilt};
use crate::error::NetError;
use crate::peers::Offence;

/// Where a block being imported came from.
pub(super) enum Origin {
    Gossip(MessageId),
    Sync { epoch: u64, last: bool },
    Candidate(ResponseChannel<Vec<u8>>),
}

/// What the worker imports.
pub(super) enum Job {
    Block {
        block: Block,
        from: PeerId,
        origin: Origin,
    },
    /// A gossiped batch of transactions.
    Txs {
        txs: Vec<SignedTransaction>,
        from: PeerId,
        id: MessageId,
    },
    /// A block gossiped compactly: rebuilt from the pool, then imported or its missing
    /// transactions asked for.
    Compact {
        compact: CompactBlock,
        from: PeerId,
        id: MessageId,
    },
    /// The transactions `from` sent for the positions `asked` of a compact block.
    Fill {
        partial: Box<PartialBlock>,
        asked: Vec<u32>,
        txs: Vec<SignedTransaction>,
        from: PeerId,
        id: MessageId,
    },
}

/// Jobs that go ahead of the others in an [`ImportQueue`].
pub(super) trait Urgency {
    /// Whether this job jumps the queue.
    fn urgent(&self) -> bool;
}

/// Blocks go ahead of transactions: under load, seconds of gossiped transactions wait in
/// the queue, and a peer's block held behind them would leave its height to rival
/// producers (each a reorganisation on half the network). A compact block that lacks
/// transactions still queued behind it asks its sender for them.
impl Urgency for Job {
    fn urgent(&self) -> bool {
        !matches!(self, Job::Txs { .. })
    }
}

/// The queue to the import worker, bounded by count and by bytes: a flood of small
/// transactions and a few huge blocks are both held to a fixed memory. Urgent jobs
/// ([`Urgency`]) have a lane of their own, which the worker empties first.
pub(super) struct ImportQueue<J> {
    urgent: mpsc::Sender<(J, usize)>,
    other: mpsc::Sender<(J, usize)>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The worker's end of an [`ImportQueue`].
pub(super) struct ImportJobs<J> {
    urgent: mpsc::Receiver<(J, usize)>,
    other: mpsc::Receiver<(J, usize)>,
    bytes: Arc<AtomicUsize>,
}

/// A queue of at most `max_jobs` jobs (at least one) in each lane, and `max_bytes` bytes
/// in all.
pub(super) fn queue<J>(max_jobs: usize, max_bytes: usize) -> (ImportQueue<J>, ImportJobs<J>) {
    let (urgent_tx, urgent_rx) = mpsc::channel(max_jobs.max(1));
    let (other_tx, other_rx) = mpsc::channel(max_jobs.max(1));
    let bytes = Arc::new(AtomicUsize::new(0));
    let queue = ImportQueue {
        urgent: urgent_tx,
        other: other_tx,
        bytes: bytes.clone(),
        max_bytes,
    };
    let jobs = ImportJobs {
        urgent: urgent_rx,
        other: other_rx,
        bytes,
    };
    (queue, jobs)
}

impl<J: Urgency> ImportQueue<J> {
    /// Queues `job` of `size` bytes in its lane; `false` if it does not fit (then it is
    /// dropped).
    pub(super) fn push(&self, job: J, size: usize) -> bool {
        let before = self.bytes.fetch_add(size, AtomicOrdering::SeqCst);
        let lane = if job.urgent() {
            &self.urgent
        } else {
            &self.other
        };
        if before.saturating_add(size) > self.max_bytes || lane.try_send((job, size)).is_err() {
            self.bytes.fetch_sub(size, AtomicOrdering::SeqCst);
            return false;
        }
        true
    }
}

impl<J> ImportJobs<J> {
    /// The next job, urgent ones first, its bytes released; `None` once the queue is
    /// closed and empty.
    fn blocking_next(&mut self) -> Option<J> {
        let (urgent, other) = (&mut self.urgent, &mut self.other);
        let (job, size) = futures::executor::block_on(async {
            tokio::select! {
                biased;
                Some(job) = urgent.recv() => Some(job),
                Some(job) = other.recv() => Some(job),
                else => None,
            }
        })?;
        self.bytes.fetch_sub(size, AtomicOrdering::SeqCst);
        Some(job)
    }
}

/// Starts the import worker's thread.
pub(super) fn spawn_worker(
    jobs: ImportJobs<Job>,
    backend: Arc<dyn ChainBackend>,
    handle: NetworkHandle,
    feedback: mpsc::Sender<Feedback>,
) -> Result<(), NetError> {
    std::thread::Builder::new()
        .name("wes-net-import".into())
        .spawn(move || import_worker(jobs, backend, handle, feedback))
        .map_err(|e| NetError::Transport(format!("spawn the import worker: {e}")))?;
    Ok(())
}

fn import_worker(
    mut jobs: ImportJobs<Job>,
    backend: Arc<dyn ChainBackend>,
    handle: NetworkHandle,
    feedback: mpsc::Sender<Feedback>,
) {
    while let Some(job) = jobs.blocking_next() {
        let block_hash = match &job {
            Job::Block { block, .. } => Some(block.hash()),
            Job::Compact { compact, .. } => Some(compact.hash()),
            Job::Fill { partial, .. } => Some(partial.hash()),
            Job::Txs { .. } => None,
        };
        let fb = match job {
            Job::Block {
                block,
                from,
                origin,
            } => Feedback::Block {
                from,
                origin,
                result: backend.import_block(block, &handle),
            },
            Job::Txs { txs, from, id } => Feedback::Txs {
                from,
                id,
                results: backend.import_transactions(&txs, &handle),
                txs,
            },
            Job::Compact { compact, from, id } => {
                if backend.knows_block(&compact.hash()) {
                    Feedback::Block {
                        from,
                        origin: Origin::Gossip(id),
                        result: Ok(Imported::Duplicate),
                    }
                } else {
                    match PartialBlock::new(compact, |ids| backend.pooled_transactions(ids)) {
                        Ok(partial) => rebuild(partial, &*backend, &handle, from, id),
                        Err(e) => invalid_compact(from, id, &e),
                    }
                }
            }
            Job::Fill {
                mut partial,
                asked,
                txs,
                from,
                id,
            } => match partial.fill(&asked, txs) {
                Ok(()) => rebuild(*partial, &*backend, &handle, from, id),
                Err(e) => invalid_compact(from, id, &e),
            },
        };
        // An invalid block heard of is nothing to wait for any more.
        if let (Some(hash), Feedback::Block { result: Err(e), .. }) = (block_hash, &fb)
            && e.fault == wes_core::Fault::Input
        {
            handle.forget_heard_block(&hash);
        }
        if feedback.blocking_send(fb).is_err() {
            return;
        }
    }
}

/// The next step of rebuilding a compact block: its import once it is whole, else the
/// transactions to ask its sender for.
fn rebuild(
    mut partial: PartialBlock,
    backend: &dyn ChainBackend,
    handle: &NetworkHandle,
    from: PeerId,
    id: MessageId,
) -> Feedback {
    match partial.rebuild() {
        Ok(Rebuilt::Block(block)) => Feedback::Block {
            from,
            origin: Origin::Gossip(id),
            result: backend.import_block(*block, handle),
        },
        Ok(Rebuilt::Missing(asked)) => Feedback::Missing {
            partial: Box::new(partial),
            asked,
            from,
            id,
        },
        Err(e) => invalid_compact(from, id, &e),
    }
}

fn invalid_compact(from: PeerId, id: MessageId, e: &crate::compact::CompactError) -> Feedback {
    Feedback::Block {
        from,
        origin: Origin::Gossip(id),
        result: Err(Rejection::invalid(format!("compact block: {e}"))),
    }
}

impl Service {
    /// A block's import is done: its sender is charged if it was invalid, and whoever
    /// waits for it (gossip validation, the candidate's producer, the sync) is told.
    pub(super) fn on_imported(
        &mut self,
        from: PeerId,
        origin: Origin,
        result: Result<Imported, Rejection>,
    ) {
        let invalid = matches!(&result, Err(e) if e.fault == wes_core::Fault::Input);
        if let Err(e) = &result {
            if invalid {
                self.penalise(from, Offence::InvalidBlock, &e.message);
            } else {
                tracing::debug!(peer = %from, "block not imported: {}", e.message);
            }
        }
        match origin {
            Origin::Gossip(id) => self.on_gossip_block_imported(from, &id, &result),
            Origin::Candidate(channel) => self.on_candidate_imported(channel),
            Origin::Sync { epoch, last } => {
                self.on_sync_block_imported(from, epoch, last, result.is_ok())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{self, BAD_NONCE, MemoryChain};

    fn queued<J>(q: &ImportQueue<J>) -> usize {
        q.bytes.load(AtomicOrdering::SeqCst)
    }

    /// Odd numbers are urgent.
    impl Urgency for u32 {
        fn urgent(&self) -> bool {
            self % 2 == 1
        }
    }

    #[test]
    fn the_queue_is_bounded_by_count_and_by_bytes() {
        let (q, mut jobs) = queue::<u32>(2, 100);
        assert!(!q.push(1, 101), "larger than the whole queue");
        assert!(q.push(1, 60));
        assert!(!q.push(3, 41), "101 bytes");
        assert!(q.push(3, 40), "exactly 100 bytes fit");
        assert!(!q.push(5, 0), "two jobs at most in a lane");
        // What was refused holds no bytes; what the worker took frees its bytes.
        assert_eq!(queued(&q), 100);
        assert_eq!(jobs.blocking_next(), Some(1));
        assert_eq!(queued(&q), 40);
        assert!(!q.push(5, 61), "the byte bound is shared by both lanes");
        assert!(q.push(4, 60));
        assert_eq!(jobs.blocking_next(), Some(3));
        assert_eq!(jobs.blocking_next(), Some(4));
        assert_eq!(queued(&q), 0);
        drop(q);
        assert_eq!(jobs.blocking_next(), None);
    }

    #[test]
    fn a_queue_of_zero_jobs_still_takes_one() {
        let (q, _jobs) = queue::<u32>(0, 10);
        assert!(q.push(1, 10));
        assert!(!q.push(3, 0));
    }

    #[test]
    fn urgent_jobs_jump_the_queue_in_their_own_order() {
        let (q, mut jobs) = queue::<u32>(8, 1000);
        for job in [0, 2, 1, 4, 3, 5] {
            assert!(q.push(job, 10));
        }
        let order: Vec<u32> = std::iter::from_fn(|| {
            if queued(&q) == 0 {
                None
            } else {
                jobs.blocking_next()
            }
        })
        .collect();
        assert_eq!(order, [1, 3, 5, 0, 2, 4]);
        // A job in either lane wakes the worker.
        assert!(q.push(2, 10));
        assert_eq!(jobs.blocking_next(), Some(2));
        assert!(q.push(7, 10));
        assert_eq!(jobs.blocking_next(), Some(7));
    }

    #[test]
    fn blocks_are_urgent_and_transactions_are_not() {
        let (from, id) = (PeerId::random(), MessageId::new(b"m"));
        let block = testing::block(testing::hash(1), 1, 1);
        let origin = Origin::Gossip(id.clone());
        assert!(
            Job::Block {
                block,
                from,
                origin
            }
            .urgent()
        );
        assert!(
            !Job::Txs {
                txs: Vec::new(),
                from,
                id
            }
            .urgent()
        );
    }

    #[test]
    fn the_worker_imports_in_arrival_order_and_reports_each_result() {
        let backend = Arc::new(MemoryChain::new(testing::chain(0)));
        let peer = PeerId::random();
        let blocks = [
            testing::block(testing::hash(1), 1, 1),
            testing::block(testing::hash(2), 2, BAD_NONCE),
            testing::block(testing::hash(3), 3, 3),
        ];
        let (q, jobs) = queue(8, 1 << 20);
        for (i, block) in blocks.iter().enumerate() {
            let origin = Origin::Sync {
                epoch: 7,
                last: i == 2,
            };
            let job = Job::Block {
                block: block.clone(),
                from: peer,
                origin,
            };
            assert!(q.push(job, 1000));
        }
        let (feedback_tx, mut feedback) = mpsc::channel(8);
        spawn_worker(jobs, backend.clone(), testing::handle(), feedback_tx).unwrap();
        for (i, block) in blocks.iter().enumerate() {
            let Some(Feedback::Block {
                from,
                origin: Origin::Sync { epoch: 7, last },
                result,
            }) = feedback.blocking_recv()
            else {
                panic!("feedback for block {i} expected");
            };
            assert_eq!((from, last), (peer, i == 2));
            assert_eq!(result.is_err(), block.header.nonce == BAD_NONCE);
        }
        let order: Vec<_> = blocks.iter().map(Block::hash).collect();
        assert_eq!(*backend.imported.lock().unwrap(), order);
        assert_eq!(queued(&q), 0);
        // Closing the queue stops the worker, which drops its end of the feedback.
        drop(q);
        assert!(feedback.blocking_recv().is_none());
    }
}
