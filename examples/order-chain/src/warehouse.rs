//! The warehouse: the shipping connector's remote side, a service built on
//! [`wes_ispc::service`] whose inventory, shipments and payments live in PostgreSQL.
//!
//! Each protocol request is one database transaction that writes the op's record and the
//! business rows together, so a crash of the service at any point leaves both or neither,
//! and the node's retries finish the work exactly once:
//!
//! | move | inventory | shipment | payment |
//! |---|---|---|---|
//! | prepare | `reserved += qty` | `reserved` | `held` |
//! | commit | `on_hand -= qty`, `reserved -= qty` | `shipped` | `captured` |
//! | abort | `reserved -= qty` | `cancelled` | `voided` |
//! | compensate | `on_hand += qty`, `reserved += qty` | `returned` | `refunded` |
//! | commit after compensate | `on_hand -= qty`, `reserved -= qty` | `shipped` | `captured` |
//! | abort after compensate | `reserved -= qty` | `cancelled` | `refunded` |
//!
//! Goods a compensation brings back stay reserved for the order until it is committed again
//! or aborted, so a commit after a compensation always finds them.
//!
//! An order to an address the warehouse does not serve, or beyond the free stock, is
//! answered with a refusal (first byte 0): recorded, nothing reserved, and the order flow
//! contract fails the whole call.

use std::sync::{Mutex, MutexGuard};

use postgres::{Client, NoTls, Transaction};
use wes_core::Hash;
use wes_ispc::Outcome;
use wes_ispc::connector::ExternalOp;
use wes_ispc::connectors::OpStatus;
use wes_ispc::service::{Effects, OpStore, PreparedCall, Service, ServiceError, ServiceRecord};

/// The tables: op records (the service library's) and the warehouse's own.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS wes_ops (
    id BYTEA PRIMARY KEY,
    status TEXT NOT NULL,
    contract BYTEA,
    request BYTEA,
    response BYTEA,
    signed_ms BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE wes_ops ADD COLUMN IF NOT EXISTS signed_ms BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS inventory (
    item INTEGER PRIMARY KEY,
    on_hand BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand)
);
CREATE TABLE IF NOT EXISTS shipments (
    op BYTEA PRIMARY KEY,
    order_id BYTEA NOT NULL,
    item INTEGER NOT NULL,
    qty BIGINT NOT NULL,
    address TEXT NOT NULL,
    tracking TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    op BYTEA PRIMARY KEY,
    order_id BYTEA NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL
);
";

/// What the warehouse charges the shop per unit shipped (cents).
pub const SHIPPING_FEE: i64 = 250;

fn store_error(e: postgres::Error) -> ServiceError {
    ServiceError::Store(e.to_string())
}

fn status_name(status: OpStatus) -> &'static str {
    match status {
        OpStatus::Prepared => "prepared",
        OpStatus::Committed => "committed",
        OpStatus::Compensated => "compensated",
        OpStatus::Aborted => "aborted",
    }
}

fn parse_status(name: &str) -> Result<OpStatus, ServiceError> {
    Ok(match name {
        "prepared" => OpStatus::Prepared,
        "committed" => OpStatus::Committed,
        "compensated" => OpStatus::Compensated,
        "aborted" => OpStatus::Aborted,
        other => return Err(ServiceError::Store(format!("unknown op status {other:?}"))),
    })
}

fn hash_of(bytes: &[u8]) -> Result<Hash, ServiceError> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ServiceError::Store(format!("a hash of {} bytes", bytes.len())))?;
    Ok(Hash(array))
}

/// Op records and warehouse rows in PostgreSQL, over one connection (requests take turns;
/// a busier service would use a pool: requests for one op are serialised by a transaction
/// lock on its id, whatever the connection).
pub struct PgStore {
    client: Mutex<Client>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (e.g. `postgresql://wes@127.0.0.1:5432/wes`) and creates the tables
    /// that are missing.
    pub fn connect(url: &str) -> Result<Self, postgres::Error> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute(SCHEMA)?;
        Ok(PgStore {
            client: Mutex::new(client),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the stock on hand of `item`; its reservations stay (a restart that stocks again
    /// forgets no prepared op).
    pub fn stock(&self, item: u32, on_hand: u64) -> Result<(), postgres::Error> {
        self.lock().execute(
            "INSERT INTO inventory (item, on_hand) VALUES ($1, $2)
             ON CONFLICT (item) DO UPDATE SET on_hand = EXCLUDED.on_hand",
            &[&(item as i32), &(on_hand as i64)],
        )?;
        Ok(())
    }

    /// `(on_hand, reserved)` of `item`.
    pub fn inventory(&self, item: u32) -> Result<(i64, i64), postgres::Error> {
        let row = self.lock().query_one(
            "SELECT on_hand, reserved FROM inventory WHERE item = $1",
            &[&(item as i32)],
        )?;
        Ok((row.get(0), row.get(1)))
    }

    /// Every shipment: `(status, qty, tracking)`.
    pub fn shipments(&self) -> Result<Vec<(String, i64, String)>, postgres::Error> {
        Ok(self
            .lock()
            .query(
                "SELECT status, qty, tracking FROM shipments ORDER BY op",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Every payment: `(status, amount)`.
    pub fn payments(&self) -> Result<Vec<(String, i64)>, postgres::Error> {
        Ok(self
            .lock()
            .query("SELECT status, amount FROM payments ORDER BY op", &[])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    /// How many op records stand at each status, sorted by status.
    pub fn op_counts(&self) -> Result<Vec<(String, i64)>, postgres::Error> {
        Ok(self
            .lock()
            .query(
                "SELECT status, count(*) FROM wes_ops GROUP BY status ORDER BY status",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }
}

fn read_record(
    tx: &mut Transaction<'_>,
    id: &Hash,
    lock: bool,
) -> Result<Option<ServiceRecord>, ServiceError> {
    let sql = if lock {
        "SELECT status, contract, request, response, signed_ms FROM wes_ops WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT status, contract, request, response, signed_ms FROM wes_ops WHERE id = $1"
    };
    let Some(row) = tx
        .query_opt(sql, &[&id.as_bytes().as_slice()])
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    let status = parse_status(row.get(0))?;
    let contract: Option<Vec<u8>> = row.get(1);
    let call = match contract {
        None => None,
        Some(contract) => Some(PreparedCall {
            contract: wes_core::ContractId(hash_of(&contract)?),
            request: row.get::<_, Option<Vec<u8>>>(2).unwrap_or_default(),
            response: row.get::<_, Option<Vec<u8>>>(3).unwrap_or_default(),
        }),
    };
    let signed_ms: i64 = row.get(4);
    Ok(Some(ServiceRecord {
        id: *id,
        status,
        call,
        signed_ms: u64::try_from(signed_ms).unwrap_or(0),
    }))
}

impl OpStore for PgStore {
    type Tx<'a> = Transaction<'a>;

    fn atomically<R>(
        &self,
        id: &Hash,
        work: impl FnOnce(
            &mut Transaction<'_>,
            Option<ServiceRecord>,
        ) -> Result<(Option<ServiceRecord>, R), ServiceError>,
    ) -> Result<R, ServiceError> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(store_error)?;
        // Requests for one op take turns, across connections and processes: a transaction
        // lock on the op id (a row lock would not cover an op not yet recorded).
        let lock = i64::from_le_bytes(id.as_bytes()[..8].try_into().unwrap_or_default());
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])
            .map_err(store_error)?;
        let record = read_record(&mut tx, id, true)?;
        let (record, result) = work(&mut tx, record)?;
        if let Some(r) = record {
            let call = r.call.as_ref();
            tx.execute(
                "INSERT INTO wes_ops (id, status, contract, request, response, signed_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE
                 SET status = EXCLUDED.status, signed_ms = EXCLUDED.signed_ms, updated_at = now()",
                &[
                    &r.id.as_bytes().as_slice(),
                    &status_name(r.status),
                    &call.map(|c| c.contract.0.as_bytes().to_vec()),
                    &call.map(|c| c.request.clone()),
                    &call.map(|c| c.response.clone()),
                    &i64::try_from(r.signed_ms).unwrap_or(i64::MAX),
                ],
            )
            .map_err(store_error)?;
        }
        tx.commit().map_err(store_error)?;
        Ok(result)
    }

    fn record(&self, id: &Hash) -> Result<Option<ServiceRecord>, ServiceError> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(store_error)?;
        read_record(&mut tx, id, false)
    }
}

/// A shipment order, as the order flow contract writes it:
/// `order_id[32] ‖ item u32 ‖ qty u64 ‖ address`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipRequest {
    /// The order.
    pub order: [u8; 32],
    /// The item.
    pub item: u32,
    /// How many.
    pub qty: u64,
    /// Where to.
    pub address: String,
}

impl ShipRequest {
    /// Decodes the contract's request bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ServiceError> {
        let bad = || ServiceError::BadRequest(format!("a shipment order of {} bytes", bytes.len()));
        if bytes.len() < 44 {
            return Err(bad());
        }
        Ok(ShipRequest {
            order: bytes[..32].try_into().map_err(|_| bad())?,
            item: u32::from_le_bytes(bytes[32..36].try_into().map_err(|_| bad())?),
            qty: u64::from_le_bytes(bytes[36..44].try_into().map_err(|_| bad())?),
            address: String::from_utf8(bytes[44..].to_vec()).map_err(|_| bad())?,
        })
    }

    /// The bytes the contract writes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.order.to_vec();
        out.extend_from_slice(&self.item.to_le_bytes());
        out.extend_from_slice(&self.qty.to_le_bytes());
        out.extend_from_slice(self.address.as_bytes());
        out
    }

    /// The tracking code the warehouse gives it.
    pub fn tracking(&self) -> String {
        let hex: String = self.order[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("TRACK-{hex}")
    }
}

/// The warehouse's effects on its tables.
#[derive(Debug, Default)]
pub struct Warehouse;

/// The warehouse service: the library's rules over [`PgStore`] and [`Warehouse`].
pub type WarehouseService = Service<PgStore, Warehouse>;

fn refusal(why: &str) -> Vec<u8> {
    [b"\x00".as_slice(), why.as_bytes()].concat()
}

impl Effects<PgStore> for Warehouse {
    fn prepare(&self, tx: &mut Transaction<'_>, op: &ExternalOp) -> Result<Vec<u8>, ServiceError> {
        let order = ShipRequest::decode(&op.request)?;
        if order.address.contains('\0') {
            return Err(ServiceError::BadRequest("a NUL byte in the address".into()));
        }
        if order.address.contains("nowhere") {
            return Ok(refusal("we do not ship there"));
        }
        let qty = i64::try_from(order.qty)
            .map_err(|_| ServiceError::BadRequest(format!("quantity {}", order.qty)))?;
        let amount = qty
            .checked_mul(SHIPPING_FEE)
            .ok_or_else(|| ServiceError::BadRequest(format!("quantity {qty}")))?;
        let reserved = tx
            .execute(
                "UPDATE inventory SET reserved = reserved + $2
                 WHERE item = $1 AND on_hand - reserved >= $2",
                &[&(order.item as i32), &qty],
            )
            .map_err(store_error)?;
        if reserved == 0 {
            return Ok(refusal("out of stock"));
        }
        let (op_id, order_id) = (op.id.as_bytes().as_slice(), order.order.as_slice());
        tx.execute(
            "INSERT INTO shipments (op, order_id, item, qty, address, tracking, status)
             VALUES ($1, $2, $3, $4, $5, $6, 'reserved')",
            &[
                &op_id,
                &order_id,
                &(order.item as i32),
                &qty,
                &order.address,
                &order.tracking(),
            ],
        )
        .map_err(store_error)?;
        tx.execute(
            "INSERT INTO payments (op, order_id, amount, status) VALUES ($1, $2, $3, 'held')",
            &[&op_id, &order_id, &amount],
        )
        .map_err(store_error)?;
        Ok([b"\x01".as_slice(), order.tracking().as_bytes()].concat())
    }

    fn settle(
        &self,
        tx: &mut Transaction<'_>,
        op: &ExternalOp,
        from: OpStatus,
        outcome: Outcome,
    ) -> Result<(), ServiceError> {
        let op_id = op.id.as_bytes().as_slice();
        let Some(row) = tx
            .query_opt("SELECT item, qty FROM shipments WHERE op = $1", &[&op_id])
            .map_err(store_error)?
        else {
            // A refused order: nothing was reserved.
            return Ok(());
        };
        let (item, qty): (i32, i64) = (row.get(0), row.get(1));
        let (stock, shipment, payment) = match (from, outcome) {
            (OpStatus::Prepared, Outcome::Commit) => (
                Some("on_hand = on_hand - $2, reserved = reserved - $2"),
                "shipped",
                "captured",
            ),
            (OpStatus::Prepared, Outcome::Abort) => {
                (Some("reserved = reserved - $2"), "cancelled", "voided")
            }
            (OpStatus::Committed, Outcome::Compensate) => (
                Some("on_hand = on_hand + $2, reserved = reserved + $2"),
                "returned",
                "refunded",
            ),
            (OpStatus::Compensated, Outcome::Commit) => (
                Some("on_hand = on_hand - $2, reserved = reserved - $2"),
                "shipped",
                "captured",
            ),
            (OpStatus::Compensated, Outcome::Abort) => {
                (Some("reserved = reserved - $2"), "cancelled", "refunded")
            }
            (from, outcome) => {
                return Err(ServiceError::NotAllowed {
                    op: op.id,
                    status: from,
                    outcome,
                });
            }
        };
        if let Some(set) = stock {
            tx.execute(
                &format!("UPDATE inventory SET {set} WHERE item = $1"),
                &[&item, &qty],
            )
            .map_err(store_error)?;
        }
        tx.execute(
            "UPDATE shipments SET status = $2 WHERE op = $1",
            &[&op_id, &shipment],
        )
        .map_err(store_error)?;
        tx.execute(
            "UPDATE payments SET status = $2 WHERE op = $1",
            &[&op_id, &payment],
        )
        .map_err(store_error)?;
        Ok(())
    }
}

/// Creates a new, empty database on the server of `url` (a database URL whose user may
/// create databases) and returns its URL: a scratch database per test run.
pub fn create_database(url: &str, prefix: &str) -> Result<String, postgres::Error> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{prefix}_{}_{nanos}", std::process::id());
    Client::connect(url, NoTls)?.batch_execute(&format!("CREATE DATABASE {name}"))?;
    let server = url.rsplit_once('/').map_or(url, |(server, _)| server);
    Ok(format!("{server}/{name}"))
}

/// The warehouse service on the database at `url`.
pub fn service(url: &str) -> Result<WarehouseService, postgres::Error> {
    Ok(Service::new(PgStore::connect(url)?, Warehouse))
}
