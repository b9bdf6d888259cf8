//! Content stored for a transaction that is not on chain yet (an upload through
//! `wes_putResource`, a model and circuit stored by `wes_deployModel`) is held by a *lease*:
//! pinned until the lease expires, then left to garbage collection unless a live `Resource`
//! output pinned it meanwhile. The bytes under lease are bounded, so that uploads cannot
//! fill the disk: past the quota an upload is refused until leases expire.
//!
//! Leases live in memory. A restart drops them, and the pins are then reconciled with the
//! ledger ([`wes_ledger::ResourcePins::reconcile`]): content no output holds is collected
//! at the next collection, and its uploader stores it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wes_core::{ContentId, ResourceStore};

use crate::error::NodeError;
use crate::resources::Resources;

/// How long uploads are kept, how many bytes may be kept, how often garbage is collected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadConfig {
    /// How long an upload stays pinned for the transaction that will register it.
    pub lease: Duration,
    /// The most bytes held by leases at once; an upload past it is refused
    /// ([`NodeError::UploadQuota`]).
    pub max_leased_bytes: u64,
    /// How often the running node expires leases and collects unpinned content
    /// (`None`: never on its own; [`Node::collect_garbage`](crate::Node::collect_garbage)
    /// still does it).
    pub gc_interval: Option<Duration>,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            lease: Duration::from_secs(3_600),
            max_leased_bytes: 1 << 30,
            gc_interval: Some(Duration::from_secs(600)),
        }
    }
}

#[derive(Default)]
struct Table {
    /// Each leased content: when its lease ends, and its size.
    leases: HashMap<ContentId, (Instant, u64)>,
    bytes: u64,
}

/// The node's upload leases (see the [module docs](self)).
pub(crate) struct Leases {
    config: UploadConfig,
    table: Mutex<Table>,
}

impl Leases {
    pub(crate) fn new(config: UploadConfig) -> Self {
        Leases {
            config,
            table: Mutex::new(Table::default()),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pins `id` (`size` bytes) for the lease time, before it is stored: content is never
    /// collected between its put and its pin. A lease already held is extended.
    ///
    /// # Errors
    /// [`NodeError::UploadQuota`] past the quota (nothing pinned); the store's failure.
    pub(crate) fn take(
        &self,
        store: &Resources,
        id: ContentId,
        size: u64,
        now: Instant,
    ) -> Result<(), NodeError> {
        let mut table = self.table();
        let until = now + self.config.lease;
        if let Some(lease) = table.leases.get_mut(&id) {
            lease.0 = until;
            return Ok(());
        }
        let wanted = table.bytes.saturating_add(size);
        if wanted > self.config.max_leased_bytes {
            return Err(NodeError::UploadQuota {
                held: table.bytes,
                size,
                max: self.config.max_leased_bytes,
            });
        }
        store.pin(&id)?;
        table.leases.insert(id, (until, size));
        table.bytes = wanted;
        Ok(())
    }

    /// Lifts the lease on `id` at once (its upload failed).
    pub(crate) fn release(&self, store: &Resources, id: &ContentId) -> Result<(), NodeError> {
        let mut table = self.table();
        if let Some((_, size)) = table.leases.remove(id) {
            table.bytes = table.bytes.saturating_sub(size);
            store.unpin(id)?;
        }
        Ok(())
    }

    /// Lifts every lease that ended by `now`; how many.
    ///
    /// # Errors
    /// The store's failure; the leases not yet lifted stay, for the next call.
    pub(crate) fn expire(&self, store: &Resources, now: Instant) -> Result<usize, NodeError> {
        let mut table = self.table();
        let ended: Vec<(ContentId, u64)> = table
            .leases
            .iter()
            .filter(|(_, (until, _))| *until <= now)
            .map(|(id, (_, size))| (*id, *size))
            .collect();
        for (id, size) in &ended {
            store.unpin(id)?;
            table.leases.remove(id);
            table.bytes = table.bytes.saturating_sub(*size);
        }
        Ok(ended.len())
    }

    /// Bytes held by leases now.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.table().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Resources {
        Resources::new(wes_ures::MemoryStore::new())
    }

    fn id(seed: u8) -> ContentId {
        wes_ures::content_id(&[seed])
    }

    #[test]
    fn a_lease_pins_until_it_ends() {
        let (store, now) = (store(), Instant::now());
        let leases = Leases::new(UploadConfig {
            lease: Duration::from_secs(60),
            ..UploadConfig::default()
        });
        leases.take(&store, id(1), 10, now).unwrap();
        leases.take(&store, id(1), 10, now).unwrap();
        assert_eq!(
            store.pins().unwrap(),
            [(id(1), 1)],
            "taken twice, pinned once"
        );
        assert_eq!(leases.expire(&store, now).unwrap(), 0);
        assert_eq!(
            leases
                .expire(&store, now + Duration::from_secs(60))
                .unwrap(),
            1
        );
        assert!(store.pins().unwrap().is_empty());
        assert_eq!(leases.held_bytes(), 0);
    }

    #[test]
    fn uploads_past_the_quota_are_refused_until_leases_end() {
        let (store, now) = (store(), Instant::now());
        let leases = Leases::new(UploadConfig {
            lease: Duration::from_secs(60),
            max_leased_bytes: 100,
            gc_interval: None,
        });
        leases.take(&store, id(1), 60, now).unwrap();
        let refused = leases.take(&store, id(2), 41, now).unwrap_err();
        assert!(
            matches!(
                refused,
                NodeError::UploadQuota {
                    held: 60,
                    size: 41,
                    max: 100
                }
            ),
            "{refused}"
        );
        assert_eq!(store.pins().unwrap(), [(id(1), 1)], "nothing pinned for it");
        leases.take(&store, id(2), 40, now).unwrap();
        leases
            .expire(&store, now + Duration::from_secs(60))
            .unwrap();
        leases.take(&store, id(3), 100, now).unwrap();
        leases.release(&store, &id(3)).unwrap();
        assert!(store.pins().unwrap().is_empty());
    }
}
