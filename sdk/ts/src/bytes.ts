/**
 * Byte helpers: hex (with or without `0x`), concatenation, comparison.
 * @module
 */

import { hex as scureHex } from '@scure/base';

/** Bytes as lowercase hex, without prefix. */
export function toHex(bytes: Uint8Array): string {
  return scureHex.encode(bytes);
}

/** Bytes from hex (an optional `0x` prefix is allowed). Throws on malformed hex. */
export function fromHex(text: string): Uint8Array {
  const s = text.startsWith('0x') ? text.slice(2) : text;
  return scureHex.decode(s.toLowerCase());
}

/** The concatenation of `parts`. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
