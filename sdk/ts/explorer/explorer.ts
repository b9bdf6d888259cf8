// The WES explorer: blocks (following new heads live), transactions with their inputs,
// outputs, execution and events, addresses with balances, contracts with their logs, and
// models with their proven inferences. Built on the TypeScript SDK; talks to the node over
// one WebSocket (the page's own origin, or `?rpc=ws://host:port`).

import {
  type Block,
  type BlockInfo,
  type Log,
  type OutputInfo,
  WesClient,
  decodeBlock,
  decodeSignedTransaction,
  fromHex,
  idHex,
  outpointString,
  toHex,
  txId,
} from '../src/index.js';

const view = document.getElementById('view')!;
const status = document.getElementById('status')!;

/** Escapes text for HTML. */
function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const link = (href: string, text: string) => `<a href="#/${href}" class="mono">${esc(text)}</a>`;
const short = (id: string) => (id.length > 20 ? `${id.slice(0, 10)}…${id.slice(-8)}` : id);
const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('.000Z', ' UTC');

function rpcUrl(): string {
  const given = new URLSearchParams(location.search).get('rpc');
  return given ?? location.origin.replace(/^http/, 'ws');
}

let client: WesClient;
/** What the current view stops when another one opens (a subscription). */
let leave: (() => Promise<void>) | undefined;

function body(info: OutputInfo): string {
  const b = info.body;
  switch (b.type) {
    case 'asset':
      return `<span data-testid="amount">${esc(b.amount)}</span> <span class="tag">${esc(b.token === 'native' ? 'native' : short(b.token))}</span>`;
    case 'resource':
      return `<span class="tag">${b.kind === 'Onnx' ? 'model' : b.kind === 'Wasm' ? 'contract code' : esc(b.kind)}</span> ${esc(b.name)} <span class="mono">${esc(short(b.content))}</span> (${b.size} bytes)`;
    case 'state':
      return `<span class="tag">state</span> of ${link(`contract/${b.contract}`, short(b.contract))} key <code>${esc(b.key)}</code> v${b.version}`;
  }
}

function outputsTable(outputs: OutputInfo[]): string {
  const rows = outputs
    .map((o) => `<tr><td class="mono">${esc(o.outpoint.split(':')[1])}</td><td>${link(`address/${o.owner}`, short(o.owner))}</td><td>${body(o)}${o.pending ? ' <span class="tag warn">pending</span>' : ''}</td></tr>`)
    .join('');
  return `<table data-testid="outputs"><tr><th>#</th><th>owner</th><th>holds</th></tr>${rows}</table>`;
}

function logsTable(logs: Log[]): string {
  if (logs.length === 0) return '<p class="muted">none</p>';
  const rows = logs
    .map((l) => `<tr><td>${link(`contract/${l.contract}`, short(l.contract))}</td><td data-testid="event-topic">${esc(l.topic)}</td><td class="mono">${esc(l.data)}</td><td>${link(`tx/${l.txid}`, short(l.txid))}</td><td>${link(`block/${l.height}`, String(l.height))}</td></tr>`)
    .join('');
  return `<table data-testid="events"><tr><th>contract</th><th>topic</th><th>data (hex)</th><th>transaction</th><th>block</th></tr>${rows}</table>`;
}

function blockRow(b: { hash: string; height: number; time_ms: number; transactions: number }): string {
  return `<tr data-testid="block-row"><td>${link(`block/${b.height}`, String(b.height))}</td><td>${link(`block/${b.hash}`, short(b.hash))}</td><td>${b.transactions}</td><td class="muted">${time(b.time_ms)}</td></tr>`;
}

async function home(): Promise<void> {
  const [chain, tip, pool] = await Promise.all([client.chainId(), client.blockNumber(), client.mempool()]);
  const blocks: BlockInfo[] = [];
  for (let h = tip; h >= 0 && h > tip - 15; h--) blocks.push(await client.getBlockByHeight(h));
  view.innerHTML = `<h1>Chain ${chain}</h1>
    <p>Height <b data-testid="height">${tip}</b> · mempool ${pool.count} transactions</p>
    <h2>Latest blocks</h2>
    <table><thead><tr><th>height</th><th>hash</th><th>txs</th><th>time</th></tr></thead>
    <tbody id="blocks">${blocks.map((b) => blockRow({ ...b, transactions: b.transactions.length })).join('')}</tbody></table>`;
  leave = await client.subscribeNewHeads((head) => {
    const rows = document.getElementById('blocks');
    if (!rows) return;
    rows.insertAdjacentHTML('afterbegin', blockRow(head));
    while (rows.children.length > 15) rows.lastElementChild?.remove();
    const height = document.querySelector('[data-testid=height]');
    if (height) height.textContent = String(head.height);
  });
}

async function block(id: string): Promise<void> {
  const info = /^\d+$/.test(id) ? await client.getBlockByHeight(Number(id)) : await client.getBlockByHash(id);
  const decoded: Block = decodeBlock(fromHex(info.encoded));
  const rows = decoded.transactions
    .map((t, i) => {
      const id = idHex(txId(t.tx));
      const kind = i === 0 ? 'coinbase' : t.tx.execution ? (t.tx.execution.proofSystem === 'halo2-ipa' ? 'proven inference' : 'contract call') : 'transfer';
      return `<tr><td>${i}</td><td>${link(`tx/${id}`, short(id))}</td><td><span class="tag">${kind}</span></td><td>${t.tx.inputs.length} → ${t.tx.outputs.length}</td></tr>`;
    })
    .join('');
  view.innerHTML = `<h1>Block ${info.height}</h1>
    <table><tr><th>hash</th><td class="mono">${esc(info.hash)}</td></tr>
    <tr><th>parent</th><td>${info.height > 0 ? link(`block/${info.parent}`, info.parent) : '—'}</td></tr>
    <tr><th>time</th><td>${time(info.time_ms)}</td></tr>
    <tr><th>confirmations</th><td>${info.confirmations ?? 'not on the best chain'}</td></tr>
    <tr><th>producer</th><td>${link(`address/${toHex(decoded.header.producer)}`, short(toHex(decoded.header.producer)))}</td></tr></table>
    <h2>Transactions</h2><table><tr><th>#</th><th>id</th><th>kind</th><th>inputs → outputs</th></tr>${rows}</table>`;
}

async function tx(id: string): Promise<void> {
  const info = await client.getTransaction(id);
  const signed = decodeSignedTransaction(fromHex(info.tx));
  const inputs = signed.tx.inputs
    .map((i) => `<tr><td>${link(`tx/${idHex(i.prev.tx)}`, short(outpointString(i.prev)))}</td><td><span class="tag">${i.mode}</span></td></tr>`)
    .join('');
  const e = signed.tx.execution;
  const execution = e
    ? `<h2>Execution</h2><table>
        <tr><th>kind</th><td><span class="tag" data-testid="execution-kind">${e.proofSystem === 'halo2-ipa' ? 'proven inference' : 'contract call'}</span> proven by <b>${esc(e.proofSystem)}</b> (${signed.witness.proof.length} byte proof)</td></tr>
        <tr><th>contract</th><td>${link(`contract/${idHex(e.contract)}`, idHex(e.contract))}</td></tr>
        <tr><th>code / model</th><td class="mono">${esc(idHex(e.resource))}</td></tr>
        <tr><th>entry</th><td><code>${esc(e.entry)}</code>(${esc(toHex(e.args))})</td></tr>
        <tr><th>compute</th><td>${e.cuUsed} of ${e.cuLimit} CU</td></tr></table>`
    : '';
  let events = '';
  if (info.status === 'included' && e) {
    const page = await client.getLogs({ from_block: info.height, to_block: info.height });
    events = `<h2>Events</h2>${logsTable(page.logs.filter((l) => l.txid === id))}`;
  }
  const where =
    info.status === 'included'
      ? `in block ${link(`block/${info.height}`, String(info.height))}, ${info.confirmations} confirmations`
      : 'in the mempool';
  view.innerHTML = `<h1>Transaction <span class="mono">${esc(short(id))}</span></h1>
    <p><span class="tag ${info.status === 'included' ? 'ok' : 'warn'}" data-testid="tx-status">${info.status}</span> ${where}</p>
    <table><tr><th>id</th><td class="mono" data-testid="txid">${esc(id)}</td></tr>
    <tr><th>chain</th><td>${signed.tx.chainId}</td></tr>
    <tr><th>signatures</th><td>${signed.witness.signatures.map((s) => link(`address/${toHex(s.key)}`, short(toHex(s.key)))).join(', ') || '—'}</td></tr></table>
    <h2>Inputs</h2>${inputs ? `<table data-testid="inputs"><tr><th>spends / reads</th><th>mode</th></tr>${inputs}</table>` : '<p class="muted">none</p>'}
    <h2>Outputs</h2>${info.outputs ? outputsTable(info.outputs) : '<p class="muted">shown once included</p>'}
    ${execution}${events}`;
  if (info.status === 'pending') {
    leave = await client.subscribeTransaction(id, (s) => {
      if (s.status === 'included') void route();
    });
  }
}

async function address(owner: string): Promise<void> {
  const [balance, utxos] = await Promise.all([client.getBalance(owner, 'pending'), client.getUtxos(owner, 'pending', { limit: 200 })]);
  const balances = Object.entries(balance)
    .map(([token, amount]) => `<tr><td><span class="tag">${esc(token === 'native' ? 'native' : short(token))}</span></td><td data-testid="balance">${esc(amount)}</td></tr>`)
    .join('');
  view.innerHTML = `<h1>Address <span class="mono">${esc(owner)}</span></h1>
    <h2>Balances (pending included)</h2>${balances ? `<table>${balances}</table>` : '<p class="muted">nothing</p>'}
    <h2>Unspent outputs</h2>${outputsTable(utxos)}${utxos.length === 200 ? '<p class="muted">the first 200</p>' : ''}`;
}

async function contract(id: string): Promise<void> {
  const tip = await client.blockNumber();
  const page = await client.getLogs({ from_block: Math.max(0, tip - 9_999), to_block: tip, contracts: [id], limit: 200 });
  view.innerHTML = `<h1>Contract <span class="mono">${esc(id)}</span></h1>
    <h2>Events of the last 10,000 blocks</h2>${logsTable(page.logs)}`;
}

async function models(): Promise<void> {
  const tip = await client.blockNumber();
  const deployed: string[] = [];
  const inferences: string[] = [];
  for (let h = tip; h >= 0 && h > tip - 200; h--) {
    const b = decodeBlock(fromHex((await client.getBlockByHeight(h)).encoded));
    for (const t of b.transactions) {
      const id = idHex(txId(t.tx));
      t.tx.outputs.forEach((o, i) => {
        if (o.body.type === 'resource' && o.body.resource.kind.type === 'onnx') {
          deployed.push(`<tr><td>${esc(o.body.resource.meta.name)}</td><td class="mono">${esc(short(idHex(o.body.resource.content)))}</td><td>${link(`tx/${id}`, `${short(id)}:${i}`)}</td><td>${h}</td></tr>`);
        }
      });
      const e = t.tx.execution;
      if (e && e.proofSystem === 'halo2-ipa') {
        inferences.push(`<tr><td class="mono">${esc(short(idHex(e.resource)))}</td><td>${link(`tx/${id}`, short(id))}</td><td>${t.witness.proof.length} bytes</td><td>${h}</td></tr>`);
      }
    }
  }
  view.innerHTML = `<h1>Models</h1><p class="muted">The last 200 blocks.</p>
    <h2>Registered</h2>${deployed.length ? `<table data-testid="models"><tr><th>name</th><th>content</th><th>output</th><th>block</th></tr>${deployed.join('')}</table>` : '<p class="muted">none</p>'}
    <h2>Proven inferences (halo2-ipa)</h2>${inferences.length ? `<table data-testid="inferences"><tr><th>model</th><th>transaction</th><th>proof</th><th>block</th></tr>${inferences.join('')}</table>` : '<p class="muted">none</p>'}`;
}

async function route(): Promise<void> {
  if (leave) {
    const stop = leave;
    leave = undefined;
    await stop().catch(() => {});
  }
  const [, kind = '', id = ''] = location.hash.split('/');
  try {
    switch (kind) {
      case 'block':
        return await block(decodeURIComponent(id));
      case 'tx':
        return await tx(decodeURIComponent(id));
      case 'address':
        return await address(decodeURIComponent(id));
      case 'contract':
        return await contract(decodeURIComponent(id));
      case 'models':
        return await models();
      default:
        return await home();
    }
  } catch (e) {
    view.innerHTML = `<h1>Not found</h1><p class="error" data-testid="error">${esc(e instanceof Error ? e.message : e)}</p>`;
  }
}

document.getElementById('search')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = (event.target as HTMLFormElement).elements.namedItem('q') as HTMLInputElement;
  const q = input.value.trim();
  if (/^\d+$/.test(q)) location.hash = `#/block/${q}`;
  else if (q.startsWith('wes1')) location.hash = `#/address/${q}`;
  else if (/^[0-9a-f]{64}$/.test(q)) {
    const isTx = await client.getTransaction(q).then(() => true, () => false);
    const isBlock = !isTx && (await client.getBlockByHash(q).then(() => true, () => false));
    location.hash = isTx ? `#/tx/${q}` : isBlock ? `#/block/${q}` : `#/contract/${q}`;
  }
});

async function start(): Promise<void> {
  try {
    client = await WesClient.ws(rpcUrl());
  } catch (e) {
    status.textContent = `cannot reach the node at ${rpcUrl()}`;
    return;
  }
  status.textContent = `connected to ${rpcUrl()}`;
  window.addEventListener('hashchange', () => void route());
  await route();
}

void start();
