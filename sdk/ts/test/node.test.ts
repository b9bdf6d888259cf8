// The SDK against a real node: the reference chain's `wes-node devnet` (./devnet.ts).
// Transfers (many from one key within a block time), typed errors, a contract deployed and
// called with the construction checked before signing, logs, and the three subscriptions.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

import {
  ConstructionMismatch,
  RpcError,
  SecretKey,
  Wallet,
  WesClient,
  address,
  callSponsored,
  contractId,
  decodeSignedTransaction,
  decodeToken,
  sponsorPoolLock,
  tokenName,
  fromHex,
  idHex,
  txId,
  type CallResult,
  type Head,
  type Log,
  type TxStatus,
} from '../src/index.js';
import { type Devnet, sdkDir, startDevnet } from './devnet.js';

const fixtures = JSON.parse(readFileSync(resolve(sdkDir, 'test/fixtures/codec.json'), 'utf8'));

let devnet: Devnet;
let http: WesClient;
let ws: WesClient;

before(async () => {
  devnet = await startDevnet();
  http = WesClient.http(devnet.url);
  ws = await WesClient.ws(devnet.url.replace(/^http/, 'ws'));
});

after(() => {
  ws?.close();
  devnet?.stop();
});

/** Resolves with the first status of `txid` that `done` accepts (subscription), within 30 s. */
async function until(txid: string, done: (s: TxStatus) => boolean): Promise<TxStatus> {
  let stop: (() => Promise<void>) | undefined;
  const status = await new Promise<TxStatus>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${txid}: not there within 30 s`)), 30_000);
    void ws
      .subscribeTransaction(txid, (s) => {
        if (done(s)) {
          clearTimeout(timer);
          ok(s);
        }
      })
      .then((unsubscribe) => (stop = unsubscribe), fail);
  });
  await stop?.();
  return status;
}

const included = (txid: string) => until(txid, (s) => s.status === 'included');

test('a transfer is sent, followed to its inclusion, and read back', async () => {
  const alice = new Wallet(http, SecretKey.dev('alice'));
  const bob = SecretKey.dev('bob');
  const before = BigInt((await http.getBalance(bob.address())).native ?? '0');
  const heads: Head[] = [];
  const unsubscribe = await ws.subscribeNewHeads((h) => heads.push(h));

  const txid = await alice.transfer(bob.publicKey, 1_234n);
  const status = await included(txid);
  assert.equal(status.confirmations >= 1, true);
  const info = await http.getTransaction(txid);
  assert.equal(info.status, 'included');
  const signed = decodeSignedTransaction(fromHex(info.tx));
  assert.equal(idHex(txId(signed.tx)), txid);
  assert.equal(BigInt((await http.getBalance(bob.address())).native!), before + 1_234n);
  assert.ok(heads.some((h) => h.height === status.height), 'a head for the including block');
  await unsubscribe();
});

test('one key sends many transfers within a block time, each spending pending change', async () => {
  const alice = new Wallet(http, SecretKey.dev('alice'));
  const to = SecretKey.generate();
  const sent: string[] = [];
  for (let i = 1n; i <= 10n; i++) sent.push(await alice.transfer(to.publicKey, i));
  for (const txid of sent) await included(txid);
  const coins = await new Wallet(http, to).coins();
  assert.deepEqual(
    coins.map((c) => (c.output.body.type === 'asset' ? c.output.body.amount : 0n)).sort((a, b) => Number(a - b)),
    [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n],
  );
});

test('the node refuses with a code and data that say why', async () => {
  await assert.rejects(http.sendRawTransaction('zz'), (e: unknown) => {
    assert.ok(e instanceof RpcError);
    assert.equal(e.code, -32602);
    assert.equal(e.data.param, 'tx');
    assert.equal(e.data.rule, 'not_hex');
    return true;
  });
  const poor = new Wallet(http, SecretKey.generate());
  await assert.rejects(poor.transfer(SecretKey.dev('bob').publicKey, 1n), /insufficient native balance/);
  await assert.rejects(http.getBlockByHeight(1_000_000), (e: unknown) => e instanceof RpcError && e.data.rule === 'not_found');
});

test('a contract is deployed, its call checked before signing, and its event read and followed', async () => {
  const alice = new Wallet(http, SecretKey.dev('alice'));
  const wasm = fromHex(fixtures.greeter_wasm);
  const { content, txid: deployed } = await alice.deployContract(wasm, 'greeter');
  await included(deployed);

  const logs: Log[] = [];
  const unsubscribe = await ws.subscribeLogs({ topics: ['greeted'] }, (l) => logs.push(l));
  const { txid, constructed } = await alice.call(content, 'greet');
  assert.equal(constructed.return_data, Buffer.from('hello').toString('hex'));
  const status = await included(txid);

  const page = await http.getLogs({ from_block: status.height!, to_block: status.height!, topics: ['greeted'] });
  assert.equal(page.logs.length, 1);
  assert.equal(page.logs[0]!.txid, txid);
  assert.equal(page.logs[0]!.data, Buffer.from('hello').toString('hex'));
  for (let i = 0; i < 100 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(logs[0]?.txid, txid);
  await unsubscribe();
  // The settlement journal is an operator method: refused without the node's token.
  await assert.rejects(http.settlements(), (e: RpcError) => e.code === -32003 && e.data.rule === 'unauthorized');
  // With it: the devnet has no connectors, so nothing to settle, and nothing stuck.
  const operator = WesClient.http(devnet.url, { token: devnet.token });
  assert.deepEqual(await operator.settlements(), []);
  assert.deepEqual(await operator.settlements(true), []);

  // A construction that is not what was asked for is not signed.
  const coin = await alice.feeCoin(200_000n);
  const other = await http.constructCall({
    resource: content,
    entry: 'greet',
    fee_inputs: [`${idHex(coin.outpoint.tx)}:${coin.outpoint.index}`],
    change: Buffer.from(alice.key.publicKey).toString('hex'),
    fee: '200000',
  });
  await assert.rejects(
    alice.signConstructed(other, {
      chainId: await http.chainId(),
      resource: fromHex(content),
      entry: 'greet',
      args: new Uint8Array(),
      feeInputs: [coin],
      change: alice.key.publicKey,
      maxSpend: 1_000n,
    }),
    ConstructionMismatch,
  );
});

test('a contract with an ABI takes typed arguments and its results come back decoded', async () => {
  // The AssemblyScript token (sdk/assemblyscript), which carries the Rust token's ABI.
  const out = mkdtempSync(join(tmpdir(), 'wes-as-'));
  const as = resolve(sdkDir, '../assemblyscript');
  execFileSync('node', [join(as, 'build.mjs'), join(as, 'examples/token.ts'), out]);
  const alice = new Wallet(http, SecretKey.dev('alice'));
  const { content, txid: deployed } = await alice.deployContract(readFileSync(join(out, 'token.wasm')), 'token');
  await included(deployed);

  const abi = await http.getContractAbi(content);
  assert.equal(abi?.name, 'token_as');
  assert.deepEqual(abi?.entries.map((e) => e.name), ['init', 'mint', 'transfer', 'supply']);
  assert.deepEqual(abi?.entries[1]!.args.map((a) => a.type), ['bytes32', 'u64', 'lock']);

  const { txid } = await alice.call(content, 'init');
  await included(txid);
  const coin = await alice.feeCoin(2_000_000n);
  const pay = {
    fee_inputs: [`${idHex(coin.outpoint.tx)}:${coin.outpoint.index}`],
    change: Buffer.from(alice.key.publicKey).toString('hex'),
    fee: '2000000',
  };
  const tag = '07'.repeat(32);
  const bob = Buffer.from(SecretKey.dev('bob').publicKey).toString('hex');
  const minted = await http.constructCall({
    resource: content,
    entry: 'mint',
    typed_args: { tag, amount: '500', to: bob },
    ...pay,
  });
  const result = minted.result as CallResult;
  assert.equal(result.events[0]!.topic, 'Mint');
  // `to` comes back as the lock's encoding: 00000000 00000000 ‖ the key.
  assert.deepEqual(result.events[0]!.fields, { tag, amount: '500', to: `${'0'.repeat(16)}${bob}` });

  // A typed argument that does not fit its type, and a declared error, say so.
  await assert.rejects(
    http.constructCall({ resource: content, entry: 'mint', typed_args: { tag, amount: -1, to: bob }, ...pay }),
    (e: RpcError) => e.code === -32602 && e.data.rule === 'abi_mismatch',
  );
  await assert.rejects(
    http.constructCall({ resource: content, entry: 'mint', typed_args: [tag, 0, bob], ...pay }),
    (e: RpcError) => {
      assert.equal(e.code, -32000);
      assert.deepEqual(e.data.contract_error, { code: 4, name: 'ZeroAmount', message: 'amount must be positive' });
      return true;
    },
  );
});

test('fees are paid in another accepted token, and a sponsor pool pays for a keyless call', async () => {
  const alice = new Wallet(http, SecretKey.dev('alice'));
  const accepted = await http.feeTokens();
  const other = accepted.find((f) => f.token !== 'native');
  assert.ok(other, 'the devnet accepts a second fee token');
  const usd = decodeToken(fromHex(other.token));
  const before = BigInt((await http.getBalance(alice.address(), 'pending'))[tokenName(usd)] ?? '0');
  const txid = await alice.transfer(SecretKey.dev('bob').publicKey, 5n, { fee: 20_000n, feeToken: usd });
  await included(txid);
  const after = BigInt((await http.getBalance(alice.address(), 'pending'))[tokenName(usd)] ?? '0');
  assert.equal(before - after, 20_000n);

  // A pool for the greeter; a call by a key that holds nothing.
  const { content, txid: deployed } = await alice.deployContract(fromHex(fixtures.greeter_wasm), 'greeter');
  await included(deployed);
  const contract = contractId(fromHex(content));
  const pool = await alice.createSponsorPool(contract, 300_000n, 1_000_000n);
  await included(pool.split(':')[0]!);
  const { txid: sponsored, constructed } = await callSponsored(http, content, 'greet', new Uint8Array(), pool, 200_000n);
  assert.equal(constructed.return_data, Buffer.from('hello').toString('hex'));
  await included(sponsored);
  const poolAddress = address(sponsorPoolLock(alice.key.publicKey, contract, 300_000n));
  const left = await http.getUtxos(poolAddress);
  assert.equal(left.length, 1);
  assert.deepEqual(left[0]!.body, { type: 'asset', token: 'native', amount: '800000' });

  // Over the cap: refused by the ledger's rule; then the owner takes the rest back.
  await assert.rejects(
    callSponsored(http, content, 'greet', new Uint8Array(), left[0]!.outpoint, 400_000n),
    (e: unknown) => e instanceof RpcError && e.data.rule === 'sponsor_over_cap',
  );
  await included(await alice.withdrawSponsorPool(left[0]!.outpoint));
  assert.deepEqual(await http.getUtxos(poolAddress), []);
});
