//! The node's feed: what happened, for whoever listens at the moment (RPC subscriptions,
//! an application's own task). Moves of the best chain and admitted transactions are
//! broadcast; a listener that falls behind by more than the channel holds is told it lagged
//! ([`tokio::sync::broadcast::error::RecvError::Lagged`]) and reads the state afresh.
//!
//! Sending costs nothing when nobody listens, and never blocks the node: a slow listener
//! loses events, not the node its speed.

use std::sync::Arc;

use tokio::sync::broadcast;
use wes_core::TxId;

use crate::tip::TipMoved;

/// Moves a listener may fall behind before it lags.
pub const MOVES_KEPT: usize = 256;
/// Admitted transactions a listener may fall behind before it lags.
pub const ADMISSIONS_KEPT: usize = 16_384;

/// The node's broadcast channels.
#[derive(Debug)]
pub struct NodeFeed {
    moves: broadcast::Sender<Arc<TipMoved>>,
    admissions: broadcast::Sender<TxId>,
}

impl Default for NodeFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeFeed {
    /// A feed nobody listens to yet.
    pub fn new() -> Self {
        NodeFeed {
            moves: broadcast::channel(MOVES_KEPT).0,
            admissions: broadcast::channel(ADMISSIONS_KEPT).0,
        }
    }

    /// Every move of the best chain from now on (as the tip observers hear them).
    pub fn moves(&self) -> broadcast::Receiver<Arc<TipMoved>> {
        self.moves.subscribe()
    }

    /// Every transaction admitted to the mempool from now on.
    pub fn admissions(&self) -> broadcast::Receiver<TxId> {
        self.admissions.subscribe()
    }

    pub(crate) fn moved(&self, moved: TipMoved) {
        if self.moves.receiver_count() > 0 {
            // No receiver left in between is no error.
            let _ = self.moves.send(Arc::new(moved));
        }
    }

    pub(crate) fn admitted(&self, id: TxId) {
        if self.admissions.receiver_count() > 0 {
            let _ = self.admissions.send(id);
        }
    }
}
