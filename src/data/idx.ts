import { readFileSync } from 'node:fs';
import { UserError } from '../errors.ts';

/** An IDX file of unsigned bytes (the format MNIST and Fashion-MNIST are published in). */
export interface IdxArray {
  dims: number[];
  /** Row-major values, a view into the file's bytes. */
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

export class IdxError extends UserError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: not a usable IDX file: ${detail}`);
  }
}

export function readIdxFile(file: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new IdxError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
  return parseIdx(bytes, file);
}

/**
 * Checks the header against the file before trusting it: a header that claims more data than the file holds is
 * reported, never allocated.
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new IdxError(file, `${bytes.length} bytes is too short for the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
    throw new IdxError(file, `magic number 0x${magic} does not start with two zero bytes (is the file gzipped? gunzip it first)`);
  }
  const type = bytes[2];
  if (type !== UNSIGNED_BYTE) {
    throw new IdxError(
      file,
      `element type 0x${type.toString(16).padStart(2, '0')} (${TYPE_NAMES[type] ?? 'unknown'}) is not supported; expected 0x08 (unsigned byte)`,
    );
  }
  const rank = bytes[3];
  if (rank < 1 || rank > 3) throw new IdxError(file, `${rank} dimensions; expected 1 (labels) or 3 (images)`);
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) throw new IdxError(file, `header says ${rank} dimensions but the file ends after ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  if (actual < expected) {
    throw new IdxError(file, `truncated: header says ${dims.join(' x ')} = ${expected} bytes of data, the file holds ${actual}`);
  }
  if (actual > expected) {
    throw new IdxError(file, `${actual - expected} unexpected bytes after the ${dims.join(' x ')} data the header describes`);
  }
  return { dims, data: bytes.subarray(headerLength) };
}
