/**
 * A typed client of a node's `wes_*` JSON-RPC (`wes-node/RPC.md`), over HTTP (`fetch`) or
 * WebSocket (calls and subscriptions). Values travel as the node writes them: ids and
 * encodings as hex strings, amounts as decimal strings.
 * @module
 */

/** The `data` of a node's error: which parameter, which rule, whose fault. */
export interface ErrorData {
  param?: string;
  rule?: string;
  fault?: 'input' | 'unavailable' | 'local';
  /** A contract call that failed with one of the contract's declared errors. */
  contract_error?: { code: number; name: string; message: string };
}

/** An error the node answered, with its code and machine-readable data. */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    /** The method called. */
    readonly method: string,
    /** The JSON-RPC error code (`-32000` refused, `-32001` not found, `-32602` invalid params…). */
    readonly code: number,
    message: string,
    /** Which parameter, rule and fault. */
    readonly data: ErrorData = {},
  ) {
    super(`${method}: ${message}`);
  }
}

/** A block (`wes_getBlockByHeight`, `wes_getBlockByHash`). */
export interface BlockInfo {
  hash: string;
  height: number;
  parent: string;
  time_ms: number;
  confirmations: number | null;
  transactions: string[];
  encoded: string;
}

/** An output's body as the node shows it. */
export type OutputBodyInfo =
  | { type: 'asset'; token: string; amount: string }
  | { type: 'resource'; content: string; kind: string; size: number; name: string; verifying_key: string | null }
  | { type: 'state'; contract: string; key: string; data: string; version: number };

/** An unspent output. */
export interface OutputInfo {
  outpoint: string;
  owner: string;
  body: OutputBodyInfo;
  encoded: string;
  pending: boolean;
}

/** A page of `wes_getUtxos`. */
export interface Page {
  after?: string;
  limit?: number;
}

/** A pooled or included transaction (`wes_getTransaction`). */
export interface TxInfo {
  txid: string;
  status: 'pending' | 'included';
  block?: string;
  height?: number;
  confirmations: number;
  /** Whether its block is final: no reorganisation of the node reverts it. */
  finalized: boolean;
  outputs?: OutputInfo[];
  tx: string;
}

/** One result of `wes_sendRawTransactions`. */
export type SendResult = { txid: string } | { error: { code: number; message: string; data?: ErrorData } };

/** A transaction the node constructed, unsigned, with its proof. */
export interface ConstructedTx {
  txid: string;
  tx: string;
  proof: string;
  cu_used: number;
  return_data: string;
  /** A model's result; for a call of a contract with an ABI, its return value and events
   *  decoded with it ({@link CallResult}); `null` otherwise. */
  result: unknown;
}

/** What `wes_constructCall` decodes with a contract's ABI. */
export interface CallResult {
  returns: unknown;
  events: { contract: string; topic: string; data: string; fields?: Record<string, unknown> }[];
}

/** A type of a contract's ABI: a name (`u64`, `bytes32`, `lock`…) or a composite. */
export type AbiType =
  | string
  | { option: AbiType }
  | { record: string; fields: AbiField[] };

/** A named, typed value of an ABI. */
export interface AbiField {
  name: string;
  type: AbiType;
}

/** A contract's ABI, as its module carries it (`wes_getContractAbi`). */
export interface ContractAbi {
  abi: number;
  hostabi: number;
  name: string;
  entries: { name: string; doc: string; args: AbiField[]; returns: AbiType }[];
  events: { name: string; doc: string; fields: AbiField[] }[];
  errors: { code: number; name: string; message: string }[];
}

/** Parameters of `wes_constructCall`. */
export interface CallParams {
  resource: string;
  entry: string;
  /** Arguments, hex; or, for a contract with an ABI, `typed_args`. */
  args?: string;
  /** Arguments as JSON by name or in order, encoded by the node with the contract's ABI
   *  (integers up to 32 bits as numbers, wider as decimal strings, bytes in hex). */
  typed_args?: Record<string, unknown> | unknown[];
  /** The caller's fee inputs (may be empty with a `sponsor`). */
  fee_inputs?: string[];
  /** The public key (hex) change goes to; not needed with a `sponsor`. */
  change?: string;
  /** The fee, decimal, in `fee_token`. */
  fee: string;
  /** `native` (the default) or an accepted token's hex (`wes_feeTokens`). */
  fee_token?: string;
  /** A sponsor pool (`txid:index`) that pays the fee; no signature needed then. */
  sponsor?: string;
  cu_limit?: number;
}

/** Parameters of `wes_constructInference`. */
export interface InferParams {
  model: string;
  input: number[];
  fee_inputs?: string[];
  change?: string;
  fee: string;
  fee_token?: string;
  sponsor?: string;
  cu_limit?: number;
}

/** A token the chain accepts fees in, with its rates (`wes_feeTokens`). */
export interface FeeToken {
  token: string;
  per_byte: string;
  per_cu: string;
}

/** One external-call op the node is settling (`wes_settlements`). */
export interface SettlementOp {
  op: string;
  connector: string;
  contract: string;
  /** The transactions carrying it (the same call constructed again adds one). */
  txids: string[];
  /** What the connector acknowledged. */
  state: 'preparing' | 'prepared' | 'committed' | 'compensated' | 'aborted';
  included_at: number | null;
  valid_until: number | null;
  attempts: number;
  last_error: string | null;
  /** Failing for longer than the node's limit (still retried). */
  stuck: boolean;
}

/** A deployed model (`wes_deployModel`). */
export interface DeployedModel {
  model: string;
  circuit: string;
  resource_body: string;
}

/** Which logs `wes_getLogs` lists (and a log subscription sends: contracts and topics). */
export interface LogFilter {
  from_block?: number;
  to_block?: number;
  contracts?: string[];
  topics?: string[];
  after?: string;
  limit?: number;
}

/** A contract's log. */
export interface Log {
  contract: string;
  topic: string;
  data: string;
  block: string;
  height: number;
  txid: string;
  tx_index: number;
  log_index: number;
  position: string;
  removed?: boolean;
}

/** A page of `wes_getLogs`. */
export interface LogPage {
  logs: Log[];
  next: string | null;
  to_block: number;
}

/** A block joining the best chain (`wes_subscribeNewHeads`). */
export interface Head {
  hash: string;
  height: number;
  parent: string;
  time_ms: number;
  transactions: number;
  reverted?: string[];
}

/** A watched transaction's status (`wes_subscribeTransaction`). */
export interface TxStatus {
  txid: string;
  status: 'pending' | 'included' | 'dropped' | 'unknown';
  block?: string;
  height?: number;
  confirmations: number;
  /** Whether its block is final: no reorganisation of the node reverts it. */
  finalized: boolean;
}

/** Block production (`wes_miningStatus`). */
export interface MiningStatus {
  mining: boolean;
  height: number;
  tip: string;
  blocks_mined: number;
  hash_rate: number;
  block_time_ms: number;
}

/** How requests reach the node. */
export interface Transport {
  /** Calls `method` with positional `params`; resolves with its result, rejects with [[RpcError]]. */
  request<T>(method: string, params: unknown[]): Promise<T>;
  /** Closes the connection (WebSocket). */
  close(): void;
}

interface JsonRpcResponse {
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: ErrorData };
  method?: string;
  params?: { subscription: string | number; result: unknown; error?: unknown };
}

/** How an HTTP client reaches a node. */
export interface HttpOptions {
  /**
   * The node's RPC token (64 hex digits, `rpc.token` in its data directory), sent as
   * `Authorization: Bearer <token>`: it admits the operator methods (`wes_settlements`,
   * `wes_netBlockPeer`…) and, on nodes that guard them, the compute methods. Keep it out
   * of pages served to browsers.
   */
  token?: string;
}

/** JSON-RPC over HTTP POST, with `fetch`. */
export class HttpTransport implements Transport {
  private next = 1;
  private readonly headers: Record<string, string>;
  constructor(
    readonly url: string,
    options: HttpOptions = {},
  ) {
    this.headers = { 'content-type': 'application/json' };
    if (options.token !== undefined) this.headers.authorization = `Bearer ${options.token.trim()}`;
  }

  async request<T>(method: string, params: unknown[]): Promise<T> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: this.next++, method, params }),
    });
    if (!response.ok) {
      throw new RpcError(method, response.status, `HTTP ${response.status} ${response.statusText}`);
    }
    const body = (await response.json()) as JsonRpcResponse;
    if (body.error) throw new RpcError(method, body.error.code, body.error.message, body.error.data ?? {});
    return body.result as T;
  }

  close(): void {}
}

type Pending = { method: string; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/** JSON-RPC over one WebSocket: calls, and subscriptions' notifications routed by id. */
export class WsTransport implements Transport {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly subscriptions = new Map<string, (result: unknown) => void>();
  private readonly early = new Map<string, unknown[]>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event: MessageEvent) => this.receive(String(event.data)));
    socket.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new RpcError(p.method, 0, 'connection closed'));
      this.pending.clear();
    });
  }

  /** Connects to `url` (`ws://…`). */
  static connect(url: string): Promise<WsTransport> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.addEventListener('open', () => resolve(new WsTransport(socket)), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  private receive(text: string): void {
    let message: JsonRpcResponse;
    try {
      message = JSON.parse(text) as JsonRpcResponse;
    } catch {
      return;
    }
    if (message.method && message.params) {
      const id = String(message.params.subscription);
      const deliver = this.subscriptions.get(id);
      if (deliver) deliver(message.params.result);
      else this.early.set(id, [...(this.early.get(id) ?? []), message.params.result]);
      return;
    }
    if (typeof message.id !== 'number') return;
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error) {
      waiting.reject(new RpcError(waiting.method, message.error.code, message.error.message, message.error.data ?? {}));
    } else {
      waiting.resolve(message.result);
    }
  }

  request<T>(method: string, params: unknown[]): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject });
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /**
   * Subscribes with `method`; `onItem` gets every notification. Resolves with a function
   * that unsubscribes with `unsubscribe`.
   */
  async subscribe<T>(
    method: string,
    unsubscribe: string,
    params: unknown[],
    onItem: (item: T) => void,
  ): Promise<() => Promise<void>> {
    const id = String(await this.request<string | number>(method, params));
    this.subscriptions.set(id, onItem as (r: unknown) => void);
    for (const item of this.early.get(id) ?? []) onItem(item as T);
    this.early.delete(id);
    return async () => {
      this.subscriptions.delete(id);
      await this.request<boolean>(unsubscribe, [id]);
    };
  }

  close(): void {
    this.socket.close();
  }
}

/** The `wes_*` methods, typed. */
export class WesClient {
  constructor(readonly transport: Transport) {}

  /** A client over HTTP (`http://127.0.0.1:8645`), with the node's token if given. */
  static http(url: string, options: HttpOptions = {}): WesClient {
    return new WesClient(new HttpTransport(url, options));
  }

  /** A client over WebSocket (`ws://127.0.0.1:8645`), which can also subscribe. */
  static async ws(url: string): Promise<WesClient> {
    return new WesClient(await WsTransport.connect(url));
  }

  /** Calls any method (a chain's own, beside the built-in ones). */
  call<T>(method: string, ...params: unknown[]): Promise<T> {
    return this.transport.request<T>(method, params);
  }

  chainId(): Promise<number> {
    return this.call('wes_chainId');
  }
  blockNumber(): Promise<number> {
    return this.call('wes_blockNumber');
  }
  getBlockByHeight(height: number): Promise<BlockInfo> {
    return this.call('wes_getBlockByHeight', height);
  }
  getBlockByHash(hash: string): Promise<BlockInfo> {
    return this.call('wes_getBlockByHash', hash);
  }
  /** Balances by token (`native`, or the hex of an encoded token id), decimal strings. */
  getBalance(owner: string, tag: 'latest' | 'pending' = 'latest'): Promise<Record<string, string>> {
    return this.call('wes_getBalance', owner, tag);
  }
  getUtxos(owner: string, tag: 'latest' | 'pending' = 'latest', page?: Page): Promise<OutputInfo[]> {
    return page ? this.call('wes_getUtxos', owner, tag, page) : this.call('wes_getUtxos', owner, tag);
  }
  getOutput(outpoint: string): Promise<OutputInfo> {
    return this.call('wes_getOutput', outpoint);
  }
  /** Sends a signed transaction (hex of its encoding); its id. */
  sendRawTransaction(hex: string): Promise<string> {
    return this.call('wes_sendRawTransaction', hex);
  }
  sendRawTransactions(hexes: string[]): Promise<SendResult[]> {
    return this.call('wes_sendRawTransactions', hexes);
  }
  getTransaction(txid: string): Promise<TxInfo> {
    return this.call('wes_getTransaction', txid);
  }
  /** Stores bytes (hex) of `kind` (`wasm`, `onnx`, `file`, `custom:<n>`); their content id. */
  putResource(hex: string, kind: string, name: string): Promise<string> {
    return this.call('wes_putResource', hex, kind, name);
  }
  getResource(id: string): Promise<string> {
    return this.call('wes_getResource', id);
  }
  /** The ABI the contract module `resource` carries, `null` if it carries none. */
  getContractAbi(resource: string): Promise<ContractAbi | null> {
    return this.call('wes_getContractAbi', resource);
  }
  constructCall(params: CallParams): Promise<ConstructedTx> {
    return this.call('wes_constructCall', params);
  }
  deployModel(hex: string, name: string): Promise<DeployedModel> {
    return this.call('wes_deployModel', hex, name);
  }
  constructInference(params: InferParams): Promise<ConstructedTx> {
    return this.call('wes_constructInference', params);
  }
  mempool(): Promise<{ count: number; bytes: number }> {
    return this.call('wes_mempool');
  }
  miningStatus(): Promise<MiningStatus> {
    return this.call('wes_miningStatus');
  }
  /** The tokens the chain accepts fees in, with their rates. */
  feeTokens(): Promise<FeeToken[]> {
    return this.call('wes_feeTokens');
  }
  getLogs(filter: LogFilter): Promise<LogPage> {
    return this.call('wes_getLogs', filter);
  }
  /** The external-call ops the node is settling (only the stuck ones with `stuckOnly`). */
  settlements(stuckOnly = false): Promise<SettlementOp[]> {
    return this.call('wes_settlements', stuckOnly);
  }

  private ws(): WsTransport {
    if (!(this.transport instanceof WsTransport)) {
      throw new Error('subscriptions need a WebSocket client (WesClient.ws)');
    }
    return this.transport;
  }

  /** Every block joining the best chain. Resolves with an unsubscribe function. */
  subscribeNewHeads(onHead: (head: Head) => void): Promise<() => Promise<void>> {
    return this.ws().subscribe('wes_subscribeNewHeads', 'wes_unsubscribeNewHeads', [], onHead);
  }

  /** A transaction's status now and at every change. */
  subscribeTransaction(txid: string, onStatus: (status: TxStatus) => void): Promise<() => Promise<void>> {
    return this.ws().subscribe('wes_subscribeTransaction', 'wes_unsubscribeTransaction', [txid], onStatus);
  }

  /** Matching logs as blocks join (and, `removed`, leave) the best chain. */
  subscribeLogs(filter: LogFilter, onLog: (log: Log) => void): Promise<() => Promise<void>> {
    return this.ws().subscribe('wes_subscribeLogs', 'wes_unsubscribeLogs', [filter], onLog);
  }

  /** Closes the connection (WebSocket). */
  close(): void {
    this.transport.close();
  }
}
