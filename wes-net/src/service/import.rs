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

/// The queue to the import worker, bounded by count and by bytes: a flood of small
/// transactions and a few huge blocks are both held to a fixed memory.
pub(super) struct ImportQueue<J> {
    jobs: mpsc::Sender<(J, usize)>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The worker's end of an [`ImportQueue`].
pub(super) struct ImportJobs<J> {
    jobs: mpsc::Receiver<(J, usize)>,
    bytes: Arc<AtomicUsize>,
}

/// A queue of at most `max_jobs` jobs (at least one) and `max_bytes` bytes.
pub(super) fn queue<J>(max_jobs: usize, max_bytes: usize) -> (ImportQueue<J>, ImportJobs<J>) {
    let (tx, rx) = mpsc::channel(max_jobs.max(1));
    let bytes = Arc::new(AtomicUsize::new(0));
    let queue = ImportQueue {
        jobs: tx,
        bytes: bytes.clone(),
        max_bytes,
    };
    (queue, ImportJobs { jobs: rx, bytes })
}

impl<J> ImportQueue<J> {
    /// Queues `job` of `size` bytes; `false` if it does not fit (then it is dropped).
    pub(super) fn push(&self, job: J, size: usize) -> bool {
        let before = self.bytes.fetch_add(size, AtomicOrdering::SeqCst);
        if before.saturating_add(size) > self.max_bytes || self.jobs.try_send((job, size)).is_err()
        {
            self.bytes.fetch_sub(size, AtomicOrdering::SeqCst);
            return false;
        }
        true
    }
}

impl<J> ImportJobs<J> {
    /// The next job, its bytes released; `None` once the queue is closed and empty.
    fn blocking_next(&mut self) -> Option<J> {
        let (job, size) = self.jobs.blocking_recv()?;
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

    #[test]
    fn the_queue_is_bounded_by_count_and_by_bytes() {
        let (q, mut jobs) = queue::<u32>(2, 100);
        assert!(!q.push(0, 101), "larger than the whole queue");
        assert!(q.push(1, 60));
        assert!(!q.push(2, 41), "101 bytes");
        assert!(q.push(3, 40), "exactly 100 bytes fit");
        assert!(!q.push(4, 0), "two jobs at most");
        // What was refused holds no bytes; what the worker took frees its bytes.
        assert_eq!(queued(&q), 100);
        assert_eq!(jobs.blocking_next(), Some(1));
        assert_eq!(queued(&q), 40);
        assert!(!q.push(5, 61));
        assert!(q.push(5, 60));
        assert_eq!(jobs.blocking_next(), Some(3));
        assert_eq!(jobs.blocking_next(), Some(5));
        assert_eq!(queued(&q), 0);
        drop(q);
        assert_eq!(jobs.blocking_next(), None);
    }

    #[test]
    fn a_queue_of_zero_jobs_still_takes_one() {
        let (q, _jobs) = queue::<u32>(0, 10);
        assert!(q.push(1, 10));
        assert!(!q.push(2, 0));
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
