/** Hex helpers with errors that say what is wrong, for user-facing input. */

export class HexError extends Error {
  override readonly name = 'HexError';
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Parse `0x…` or bare hex. Whitespace around is ignored; anything else malformed is an error. */
export function parseHex(text: string): Uint8Array {
  let s = text.trim();
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2);
  if (!HEX_RE.test(s)) {
    const bad = s.search(/[^0-9a-fA-F]/);
    throw new HexError(`not hex: unexpected character ${JSON.stringify(s[bad])} at position ${bad + 2}`);
  }
  if (s.length % 2 !== 0) throw new HexError(`not hex: odd number of digits (${s.length})`);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
