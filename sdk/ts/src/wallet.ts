/**
 * A wallet over a node: coins a key can spend (the mempool's view, so one key can send many
 * transactions per block), transfers in any token with change, resources and contracts
 * deployed and registered, calls and proven inferences constructed by the node — each
 * checked before it is signed — and sent.
 *
 * Transactions are built and signed here: the node never sees a secret key.
 * @module
 */

import { equalBytes, fromHex, toHex } from './bytes.js';
import {
  decodeOutput,
  decodeResourceBody,
  decodeTransaction,
  encodeLock,
  encodeSignedTransaction,
  encodeToken,
} from './codec.js';
import { idHex, outpointString, parseOutpoint, txId } from './hash.js';
import { SecretKey, keyLock, signTransaction } from './keys.js';
import type { CallParams, ConstructedTx, DeployedModel, OutputInfo, WesClient } from './rpc.js';
import {
  ALWAYS,
  type Hash,
  type Lock,
  type OutPoint,
  type Output,
  type ResourceBody,
  type SignedTransaction,
  type TokenId,
  type Transaction,
  TX_VERSION,
} from './types.js';

/** The fee a wallet pays when told none: enough for small transactions on the reference chain. */
export const DEFAULT_FEE = 10_000n;

/** The one entry point of a model. */
export const INFER_ENTRY = 'infer';

/** A model's input row as an inference carries it: each value an f32, little-endian. */
export function encodeModelInput(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/** A coin a key owns, decoded. */
export interface Coin {
  outpoint: OutPoint;
  output: Output;
  /** Created by a pooled transaction, not yet confirmed. */
  pending: boolean;
}

/** A token as the RPC names it: `native`, or the hex of its encoded id. */
export function tokenName(token: TokenId): string {
  return token.type === 'native' ? 'native' : toHex(encodeToken(token));
}

/** Why a wallet operation failed before anything was sent. */
export class WalletError extends Error {
  override name = 'WalletError';
}

/** Why a node-constructed transaction was not signed. */
export class ConstructionMismatch extends Error {
  override name = 'ConstructionMismatch';
}

function sameToken(a: TokenId, b: TokenId): boolean {
  if (a.type === 'native' || b.type === 'native') return a.type === b.type;
  return equalBytes(a.contract, b.contract) && equalBytes(a.tag, b.tag);
}

function sameLock(a: Lock, b: Lock): boolean {
  return equalBytes(encodeLock(a), encodeLock(b));
}

/** What a construction must be, to be signed. */
export interface Expected {
  /** The chain it is for. */
  chainId: number;
  /** The code or model that runs. */
  resource: Hash;
  /** The entry point. */
  entry: string;
  /** The arguments. */
  args: Uint8Array;
  /** The caller's fee inputs, as sent. */
  feeInputs: readonly Coin[];
  /** Where the change goes: the caller's key, or a sponsor pool's lock. */
  change: Uint8Array | Lock;
  /** The token the fee inputs pay in (native when absent). */
  feeToken?: TokenId;
  /** The most the fee inputs lose (their value minus the change), in `feeToken`. */
  maxSpend: bigint;
}

/**
 * Checks a node-constructed transaction before signing it: the chain, the execution asked
 * for, the fee inputs spent first and as given, no other input of the caller's spent, and
 * what the caller's coins lose (their value minus the change returned) at most
 * `maxSpend`. Throws [[ConstructionMismatch]] naming what differs.
 */
export function checkConstructed(tx: Transaction, expected: Expected): void {
  const fail = (what: string) => {
    throw new ConstructionMismatch(what);
  };
  if (tx.version !== TX_VERSION) fail(`version ${tx.version}`);
  if (tx.chainId !== expected.chainId) fail(`chain ${tx.chainId}, expected ${expected.chainId}`);
  const e = tx.execution;
  if (!e) return fail('no execution');
  if (!equalBytes(e.resource, expected.resource)) fail('another resource runs');
  if (e.entry !== expected.entry) fail(`entry ${e.entry}, expected ${expected.entry}`);
  if (!equalBytes(e.args, expected.args)) fail('other arguments');
  if (e.cuUsed > e.cuLimit) fail('more compute used than the limit');
  expected.feeInputs.forEach((coin, i) => {
    const input = tx.inputs[i];
    if (!input || input.mode !== 'spend' || outpointString(input.prev) !== outpointString(coin.outpoint)) {
      fail(`input ${i} is not the fee input ${outpointString(coin.outpoint)}`);
    }
  });
  const ours = new Set(expected.feeInputs.map((c) => outpointString(c.outpoint)));
  tx.inputs.slice(expected.feeInputs.length).forEach((input, i) => {
    if (ours.has(outpointString(input.prev))) fail(`input ${i} spends a fee input again`);
  });
  const token = expected.feeToken ?? { type: 'native' };
  const changeLock = expected.change instanceof Uint8Array ? keyLock(expected.change) : expected.change;
  const paidIn = expected.feeInputs.reduce((sum, c) => {
    const body = c.output.body;
    if (body.type !== 'asset' || !sameToken(body.token, token)) fail(`a fee input does not hold ${tokenName(token)}`);
    return sum + (body.type === 'asset' ? body.amount : 0n);
  }, 0n);
  const back = tx.outputs
    .filter((o) => sameLock(o.lock, changeLock) && o.body.type === 'asset' && sameToken(o.body.token, token))
    .reduce((sum, o) => sum + (o.body.type === 'asset' ? o.body.amount : 0n), 0n);
  if (paidIn - back > expected.maxSpend) {
    fail(`the caller would pay ${paidIn - back}, more than ${expected.maxSpend}`);
  }
}

/** A wallet of one key over a node. */
export class Wallet {
  constructor(
    readonly client: WesClient,
    readonly key: SecretKey,
  ) {}

  /** The key's address. */
  address(): string {
    return this.key.address();
  }

  /** The key's coins as the mempool leaves them (every page). */
  async coins(): Promise<Coin[]> {
    const owner = toHex(this.key.publicKey);
    const coins: Coin[] = [];
    let after: string | undefined;
    for (;;) {
      const page: OutputInfo[] = await this.client.getUtxos(owner, 'pending', { after, limit: 10_000 });
      for (const o of page) {
        coins.push({ outpoint: parseOutpoint(o.outpoint), output: decodeOutput(fromHex(o.encoded)), pending: o.pending });
      }
      if (page.length < 10_000) return coins;
      after = page[page.length - 1]!.outpoint;
    }
  }

  /** Coins of `token` covering `need`, and their total. */
  async pick(token: TokenId, need: bigint): Promise<{ coins: Coin[]; total: bigint }> {
    const picked: Coin[] = [];
    let total = 0n;
    for (const coin of await this.coins()) {
      if (total >= need) break;
      const b = coin.output.body;
      if (b.type === 'asset' && sameToken(b.token, token)) {
        picked.push(coin);
        total += b.amount;
      }
    }
    if (total < need) {
      throw new WalletError(`insufficient ${tokenName(token)} balance: have ${total}, need ${need}`);
    }
    return { coins: picked, total };
  }

  /** Signs and sends `tx`; the id the node computed. */
  async send(signed: SignedTransaction): Promise<string> {
    return this.client.sendRawTransaction(toHex(encodeSignedTransaction(signed)));
  }

  /**
   * Pays `outputs` plus `fee` in `feeToken` (which the chain must accept) from the key's
   * coins, change back to the key; signs and sends. The transaction's id.
   */
  async pay(outputs: Output[], fee: bigint = DEFAULT_FEE, feeToken: TokenId = { type: 'native' }): Promise<string> {
    const need = new Map<string, { token: TokenId; amount: bigint }>();
    const add = (token: TokenId, amount: bigint) => {
      const k = tokenName(token);
      need.set(k, { token, amount: (need.get(k)?.amount ?? 0n) + amount });
    };
    add(feeToken, fee);
    for (const o of outputs) if (o.body.type === 'asset') add(o.body.token, o.body.amount);
    const inputs = [];
    const all = [...outputs];
    for (const { token, amount } of need.values()) {
      const { coins, total } = await this.pick(token, amount);
      inputs.push(...coins.map((c) => ({ prev: c.outpoint, mode: 'spend' as const })));
      if (total > amount) all.push({ lock: this.key.lock(), body: { type: 'asset', token, amount: total - amount } });
    }
    const tx: Transaction = {
      version: TX_VERSION,
      chainId: await this.client.chainId(),
      inputs,
      outputs: all,
      validity: ALWAYS,
      execution: null,
    };
    return this.send(signTransaction(tx, [this.key]));
  }

  /** Sends `amount` of `token` to `to` (a lock, or a public key). */
  transfer(
    to: Lock | Uint8Array,
    amount: bigint,
    options: { token?: TokenId; fee?: bigint; feeToken?: TokenId } = {},
  ): Promise<string> {
    const lock = to instanceof Uint8Array ? keyLock(to) : to;
    const token = options.token ?? { type: 'native' };
    return this.pay([{ lock, body: { type: 'asset', token, amount } }], options.fee, options.feeToken);
  }

  /** Stores `bytes` in the node's URES as `kind`, then registers them on chain with a Resource output owned by the key. */
  async deployResource(
    bytes: Uint8Array,
    kind: 'wasm' | 'onnx' | 'file',
    name: string,
    fee: bigint = DEFAULT_FEE,
  ): Promise<{ content: string; txid: string }> {
    const content = await this.client.putResource(toHex(bytes), kind, name);
    const body: ResourceBody = {
      content: fromHex(content),
      kind: { type: kind },
      size: BigInt(bytes.length),
      meta: { name, mime: '', verifyingKey: null },
    };
    const txid = await this.pay([{ lock: this.key.lock(), body: { type: 'resource', resource: body } }], fee);
    return { content, txid };
  }

  /** Deploys a WASM contract: its code stored and registered. */
  deployContract(wasm: Uint8Array, name: string, fee?: bigint): Promise<{ content: string; txid: string }> {
    return this.deployResource(wasm, 'wasm', name, fee);
  }

  /** A coin of `token` (native by default) of the key's worth at least `need`, for a construction's fee. */
  async feeCoin(need: bigint, token: TokenId = { type: 'native' }): Promise<Coin> {
    const coin = (await this.coins()).find(
      (c) => c.output.body.type === 'asset' && sameToken(c.output.body.token, token) && c.output.body.amount >= need,
    );
    if (!coin) {
      throw new WalletError(`no single ${tokenName(token)} coin of ${need} or more: consolidate with a transfer to yourself`);
    }
    return coin;
  }

  /**
   * Creates a sponsor pool owned by the key, holding `amount` native tokens, paying the fees
   * of calls to `contract` (any contract when `null`) up to `maxFeePerTx` each. Its outpoint.
   */
  async createSponsorPool(contract: Hash | null, maxFeePerTx: bigint, amount: bigint, fee: bigint = DEFAULT_FEE): Promise<string> {
    const lock = sponsorPoolLock(this.key.publicKey, contract, maxFeePerTx);
    const txid = await this.pay([{ lock, body: { type: 'asset', token: { type: 'native' }, amount } }], fee);
    return `${txid}:0`;
  }

  /** Adds `amount` native tokens to the pool at `pool` (a new output under its lock); the new outpoint. */
  async fundSponsorPool(pool: string, amount: bigint, fee: bigint = DEFAULT_FEE): Promise<string> {
    const { lock } = await poolAt(this.client, pool);
    const txid = await this.pay([{ lock, body: { type: 'asset', token: { type: 'native' }, amount } }], fee);
    return `${txid}:0`;
  }

  /** Takes the pool output at `pool` back to the key (its owner), less `fee`. */
  async withdrawSponsorPool(pool: string, fee: bigint = DEFAULT_FEE): Promise<string> {
    const { held } = await poolAt(this.client, pool);
    if (held < fee) throw new WalletError(`the pool holds ${held}, less than the fee ${fee}`);
    const tx: Transaction = {
      version: TX_VERSION,
      chainId: await this.client.chainId(),
      inputs: [{ prev: parseOutpoint(pool), mode: 'spend' }],
      outputs: [{ lock: this.key.lock(), body: { type: 'asset', token: { type: 'native' }, amount: held - fee } }],
      validity: ALWAYS,
      execution: null,
    };
    return this.send(signTransaction(tx, [this.key]));
  }

  /**
   * Calls `entry` of contract `resource` with `args`: the node executes it and returns the
   * transaction; it is checked ([[checkConstructed]]), signed with its proof, and sent.
   */
  async call(
    resource: string,
    entry: string,
    args: Uint8Array = new Uint8Array(),
    options: { fee?: bigint; feeToken?: TokenId; cuLimit?: number } = {},
  ): Promise<{ txid: string; constructed: ConstructedTx }> {
    const fee = options.fee ?? 200_000n;
    const feeToken = options.feeToken ?? { type: 'native' };
    const coin = await this.feeCoin(fee, feeToken);
    const params: CallParams = {
      resource,
      entry,
      args: toHex(args),
      fee_inputs: [outpointString(coin.outpoint)],
      change: toHex(this.key.publicKey),
      fee: fee.toString(),
      fee_token: tokenName(feeToken),
      cu_limit: options.cuLimit,
    };
    const constructed = await this.client.constructCall(params);
    const txid = await this.signConstructed(constructed, {
      chainId: await this.client.chainId(),
      resource: fromHex(resource),
      entry,
      args,
      feeInputs: [coin],
      change: this.key.publicKey,
      feeToken,
      maxSpend: fee,
    });
    return { txid, constructed };
  }

  /** Deploys an ONNX model (stored with its circuit) and registers it; the model's Resource output. */
  async deployModel(onnx: Uint8Array, name: string, fee: bigint = DEFAULT_FEE): Promise<{ model: DeployedModel; resource: string }> {
    const model = await this.client.deployModel(toHex(onnx), name);
    const body = decodeResourceBody(fromHex(model.resource_body));
    if (idHex(body.content) !== model.model) throw new ConstructionMismatch('the resource body names another model');
    const txid = await this.pay([{ lock: this.key.lock(), body: { type: 'resource', resource: body } }], fee);
    return { model, resource: `${txid}:0` };
  }

  /** A proven inference of the model registered at `modelOutpoint` on `input`, signed and sent. */
  async infer(
    modelOutpoint: string,
    input: number[],
    options: { fee?: bigint; cuLimit?: number } = {},
  ): Promise<{ txid: string; constructed: ConstructedTx }> {
    const fee = options.fee ?? 2_000_000n;
    const coin = await this.feeCoin(fee);
    const out = await this.client.getOutput(modelOutpoint);
    if (out.body.type !== 'resource') throw new WalletError(`${modelOutpoint} is not a Resource output`);
    const constructed = await this.client.constructInference({
      model: modelOutpoint,
      input,
      fee_inputs: [outpointString(coin.outpoint)],
      change: toHex(this.key.publicKey),
      fee: fee.toString(),
      cu_limit: options.cuLimit,
    });
    const txid = await this.signConstructed(constructed, {
      chainId: await this.client.chainId(),
      resource: fromHex(out.body.content),
      entry: INFER_ENTRY,
      args: encodeModelInput(input),
      feeInputs: [coin],
      change: this.key.publicKey,
      maxSpend: fee,
    });
    return { txid, constructed };
  }

  /** Checks a construction against `expected`, signs it, attaches its proof and sends it. */
  async signConstructed(constructed: ConstructedTx, expected: Expected): Promise<string> {
    const tx = decodeTransaction(fromHex(constructed.tx));
    if (idHex(txId(tx)) !== constructed.txid) throw new ConstructionMismatch('the id does not match the transaction');
    checkConstructed(tx, expected);
    const signed = signTransaction(tx, [this.key]);
    signed.witness.proof = fromHex(constructed.proof);
    return this.send(signed);
  }
}


/** The lock of a sponsor pool owned by `owner` for `contract` (any when `null`), capped at `maxFeePerTx`. */
export function sponsorPoolLock(owner: Uint8Array, contract: Hash | null, maxFeePerTx: bigint): Lock {
  return { type: 'sponsorPool', pool: { owner: { type: 'key', key: owner }, contract, maxFeePerTx } };
}

/** The lock of the sponsor pool output at `pool`, its coin and the native tokens it holds. */
async function poolAt(client: WesClient, pool: string): Promise<{ lock: Lock; coin: Coin; held: bigint }> {
  const info = await client.getOutput(pool);
  const output = decodeOutput(fromHex(info.encoded));
  if (output.lock.type !== 'sponsorPool') throw new WalletError(`${pool} is not a sponsor pool`);
  const held = output.body.type === 'asset' && output.body.token.type === 'native' ? output.body.amount : 0n;
  return { lock: output.lock, coin: { outpoint: parseOutpoint(pool), output, pending: false }, held };
}

/**
 * Calls `entry(args)` of contract `resource` with the fee paid by the sponsor pool at
 * `pool`: anyone may, without a key or tokens. The node constructs it; it is checked (the
 * pool pays at most `fee`, the change goes back to it) and sent unsigned with its proof.
 */
export async function callSponsored(
  client: WesClient,
  resource: string,
  entry: string,
  args: Uint8Array,
  pool: string,
  fee: bigint,
): Promise<{ txid: string; constructed: ConstructedTx }> {
  const { lock, coin } = await poolAt(client, pool);
  const constructed = await client.constructCall({ resource, entry, args: toHex(args), fee: fee.toString(), sponsor: pool });
  const tx = decodeTransaction(fromHex(constructed.tx));
  if (idHex(txId(tx)) !== constructed.txid) throw new ConstructionMismatch('the id does not match the transaction');
  checkConstructed(tx, {
    chainId: await client.chainId(),
    resource: fromHex(resource),
    entry,
    args,
    feeInputs: [coin],
    change: lock,
    maxSpend: fee,
  });
  const signed = signTransaction(tx, []);
  signed.witness.proof = fromHex(constructed.proof);
  const txid = await client.sendRawTransaction(toHex(encodeSignedTransaction(signed)));
  return { txid, constructed };
}
