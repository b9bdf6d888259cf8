// The TypeScript connector-service library: the signed message as Rust computes it, the
// protocol's rules on a store in memory, and the Rust conformance test (`wes-node
// connector-check`) run against the service over HTTP on 127.0.0.1, with signed requests.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { SecretKey, fromHex, toHex } from '../src/index.js';
import {
  Auth,
  ConnectorService,
  type Effects,
  type ExternalOp,
  MemoryStore,
  type MemoryTx,
  type OpStatus,
  type Outcome,
  ServiceError,
  handle,
  requestMessage,
  serveConnector,
} from '../src/service.js';
import { nodeBinary } from './devnet.js';

/** A warehouse in memory: a request is a quantity (u64, little-endian) to ship. */
interface Stock {
  onHand: number;
  reserved: number;
  moves: string[];
}

const qty = (op: ExternalOp): number => {
  if (op.request.length !== 8) throw new ServiceError(400, 'a quantity is 8 bytes');
  return Number(new DataView(op.request.buffer, op.request.byteOffset).getBigUint64(0, true));
};

const shipping: Effects<MemoryTx<Stock>> = {
  async prepare(tx, op) {
    const n = qty(op);
    if (tx.app.onHand - tx.app.reserved < n) throw new ServiceError(422, `refused: ${n} asked`);
    tx.app.reserved += n;
    tx.app.moves.push('prepare');
    return new TextEncoder().encode(`reserved ${n}`);
  },
  async settle(tx, op, from: OpStatus, outcome: Outcome) {
    const n = qty(op);
    if (from === 'prepared' && outcome === 'commit') {
      tx.app.reserved -= n;
      tx.app.onHand -= n;
    } else if (from === 'prepared' && outcome === 'abort') {
      tx.app.reserved -= n;
    } else if (from === 'committed' && outcome === 'compensate') {
      tx.app.onHand += n;
    } else if (from === 'compensated' && outcome === 'commit') {
      tx.app.onHand -= n;
    }
    tx.app.moves.push(`${from}->${outcome}`);
  },
};

const quantity = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};

const service = (onHand: number) => new ConnectorService(new MemoryStore<Stock>({ onHand, reserved: 0, moves: [] }), shipping);
const stock = (s: ConnectorService<MemoryTx<Stock>>) => (s.store as MemoryStore<Stock>).read();

test('the signed request message is the one Rust computes', () => {
  // wes-ispc/src/protocol.rs, `the_request_message_is_stable`.
  const op = fromHex('11'.repeat(32));
  const contract = fromHex('22'.repeat(32));
  const m = requestMessage('prepare', op, contract, 1_800_000_000_000n, new TextEncoder().encode('hello'));
  assert.equal(toHex(m), '082f5066bc343295bb833a2a86aee85f08ab002b2e6e0f63828ad3e1f7a8db91');
  const c = requestMessage('commit', op, null, 5n, new Uint8Array());
  assert.equal(toHex(c), 'cbfd2c130e7dd37232947ff4d684d9695cf28f3e2fa28a8cbebdf6d328210be2');
});

test('each move runs its effect once, however often it is asked', async () => {
  const s = service(10);
  const op: ExternalOp = { id: fromHex('01'.repeat(32)), contract: fromHex('02'.repeat(32)), request: quantity(3) };
  assert.equal(new TextDecoder().decode(await s.prepare(op)), 'reserved 3');
  assert.equal(new TextDecoder().decode(await s.prepare(op)), 'reserved 3');
  for (let i = 0; i < 3; i++) await s.settle(op.id, 'commit');
  await assert.rejects(s.settle(op.id, 'abort'), (e: ServiceError) => e.status === 409);
  await s.settle(op.id, 'compensate');
  await s.settle(op.id, 'compensate');
  await s.settle(op.id, 'commit');
  assert.deepEqual(stock(s), {
    onHand: 7,
    reserved: 0,
    moves: ['prepare', 'prepared->commit', 'committed->compensate', 'compensated->commit'],
  });
  await assert.rejects(s.prepare({ ...op, request: quantity(4) }), /another request/);

  // A refused prepare leaves nothing; a prepare after its abort does nothing.
  const big: ExternalOp = { ...op, id: fromHex('03'.repeat(32)), request: quantity(50) };
  await assert.rejects(s.prepare(big), (e: ServiceError) => e.status === 422);
  assert.equal(await s.status(big.id), null);
  const late: ExternalOp = { ...op, id: fromHex('04'.repeat(32)) };
  await s.settle(late.id, 'abort');
  await assert.rejects(s.prepare(late), /aborted/);
  assert.equal(stock(s).reserved, 0);
  await assert.rejects(s.settle(fromHex('05'.repeat(32)), 'commit'), (e: ServiceError) => e.status === 404);
});

test('requests must be signed by a trusted node, recently and unaltered', async () => {
  const node = SecretKey.dev('node');
  const s = service(10);
  const auth = Auth.nodes([node.publicKey], 1_000);
  const op = fromHex('06'.repeat(32));
  const contract = fromHex('07'.repeat(32));
  const now = 1_800_000_000_000;
  const signed = (key: SecretKey, time: number, body: Uint8Array) => {
    const m = requestMessage('prepare', op, contract, BigInt(time), body);
    const h: Record<string, string> = {
      'x-wes-op': toHex(op),
      'x-wes-contract': toHex(contract),
      'x-wes-key': toHex(key.publicKey),
      'x-wes-time': String(time),
      'x-wes-signature': toHex(key.sign(m)),
    };
    return (name: string) => h[name];
  };
  const body = quantity(1);
  assert.equal((await handle(s, auth, 'prepare', signed(node, now - 5_000, body), body, now))[0], 401);
  assert.equal((await handle(s, auth, 'prepare', signed(node, now, body), quantity(2), now))[0], 401);
  assert.equal((await handle(s, auth, 'prepare', signed(SecretKey.dev('eve'), now, body), body, now))[0], 401);
  assert.equal(await s.status(op), null, 'nothing was done');
  const [status, answer] = await handle(s, auth, 'prepare', signed(node, now, body), body, now);
  assert.equal(status, 200);
  assert.equal(new TextDecoder().decode(answer), 'reserved 1');
  assert.equal((await handle(s, auth, 'delete', () => undefined, new Uint8Array(), now))[0], 400);
  assert.equal((await handle(s, auth, 'prepare', () => undefined, new Uint8Array(), now))[0], 400);
});

/** The node's keystore is encrypted: its passphrase, as `wes-node` reads it. */
const keystoreEnv = { ...process.env, WES_KEYSTORE_PASSPHRASE: 'service test' };

/**
 * Runs `wes-node connector-check` against `url`, signing with keystore key `key`
 * (asynchronously: the service answers from this process's event loop).
 */
function connectorCheck(url: string, keystore: string, key: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const args = ['--keystore', keystore, 'connector-check', url, '--key', key, '--request', toHex(quantity(1)), '--request', toHex(quantity(2))];
  return new Promise((ok) => {
    execFile(nodeBinary(), args, { encoding: 'utf8', env: keystoreEnv }, (error, stdout, stderr) => {
      ok({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('a captured request replayed after a later move is refused', async () => {
  const node = SecretKey.dev('node');
  const s = service(10);
  const auth = Auth.nodes([node.publicKey]);
  const op = fromHex('08'.repeat(32));
  const contract = fromHex('09'.repeat(32));
  const now = 1_800_000_000_000;
  const send = (action: 'prepare' | Outcome, time: number) => {
    const body = action === 'prepare' ? quantity(2) : new Uint8Array();
    const m = requestMessage(action, op, action === 'prepare' ? contract : null, BigInt(time), body);
    const h: Record<string, string> = {
      'x-wes-op': toHex(op),
      'x-wes-contract': toHex(contract),
      'x-wes-key': toHex(node.publicKey),
      'x-wes-time': String(time),
      'x-wes-signature': toHex(node.sign(m)),
    };
    const path = action === 'prepare' ? 'prepare' : `${action}/${toHex(op)}`;
    return handle(s, auth, path, (name) => h[name], body, now + 10).then(([status]) => status);
  };
  assert.equal(await send('prepare', now), 200);
  assert.equal(await send('commit', now + 1), 200);
  assert.equal(await send('compensate', now + 2), 200);
  assert.equal(await send('commit', now + 3), 200);
  assert.equal(stock(s).onHand, 8);
  assert.equal(await send('compensate', now + 2), 401, 'the replayed compensate is refused');
  assert.equal(await s.status(op), 'committed');
  assert.equal(stock(s).onHand, 8);
  assert.equal(await send('commit', now + 3), 200, "the node's own retry still succeeds");
});

test('the service passes the Rust conformance test over HTTP, and an open one does not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wes-service-'));
  try {
    const keystore = join(dir, 'keys.json');
    const made = spawnSync(nodeBinary(), ['--keystore', keystore, 'keys', 'new', 'node'], {
      encoding: 'utf8',
      env: keystoreEnv,
    });
    assert.equal(made.status, 0, made.stderr);
    const key = /public key ([0-9a-f]{64})/.exec(made.stdout)![1]!;

    const s = service(1_000);
    const server = await serveConnector(s, Auth.nodes([fromHex(key)]), { base: '/shipping' });
    try {
      const run = await connectorCheck(server.url, keystore, 'node');
      assert.equal(run.status, 0, run.stderr + run.stdout);
      assert.match(run.stdout, /conforms/);
      assert.equal(stock(s).reserved, 0, 'every prepared op was settled');
      assert.equal(stock(s).onHand, 1_000);
    } finally {
      await server.close();
    }

    const open = await serveConnector(service(1_000), Auth.open());
    try {
      const run = await connectorCheck(open.url, keystore, 'node');
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /an unsigned prepare/);
    } finally {
      await open.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
