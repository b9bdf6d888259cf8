// Starts the reference chain's `wes-node devnet` for a test (binary from WES_NODE_BIN, or
// the workspace's target directory) on a free port of 127.0.0.1, in a fresh directory.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The directory of the compiled tests (`build/test`). */
export const here = fileURLToPath(new URL('.', import.meta.url));
/** The SDK's directory. */
export const sdkDir = resolve(here, '../..');

/** The `wes-node` binary the tests run. */
export function nodeBinary(): string {
  if (process.env.WES_NODE_BIN) return process.env.WES_NODE_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? resolve(sdkDir, '../../target');
  const bin = join(target, 'debug', 'wes-node');
  if (!existsSync(bin)) {
    throw new Error(`no node binary at ${bin}: build it (cargo build -p wes-reference-chain --bin wes-node) or set WES_NODE_BIN`);
  }
  return bin;
}

/** A running devnet: its RPC URL (`http://…`), its operator token, and how to stop it. */
export interface Devnet {
  url: string;
  token: string;
  stop(): void;
}

/** Starts a devnet mining every 400 ms, with `args` added to its command line. */
export async function startDevnet(args: string[] = []): Promise<Devnet> {
  const dir = mkdtempSync(join(tmpdir(), 'wes-sdk-'));
  const node: ChildProcess = spawn(
    nodeBinary(),
    ['devnet', '--data-dir', join(dir, 'chain'), '--rpc-addr', '127.0.0.1:0', '--block-time-ms', '400', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  const stop = () => {
    node.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('the node did not print its RPC address within 60 s')), 60_000);
      node.once('exit', (code) => fail(new Error(`the node exited with ${code}`)));
      createInterface({ input: node.stdout! }).on('line', (line) => {
        const m = /^RPC listening on (\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
    });
    // Written before the node listens.
    const token = readFileSync(join(dir, 'chain', 'rpc.token'), 'utf8').trim();
    return { url, token, stop };
  } catch (e) {
    stop();
    throw e;
  }
}
