/**
 * The remote side of a WES connector, for Node.js: a library for writing the HTTP service a
 * node's `HttpConnector` talks to, with the same rules as Rust's `wes_ispc::service`.
 *
 * The node sends `POST {base}/prepare` (the contract's request as the body) and later
 * `POST {base}/commit/{op}`, `/abort/{op}` or `/compensate/{op}`; the op id (header
 * `X-Wes-Op`) is the idempotency key, and a node that holds a key signs every request
 * (`X-Wes-Key`, `X-Wes-Time`, `X-Wes-Signature` over {@link requestMessage}). The library
 * owns the rules, so an application writes only its effects:
 *
 * - `prepare` of a new op runs {@link Effects.prepare} and stores the answer; `prepare` of a
 *   known op answers the stored response again and acts no more; the same op id with another
 *   request is refused;
 * - `commit`, `abort` and `compensate` move the op along the allowed moves and run
 *   {@link Effects.settle} once per move; repeating the move that led to the current status
 *   acknowledges without acting;
 * - `abort` of an op never prepared leaves a tombstone, so a `prepare` that arrives after
 *   its abort does nothing; `compensate` of an unknown op acknowledges; `commit` of an
 *   unknown op is an error;
 * - a signed request older than the latest one accepted for its op is refused, so a captured
 *   request cannot be replayed to undo a later move.
 *
 * The record and the effects of a request are written in one transaction of an
 * {@link OpStore} (a database's, in production; {@link MemoryStore} for tests), so a crash
 * leaves both or neither and the node's retries finish the work once. Run the Rust
 * conformance test against a service with `wes-node connector-check URL --key NAME
 * --request HEX --request HEX`.
 *
 * ```ts
 * import { ConnectorService, MemoryStore, Auth, serveConnector } from '@wes/sdk/service';
 * const service = new ConnectorService(new MemoryStore({ stock: 10 }), effects);
 * const server = await serveConnector(service, Auth.nodes([nodeKey]), { base: '/shipping' });
 * ```
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { equalBytes, fromHex, toHex } from './bytes.js';
import { Writer } from './codec.js';
import { domainHash } from './hash.js';
import { verify } from './keys.js';
import type { Hash, PublicKey } from './types.js';

/** Longest request or response of one external call, in bytes (as in Rust). */
export const MAX_EXTERNAL_PAYLOAD = 64 * 1024;
/** Default tolerance between a request's signing time and the service's clock. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000;

/** What the chain tells a connector about a prepared op. */
export type Outcome = 'commit' | 'abort' | 'compensate';
/** Where an op stands at a service. */
export type OpStatus = 'prepared' | 'committed' | 'compensated' | 'aborted';
/** One protocol request. */
export type Action = 'prepare' | Outcome;

/** One external call, as the service sees it. */
export interface ExternalOp {
  /** The op id (32 bytes). */
  id: Hash;
  /** The calling contract's id (32 bytes). */
  contract: Hash;
  /** The request bytes. */
  request: Uint8Array;
}

/** What a service remembers of an op. */
export interface ServiceRecord {
  /** The op id. */
  id: Hash;
  /** Where it stands. */
  status: OpStatus;
  /** The prepared call, or `null` for a tombstone (an abort that arrived first). */
  call: { contract: Hash; request: Uint8Array; response: Uint8Array } | null;
  /**
   * The signing time (ms) of the latest signed request accepted for the op, `0n` if none: an
   * older signed request is refused, so a captured request cannot be replayed to undo a
   * later move.
   */
  signedMs: bigint;
}

/** Why a request was refused; `status` is the HTTP status that carries it. */
export class ServiceError extends Error {
  /** @param status the HTTP status @param message what happened */
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** The status `outcome` moves `from` to, or `null` when the move is not allowed. */
export function after(from: OpStatus, outcome: Outcome): OpStatus | null {
  switch (outcome) {
    case 'commit':
      return from === 'aborted' ? null : 'committed';
    case 'abort':
      return from === 'committed' ? null : 'aborted';
    case 'compensate':
      return from === 'committed' || from === 'compensated' ? 'compensated' : null;
  }
}

/** A service's storage: op records and, in the same transactions, the application's state. */
export interface OpStore<Tx> {
  /**
   * Runs `work` in one atomic transaction that holds op `id` against concurrent requests for
   * it: `work` gets the op's record, writes effects through `tx`, and returns the record to
   * store (`null`: unchanged) and its result. If `work` throws, nothing is written.
   */
  atomically<R>(id: Hash, work: (tx: Tx, record: ServiceRecord | null) => Promise<[ServiceRecord | null, R]>): Promise<R>;
  /** The record of op `id`. */
  record(id: Hash): Promise<ServiceRecord | null>;
}

/** What a service does: its business effects, written through the store's transaction. */
export interface Effects<Tx> {
  /** Performs `op` tentatively and answers; throwing rolls everything back. */
  prepare(tx: Tx, op: ExternalOp): Promise<Uint8Array>;
  /** Applies `outcome` to prepared `op`, which stood at `from`; once per move. */
  settle(tx: Tx, op: ExternalOp, from: OpStatus, outcome: Outcome): Promise<void>;
}

/** A transaction of a {@link MemoryStore}: a copy of the application state. */
export interface MemoryTx<A> {
  /** The application state, written by the effects. */
  app: A;
}

/**
 * A store in memory: records and an application state `A` (cloned per transaction with
 * `structuredClone`, replaced only when the work succeeds). Requests take turns. Nothing
 * survives the process: a real service keeps both in a database.
 */
export class MemoryStore<A> implements OpStore<MemoryTx<A>> {
  #app: A;
  readonly #records = new Map<string, ServiceRecord>();
  #queue: Promise<unknown> = Promise.resolve();

  /** A store starting with application state `app`. */
  constructor(app: A) {
    this.#app = app;
  }

  /** The application state (a copy). */
  read(): A {
    return structuredClone(this.#app);
  }

  /** Every record (copies). */
  records(): ServiceRecord[] {
    return [...this.#records.values()].map((r) => structuredClone(r));
  }

  atomically<R>(id: Hash, work: (tx: MemoryTx<A>, record: ServiceRecord | null) => Promise<[ServiceRecord | null, R]>): Promise<R> {
    const run = async (): Promise<R> => {
      const tx = { app: structuredClone(this.#app) };
      const stored = this.#records.get(toHex(id));
      const [record, result] = await work(tx, stored ? structuredClone(stored) : null);
      this.#app = tx.app;
      if (record) this.#records.set(toHex(id), record);
      return result;
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async record(id: Hash): Promise<ServiceRecord | null> {
    const stored = this.#records.get(toHex(id));
    return stored ? structuredClone(stored) : null;
  }
}

/** A connector service: the protocol's rules over a store and an application's effects. */
export class ConnectorService<Tx> {
  /** @param store where records and effects are written @param effects what the service does */
  constructor(
    readonly store: OpStore<Tx>,
    readonly effects: Effects<Tx>,
  ) {}

  /**
   * Prepares `op`, or answers as the first time if it was prepared before. `signedMs` is the
   * signing time of a checked signed request: refused if the op has seen a later one.
   */
  prepare(op: ExternalOp, signedMs: bigint | null = null): Promise<Uint8Array> {
    if (op.request.length > MAX_EXTERNAL_PAYLOAD) {
      return Promise.reject(new ServiceError(400, `request of ${op.request.length} bytes, at most ${MAX_EXTERNAL_PAYLOAD}`));
    }
    return this.store.atomically(op.id, async (tx, record) => {
      if (!record) {
        const response = await this.effects.prepare(tx, op);
        if (response.length > MAX_EXTERNAL_PAYLOAD) {
          throw new ServiceError(422, `the service's answer has ${response.length} bytes, at most ${MAX_EXTERNAL_PAYLOAD}`);
        }
        const call = { contract: op.contract, request: op.request, response };
        return [{ id: op.id, status: 'prepared', call, signedMs: signedMs ?? 0n }, response];
      }
      const changed = fresh(record, signedMs);
      if (record.status === 'aborted' || !record.call) {
        throw new ServiceError(409, `op ${toHex(op.id)} was aborted; a new call needs a new op`);
      }
      if (!equalBytes(record.call.contract, op.contract) || !equalBytes(record.call.request, op.request)) {
        throw new ServiceError(409, `op ${toHex(op.id)} was prepared with another request`);
      }
      return [changed ? record : null, record.call.response];
    });
  }

  /** Applies the chain's `outcome` to op `id` (`signedMs` as for {@link prepare}). */
  settle(id: Hash, outcome: Outcome, signedMs: bigint | null = null): Promise<void> {
    return this.store.atomically(id, async (tx, record) => {
      if (!record) {
        if (outcome === 'abort') return [{ id, status: 'aborted', call: null, signedMs: signedMs ?? 0n }, undefined];
        if (outcome === 'compensate') return [null, undefined];
        throw new ServiceError(404, `op ${toHex(id)} is unknown here`);
      }
      const changed = fresh(record, signedMs);
      const next = after(record.status, outcome);
      if (!next) throw new ServiceError(409, `op ${toHex(id)} is ${record.status}: ${outcome} is not allowed`);
      if (next === record.status) return [changed ? record : null, undefined];
      if (record.call) {
        await this.effects.settle(tx, { id, contract: record.call.contract, request: record.call.request }, record.status, outcome);
      }
      return [{ ...record, status: next }, undefined];
    });
  }

  /** Where op `id` stands here. */
  async status(id: Hash): Promise<OpStatus | null> {
    return (await this.store.record(id))?.status ?? null;
  }
}

/** Refuses a request signed before the latest one the op has seen; records a later one. */
function fresh(record: ServiceRecord, signedMs: bigint | null): boolean {
  if (signedMs === null) return false;
  if (signedMs < record.signedMs) {
    throw new ServiceError(401, `unauthorized: signed at ${signedMs} ms, before the latest request for op ${toHex(record.id)} (${record.signedMs} ms): a replay?`);
  }
  const changed = signedMs > record.signedMs;
  record.signedMs = signedMs;
  return changed;
}

/**
 * The message a node signs for one request: `H("wes-ispc/connector-request", encode(action,
 * op, contract?, time_ms, body))`, as `wes_ispc::protocol::request_message`.
 */
export function requestMessage(action: Action, op: Hash, contract: Hash | null, timeMs: bigint, body: Uint8Array): Hash {
  const w = new Writer()
    .string(action)
    .fixed(op, 32)
    .option(contract, (w, c) => w.fixed(c, 32))
    .u64(timeMs)
    .bytes(body);
  return domainHash('wes-ispc/connector-request', w.finish());
}

/** Which requests a service accepts. */
export class Auth {
  private constructor(
    readonly trusted: PublicKey[] | null,
    readonly maxSkewMs: number,
  ) {}

  /** Only requests signed by one of `keys`, within {@link DEFAULT_MAX_SKEW_MS} of our clock. */
  static nodes(keys: PublicKey[], maxSkewMs = DEFAULT_MAX_SKEW_MS): Auth {
    return new Auth([...keys], maxSkewMs);
  }

  /** Every request, signed or not: for development on loopback only. */
  static open(): Auth {
    return new Auth(null, DEFAULT_MAX_SKEW_MS);
  }

  /**
   * Throws a 401 {@link ServiceError} unless the request is acceptable; returns its signing
   * time (`null` when requests need no signature).
   */
  check(action: Action, op: Hash, contract: Hash | null, header: (name: string) => string | undefined, body: Uint8Array, nowMs: number): bigint | null {
    if (!this.trusted) return null;
    const refuse = (why: string): never => {
      throw new ServiceError(401, `unauthorized: ${why}`);
    };
    const key = hexOf(header('x-wes-key'), 32) ?? refuse('no valid X-Wes-Key: requests must be signed by a node');
    if (!this.trusted.some((k) => equalBytes(k, key))) refuse(`key ${toHex(key)} is not a trusted node`);
    const timeText = header('x-wes-time') ?? '';
    if (!/^\d{1,19}$/.test(timeText)) refuse('no valid X-Wes-Time');
    const time = BigInt(timeText);
    const skew = time > BigInt(nowMs) ? time - BigInt(nowMs) : BigInt(nowMs) - time;
    if (skew > BigInt(this.maxSkewMs)) refuse(`signed ${skew} ms from this service's clock (at most ${this.maxSkewMs})`);
    const signature = hexOf(header('x-wes-signature'), 64) ?? refuse('no valid X-Wes-Signature');
    if (!verify(key, requestMessage(action, op, contract, time, body), signature)) refuse(`invalid signature by ${toHex(key)}`);
    return time;
  }
}

function hexOf(text: string | undefined, size: number): Uint8Array | null {
  if (!text || !/^[0-9a-fA-F]*$/.test(text.trim()) || text.trim().length !== size * 2) return null;
  return fromHex(text.trim());
}

/**
 * Handles one `POST` to `path` (below the base: `prepare` or `commit/{op}`…) with its headers
 * (lower-case names) and body: the HTTP status and body to answer.
 */
export async function handle<Tx>(
  service: ConnectorService<Tx>,
  auth: Auth,
  path: string,
  header: (name: string) => string | undefined,
  body: Uint8Array,
  nowMs = Date.now(),
): Promise<[number, Uint8Array]> {
  try {
    const [name, rest = '', extra] = path.replace(/^\/+|\/+$/g, '').split('/');
    if (extra !== undefined) throw new ServiceError(400, `bad request: unexpected path ${path}`);
    if (name !== 'prepare' && name !== 'commit' && name !== 'abort' && name !== 'compensate') {
      throw new ServiceError(400, `bad request: no such action ${JSON.stringify(name)}`);
    }
    const op = hexOf(header('x-wes-op'), 32) ?? fail('no valid X-Wes-Op header');
    if (name === 'prepare') {
      if (rest !== '') fail(`unexpected path prepare/${rest}`);
      const contract = hexOf(header('x-wes-contract'), 32) ?? fail('no valid X-Wes-Contract header');
      const signed = auth.check(name, op, contract, header, body, nowMs);
      return [200, await service.prepare({ id: op, contract, request: body }, signed)];
    }
    if (rest.toLowerCase() !== toHex(op)) fail(`the path's op ${rest} is not X-Wes-Op`);
    if (body.length > 0) fail(`${name} takes no body`);
    const signed = auth.check(name, op, null, header, body, nowMs);
    await service.settle(op, name, signed);
    return [200, new Uint8Array()];
  } catch (e) {
    if (e instanceof ServiceError) return [e.status, new TextEncoder().encode(e.message)];
    return [503, new TextEncoder().encode(`storage: ${e instanceof Error ? e.message : String(e)}`)];
  }
}

function fail(why: string): never {
  throw new ServiceError(400, `bad request: ${why}`);
}

/** A running service. */
export interface ServiceServer {
  /** The base URL to give the node's connector (`http://host:port/base`). */
  url: string;
  /** Stops listening. */
  close(): Promise<void>;
}

/** Serves `service` over HTTP on `host:port` (default 127.0.0.1, a free port) below `base`. */
export async function serveConnector<Tx>(
  service: ConnectorService<Tx>,
  auth: Auth,
  options: { host?: string; port?: number; base?: string } = {},
): Promise<ServiceServer> {
  const base = '/' + (options.base ?? '').replace(/^\/+|\/+$/g, '');
  const prefix = base === '/' ? '' : base;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: Uint8Array) => {
      res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
      res.end(body);
    };
    const text = (status: number, message: string) => reply(status, new TextEncoder().encode(message));
    if (req.method !== 'POST') return text(405, 'only POST');
    const url = req.url ?? '';
    if (!url.startsWith(prefix + '/')) return text(404, "not below this service's base");
    // Too large a body is refused before it is read (declared) or as soon as it overflows
    // (chunked); the connection closes once the answer is sent.
    const tooLarge = () => {
      res.setHeader('Connection', 'close');
      res.on('finish', () => req.destroy());
      text(413, 'body too large');
    };
    if (Number(req.headers['content-length'] ?? 0) > MAX_EXTERNAL_PAYLOAD) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_EXTERNAL_PAYLOAD) {
        if (!res.headersSent) tooLarge();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (size > MAX_EXTERNAL_PAYLOAD) return;
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      handle(service, auth, url.slice(prefix.length), header, new Uint8Array(Buffer.concat(chunks))).then(
        ([status, body]) => reply(status, body),
        (e) => text(500, String(e)),
      );
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address}:${addr.port}${prefix}`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
