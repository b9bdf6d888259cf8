// The explorer in a real browser: Debian's Chromium driven by playwright-core, against a
// devnet that serves the built page (`npm run build:explorer`) at /explorer/. A transfer
// and a contract call are sent with the SDK; the page shows them, follows new heads live,
// and shows an address's balance.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';

import { type Browser, type Page, chromium } from 'playwright-core';

import { SecretKey, Wallet, WesClient, fromHex } from '../src/index.js';
import { type Devnet, sdkDir, startDevnet } from './devnet.js';

const CHROMIUM = process.env.WES_CHROMIUM ?? '/usr/bin/chromium';

let devnet: Devnet;
let browser: Browser;
let page: Page;
let client: WesClient;

before(async () => {
  devnet = await startDevnet(['--explorer-dir', resolve(sdkDir, 'explorer/dist')]);
  client = await WesClient.ws(devnet.url.replace(/^http/, 'ws'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
});

after(async () => {
  await browser?.close();
  client?.close();
  devnet?.stop();
});

/** Resolves once `txid` is included (subscription), within 30 s. */
function included(txid: string): Promise<void> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${txid} not included within 30 s`)), 30_000);
    void client.subscribeTransaction(txid, (s) => {
      if (s.status === 'included') {
        clearTimeout(timer);
        ok();
      }
    });
  });
}

test('the home page lists blocks and follows new heads live', async () => {
  await page.goto(`${devnet.url}/explorer/`);
  await page.getByTestId('block-row').first().waitFor();
  const first = Number(await page.getByTestId('height').textContent());
  await page.waitForFunction(
    (h) => Number(document.querySelector('[data-testid=height]')?.textContent) > h,
    first,
    { timeout: 20_000 },
  );
  assert.match((await page.getByTestId('connection').textContent()) ?? '', /connected/);
});

test('a transfer sent with the SDK shows with its inputs and outputs, and the address its balance', async () => {
  const alice = new Wallet(client, SecretKey.dev('alice'));
  const carol = SecretKey.generate();
  const txid = await alice.transfer(carol.publicKey, 4_321n);
  await included(txid);

  await page.goto(`${devnet.url}/explorer/#/tx/${txid}`);
  await page.getByTestId('tx-status').filter({ hasText: 'included' }).waitFor();
  assert.equal(await page.getByTestId('txid').textContent(), txid);
  assert.equal(await page.getByTestId('inputs').locator('tr').count(), 2, 'a header and one input');
  const outputs = (await page.getByTestId('outputs').textContent()) ?? '';
  assert.match(outputs, /4321/);

  await page.goto(`${devnet.url}/explorer/#/address/${carol.address()}`);
  await page.getByTestId('balance').filter({ hasText: '4321' }).waitFor();
});

test("a contract call shows its execution and its event", async () => {
  const fixtures = JSON.parse(readFileSync(resolve(sdkDir, 'test/fixtures/codec.json'), 'utf8'));
  const alice = new Wallet(client, SecretKey.dev('alice'));
  const { content, txid: deployed } = await alice.deployContract(fromHex(fixtures.greeter_wasm), 'greeter');
  await included(deployed);
  const { txid } = await alice.call(content, 'greet');
  await included(txid);

  await page.goto(`${devnet.url}/explorer/#/tx/${txid}`);
  await page.getByTestId('event-topic').filter({ hasText: 'greeted' }).waitFor();
  assert.equal(await page.getByTestId('execution-kind').textContent(), 'contract call');
});

test('a model deployed and a proven inference show on the models page and as a proven transaction', async () => {
  const alice = new Wallet(client, SecretKey.dev('alice'));
  const onnx = readFileSync(resolve(sdkDir, '../../wes-ispc/tests/fixtures/onnx/digits_mlp.onnx'));
  const { model, resource } = await alice.deployModel(onnx, 'digits');
  await included(resource.split(':')[0]!);
  const { txid, constructed } = await alice.infer(resource, new Array(64).fill(0.5), { fee: 2_000_000n });
  assert.ok((constructed.result as { labels: number[] }).labels.length === 1);
  await included(txid);

  await page.goto(`${devnet.url}/explorer/#/models`);
  await page.getByTestId('models').filter({ hasText: 'digits' }).waitFor();
  await page.getByTestId('inferences').filter({ hasText: txid.slice(0, 10) }).waitFor();
  assert.match((await page.getByTestId('models').textContent()) ?? '', new RegExp(model.model.slice(0, 10)));

  await page.goto(`${devnet.url}/explorer/#/tx/${txid}`);
  await page.getByTestId('execution-kind').filter({ hasText: 'proven inference' }).waitFor();
});
