//! Order fulfilment as a **saga**: a flow of three steps, one block each, undone in reverse
//! when a later step fails or the flow is abandoned (`wes_node::saga`, and the generic
//! `saga` contract of `wes-ispc/guest/contracts`).
//!
//! | step | call | undone by |
//! |---|---|---|
//! | 0 | `stock.take(item, qty)` | `stock.put_back(item, qty)` |
//! | 1 | `fulfilment.ship(order, item, qty, address)`: the shipper books it (external call) | `fulfilment.unship(order)`: the shipper cancels it (external call) |
//! | 2 | `fulfilment.charge(order, amount)`: the payment service charges (external call) | — (nothing after it can fail) |
//!
//! Unlike `order_flow.place`, which does all of this in one atomic call, the steps land
//! separately: a declined payment comes after the shipment was booked and the stock taken,
//! and compensation cancels the shipment and puts the stock back. Every external effect,
//! the cancellation included, reaches its service exactly once through the node's
//! settlement journal.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use wes_core::{ContentId, Lock, ResourceKind, SecretKey};
use wes_ispc::Connector;
use wes_ispc::connector::ExternalOp;
use wes_ispc::connectors::MemoryConnector;
use wes_ispc::contract_id;
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::saga::{Progress, SagaDriver, SagaId, SagaPlan, SagaState, SagaStatus, SagaStep};

use crate::{App, ITEM, OrderNode, read_contract, stock_level};

/// A saga driver on the order chain.
pub type Driver = SagaDriver<EutxoLedger<SledStore>>;

/// The three contracts, deployed on an order chain.
pub struct Fulfilment {
    app: App,
    /// The `stock` contract's resource.
    pub stock: ContentId,
    /// The `fulfilment` contract's resource.
    pub fulfilment: ContentId,
    /// The `saga` contract's resource.
    pub saga: ContentId,
}

impl std::fmt::Debug for Fulfilment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fulfilment")
            .field("saga", &self.saga)
            .finish_non_exhaustive()
    }
}

impl Fulfilment {
    /// Opens the chain in `data_dir` with `shipper` and `payments` as its `"shipping"` and
    /// `"payments"` connectors, the contracts built into `contracts` (see
    /// [`build_contracts`](crate::build_contracts)) stored in its resource store. Nothing
    /// is deployed: [`create`](Self::create) does that once; a reopened chain has them.
    pub fn open(
        data_dir: &Path,
        contracts: &Path,
        shipper: Arc<dyn Connector>,
        payments: Arc<dyn Connector>,
    ) -> Result<Fulfilment> {
        let app = App::open(
            data_dir,
            vec![("shipping", shipper), ("payments", payments)],
        )?;
        let store = |name: &str| -> Result<ContentId> {
            let code = read_contract(contracts, name)?;
            Ok(app.node.put_resource(&code, ResourceKind::Wasm, name)?)
        };
        Ok(Fulfilment {
            stock: store("stock")?,
            fulfilment: store("fulfilment")?,
            saga: store("saga")?,
            app,
        })
    }

    /// [`open`](Self::open)s a new chain, then the shop deploys and initialises the three
    /// contracts, stocks 10 of [`ITEM`] and authorises the saga contract to take stock, ship
    /// and charge (each a block).
    pub fn create(
        data_dir: &Path,
        contracts: &Path,
        shipper: Arc<dyn Connector>,
        payments: Arc<dyn Connector>,
    ) -> Result<Fulfilment> {
        let f = Fulfilment::open(data_dir, contracts, shipper, payments)?;
        let shop = SecretKey::dev("shop");
        for (name, id) in [
            ("stock", f.stock),
            ("fulfilment", f.fulfilment),
            ("saga", f.saga),
        ] {
            f.app
                .deploy(&shop, name, &read_contract(contracts, name)?)?;
            f.app.call(&shop, id, "init", vec![])?;
        }
        let mut add = ITEM.to_le_bytes().to_vec();
        add.extend_from_slice(&10u64.to_le_bytes());
        f.app.call(&shop, f.stock, "add", add)?;
        let saga_address = Lock::contract(contract_id(&f.saga)).address().0.0.to_vec();
        f.app
            .call(&shop, f.stock, "authorize", saga_address.clone())?;
        f.app.call(&shop, f.fulfilment, "authorize", saga_address)?;
        Ok(f)
    }

    /// The node.
    pub fn node(&self) -> &Arc<OrderNode> {
        &self.app.node
    }

    /// The fulfilment of `order`: take `qty` of [`ITEM`], ship it to `address`, charge
    /// `amount`; each step within `timeout_blocks` of the previous one.
    pub fn plan(
        &self,
        order: SagaId,
        qty: u64,
        address: &str,
        amount: u64,
        timeout_blocks: u64,
    ) -> SagaPlan {
        let item_qty = [ITEM.to_le_bytes().as_slice(), &qty.to_le_bytes()].concat();
        let shipment = [
            order.as_slice(),
            &ITEM.to_le_bytes(),
            &qty.to_le_bytes(),
            address.as_bytes(),
        ]
        .concat();
        let charge = [order.as_slice(), &amount.to_le_bytes()].concat();
        SagaPlan {
            id: order,
            timeout_blocks,
            steps: vec![
                SagaStep::new(self.stock, "take", item_qty.clone()).undo_with("put_back", item_qty),
                SagaStep::new(self.fulfilment, "ship", shipment)
                    .undo_with("unship", order.to_vec()),
                SagaStep::new(self.fulfilment, "charge", charge),
            ],
        }
    }

    /// A driver of this chain's sagas signing with `key`.
    pub fn driver(&self, key: SecretKey) -> Driver {
        SagaDriver::new(self.app.node.clone(), self.saga, key)
    }

    /// Polls `driver` for saga `id` and mines a block after each poll, until the saga is
    /// over or `max_blocks` were mined; returns every poll's progress.
    ///
    /// # Errors
    /// The driver or the node failed, or the saga did not finish in time.
    pub fn drive(
        &self,
        driver: &mut Driver,
        id: &SagaId,
        max_blocks: usize,
    ) -> Result<Vec<Progress>> {
        let mut seen = Vec::new();
        for _ in 0..max_blocks {
            let progress = driver.poll(id)?;
            let done = matches!(progress, Progress::Finished(_));
            seen.push(progress);
            if done {
                return Ok(seen);
            }
            self.app.node.produce_block()?;
        }
        bail!("saga not over after {max_blocks} blocks: {seen:#?}")
    }

    /// Mines `n` blocks and lets the settlement catch up: external calls of the last steps
    /// reach their commit depth.
    pub fn settle(&self, n: usize) -> Result<()> {
        for _ in 0..n {
            self.app.node.produce_block()?;
        }
        self.app
            .node
            .settlement()
            .context("the node settles external calls")?
            .sync()?;
        Ok(())
    }

    /// Saga `id`'s state on the best chain.
    pub fn state(&self, id: &SagaId) -> Result<Option<SagaState>> {
        Ok(self.driver(SecretKey::dev("shop")).state(id)?)
    }

    /// The stock left of [`ITEM`].
    pub fn stock_left(&self) -> Result<u64> {
        stock_level(&self.app.node, &self.stock)
    }

    /// The tracking code `fulfilment` holds for `order`: `None` if not shipped (or the
    /// shipment was cancelled).
    pub fn tracking(&self, order: &SagaId) -> Result<Option<String>> {
        let key = [b"s".as_slice(), order].concat();
        let found = self
            .app
            .node
            .ledger()
            .state(&contract_id(&self.fulfilment), &key)?;
        Ok(found.and_then(|(_, out)| {
            out.as_state()
                .map(|s| String::from_utf8_lossy(&s.data).into_owned())
        }))
    }
}

/// The shipping service of the saga, in process: `"B" ‖ order[32] ‖ item u32 ‖ qty u64 ‖
/// address` books a shipment (refused for addresses containing "nowhere"), `"C" ‖ order ‖
/// tracking` cancels one.
pub fn shipper() -> Arc<MemoryConnector> {
    Arc::new(MemoryConnector::new(|op| {
        Ok(match op.request.first() {
            Some(b'B') => {
                let address = String::from_utf8_lossy(op.request.get(45..).unwrap_or_default());
                if address.contains("nowhere") {
                    b"\x00we do not ship there".to_vec()
                } else {
                    let order = op.request.get(1..5).unwrap_or_default();
                    [b"\x01TRACK-".as_slice(), crate::hex(order).as_bytes()].concat()
                }
            }
            Some(b'C') => b"\x01".to_vec(),
            _ => b"\x00unknown request".to_vec(),
        })
    }))
}

/// The payment service, in process: charges `order[32] ‖ amount u64` up to `limit`,
/// declines above it.
pub fn payments(limit: u64) -> Arc<MemoryConnector> {
    Arc::new(MemoryConnector::new(move |op| {
        let amount = op
            .request
            .get(32..40)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes);
        Ok(match amount {
            Some(a) if a <= limit => {
                let order = op.request.get(..4).unwrap_or_default();
                [b"\x01RCPT-".as_slice(), crate::hex(order).as_bytes()].concat()
            }
            Some(_) => b"\x00card declined".to_vec(),
            None => b"\x00malformed charge".to_vec(),
        })
    }))
}

/// The first byte of each op's request: what kind of request it was (`B`ook or `C`ancel
/// for the shipper).
pub fn request_kinds(ops: &[ExternalOp]) -> Vec<u8> {
    ops.iter()
        .map(|op| op.request.first().copied().unwrap_or(0))
        .collect()
}

/// What [`run`] saw.
#[derive(Debug)]
pub struct SagaSummary {
    /// How the paid order ended, and the blocks its saga took.
    pub paid: (SagaStatus, u64),
    /// How the order whose payment was declined ended, and why it failed.
    pub declined: (SagaStatus, String),
    /// Stock left of [`ITEM`]: only the paid order's.
    pub stock_left: u64,
}

/// Runs two orders as sagas: one paid (completed over three blocks), one whose payment is
/// declined after its shipment was booked (compensated: shipment cancelled, stock back).
pub fn run(data_dir: &Path, contracts: &Path) -> Result<SagaSummary> {
    let f = Fulfilment::create(data_dir, contracts, shipper(), payments(1_000))?;
    let mut shop = f.driver(SecretKey::dev("shop"));
    let start = f.node().status().height;
    let paid = f.plan([1; 32], 3, "1 Main St", 300, 5);
    shop.begin(&paid)?;
    f.drive(&mut shop, &paid.id, 20)?;
    let blocks = f.node().status().height - start;
    let declined = f.plan([2; 32], 2, "2 Side St", 5_000, 5);
    shop.begin(&declined)?;
    f.drive(&mut shop, &declined.id, 20)?;
    f.settle(2)?;
    let status = |id: &SagaId| -> Result<SagaState> { f.state(id)?.context("saga not found") };
    let (paid_state, declined_state) = (status(&paid.id)?, status(&declined.id)?);
    Ok(SagaSummary {
        paid: (paid_state.status, blocks),
        declined: (
            declined_state.status,
            declined_state.failure.map(|f| f.reason).unwrap_or_default(),
        ),
        stock_left: f.stock_left()?,
    })
}
