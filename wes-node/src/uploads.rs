//! Content stored for a transaction that is not on chain yet (an upload through
//! `wes_putResource`, a model and circuit stored by `wes_deployModel`) is held by a *lease*:
//! pinned until the lease expires, then left to garbage collection unless a live `Resource`
//! output pinned it meanwhile. The bytes under lease are bounded, so that uploads cannot
//! fill the disk: past the quota an upload is refused until leases expire. Each client has
//! a share of its own ([`UploadConfig::max_leased_bytes_per_client`]), so that one client
//! cannot take the whole quota for a lease's time and lock everyone else out; the
//! operator's uploads ([`Uploader::Operator`]) count against the whole quota only.
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
    /// The most bytes one client's leases hold at once; its upload past it is refused
    /// ([`NodeError::ClientUploadQuota`]) while other clients may still upload.
    pub max_leased_bytes_per_client: u64,
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
            max_leased_bytes_per_client: 64 << 20,
            gc_interval: Some(Duration::from_secs(600)),
        }
    }
}

/// Who an upload is leased for, and so whose share of the quota it takes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Uploader {
    /// The node's operator (the RPC token's holder, or code embedding the node): only the
    /// whole quota applies.
    Operator,
    /// A client, by a stable identity (the RPC uses its address, IPv6 per /64, as its rate
    /// limit does): its own share applies too.
    Client(String),
}

/// One leased content.
struct Lease {
    until: Instant,
    size: u64,
    /// The client whose share it takes (`None`: the operator's).
    client: Option<String>,
}

#[derive(Default)]
struct Table {
    leases: HashMap<ContentId, Lease>,
    bytes: u64,
    /// Bytes leased per client (clients holding none are not listed).
    per_client: HashMap<String, u64>,
}

impl Table {
    /// Forgets the lease on `id`, and its bytes; the lease, if there was one.
    fn remove(&mut self, id: &ContentId) -> Option<Lease> {
        let lease = self.leases.remove(id)?;
        self.bytes = self.bytes.saturating_sub(lease.size);
        if let Some(client) = &lease.client
            && let Some(held) = self.per_client.get_mut(client)
        {
            *held = held.saturating_sub(lease.size);
            if *held == 0 {
                self.per_client.remove(client);
            }
        }
        Some(lease)
    }
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

    /// Pins `id` (`size` bytes) for the lease time on `uploader`'s behalf, before it is
    /// stored: content is never collected between its put and its pin. A lease already
    /// held is extended (whoever asks; it stays counted where it was).
    ///
    /// # Errors
    /// [`NodeError::UploadQuota`] past the whole quota, [`NodeError::ClientUploadQuota`]
    /// past the client's share (nothing pinned); the store's failure.
    pub(crate) fn take(
        &self,
        store: &Resources,
        id: ContentId,
        size: u64,
        now: Instant,
        uploader: &Uploader,
    ) -> Result<(), NodeError> {
        let mut table = self.table();
        let until = now + self.config.lease;
        if let Some(lease) = table.leases.get_mut(&id) {
            lease.until = until;
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
        let client = match uploader {
            Uploader::Operator => None,
            Uploader::Client(client) => {
                let held = table.per_client.get(client).copied().unwrap_or(0);
                if held.saturating_add(size) > self.config.max_leased_bytes_per_client {
                    return Err(NodeError::ClientUploadQuota {
                        client: client.clone(),
                        held,
                        size,
                        max: self.config.max_leased_bytes_per_client,
                    });
                }
                Some(client.clone())
            }
        };
        store.pin(&id)?;
        if let Some(client) = &client {
            *table.per_client.entry(client.clone()).or_default() += size;
        }
        table.leases.insert(
            id,
            Lease {
                until,
                size,
                client,
            },
        );
        table.bytes = wanted;
        Ok(())
    }

    /// Lifts the lease on `id` at once (its upload failed).
    pub(crate) fn release(&self, store: &Resources, id: &ContentId) -> Result<(), NodeError> {
        let mut table = self.table();
        if table.remove(id).is_some() {
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
        let ended: Vec<ContentId> = table
            .leases
            .iter()
            .filter(|(_, lease)| lease.until <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &ended {
            store.unpin(id)?;
            table.remove(id);
        }
        Ok(ended.len())
    }

    /// Bytes held by leases now.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.table().bytes
    }

    /// Bytes held by `client`'s leases now.
    #[cfg(test)]
    fn held_by(&self, client: &str) -> u64 {
        self.table().per_client.get(client).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use wes_core::Blame;

    use super::*;

    fn store() -> Resources {
        Resources::new(wes_ures::MemoryStore::new())
    }

    fn id(seed: u8) -> ContentId {
        wes_ures::content_id(&[seed])
    }

    const OP: Uploader = Uploader::Operator;

    fn client(name: &str) -> Uploader {
        Uploader::Client(name.into())
    }

    #[test]
    fn a_lease_pins_until_it_ends() {
        let (store, now) = (store(), Instant::now());
        let leases = Leases::new(UploadConfig {
            lease: Duration::from_secs(60),
            ..UploadConfig::default()
        });
        leases.take(&store, id(1), 10, now, &OP).unwrap();
        leases.take(&store, id(1), 10, now, &OP).unwrap();
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
            ..UploadConfig::default()
        });
        leases.take(&store, id(1), 60, now, &OP).unwrap();
        let refused = leases.take(&store, id(2), 41, now, &OP).unwrap_err();
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
        leases.take(&store, id(2), 40, now, &OP).unwrap();
        leases
            .expire(&store, now + Duration::from_secs(60))
            .unwrap();
        leases.take(&store, id(3), 100, now, &OP).unwrap();
        leases.release(&store, &id(3)).unwrap();
        assert!(store.pins().unwrap().is_empty());
    }

    #[test]
    fn each_client_has_a_share_and_the_operator_only_the_whole() {
        let (store, now) = (store(), Instant::now());
        let leases = Leases::new(UploadConfig {
            lease: Duration::from_secs(60),
            max_leased_bytes: 100,
            max_leased_bytes_per_client: 40,
            gc_interval: None,
        });
        leases.take(&store, id(1), 30, now, &client("a")).unwrap();
        let refused = leases
            .take(&store, id(2), 11, now, &client("a"))
            .unwrap_err();
        assert!(
            matches!(
                &refused,
                NodeError::ClientUploadQuota { client, held: 30, size: 11, max: 40 } if client == "a"
            ),
            "{refused}"
        );
        assert_eq!(refused.rule(), Some("client_upload_quota"));
        // Another client, and the operator, still upload; the whole quota still holds.
        leases.take(&store, id(2), 40, now, &client("b")).unwrap();
        leases.take(&store, id(3), 30, now, &OP).unwrap();
        assert!(matches!(
            leases.take(&store, id(4), 1, now, &client("c")),
            Err(NodeError::UploadQuota { held: 100, .. })
        ));
        // Content already leased is only extended, whoever asks.
        leases.take(&store, id(2), 40, now, &client("a")).unwrap();
        assert_eq!((leases.held_by("a"), leases.held_by("b")), (30, 40));
        // A released or ended lease gives the client its share back.
        leases.release(&store, &id(1)).unwrap();
        assert_eq!(leases.held_by("a"), 0);
        leases.take(&store, id(1), 10, now, &client("a")).unwrap();
        leases
            .expire(&store, now + Duration::from_secs(60))
            .unwrap();
        assert_eq!((leases.held_by("a"), leases.held_by("b")), (0, 0));
        assert_eq!(leases.held_bytes(), 0);
        assert!(store.pins().unwrap().is_empty());
    }
}
