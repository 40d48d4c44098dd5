// PNG and JPEG files as pixels, told apart by their first bytes rather than their names, and turned into the grey
// or RGB values a model takes. pngjs and jpeg-js are pure JavaScript: nothing to build, the same on every machine.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A decoded picture: width * height pixels of 4 bytes (red, green, blue, alpha), row by row. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A file that is not a picture vae-lab can read; the message says why, for one line after the file's name. */
export class UndecodableImage extends Error {}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];
/** The IEND chunk every PNG ends with: its type and its CRC. */
const PNG_END = [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

// jpeg-js refuses a picture of more than 100 megapixels before allocating for it; PNG headers get the same limit
// here, so a hostile or broken header cannot take the machine's memory.
const MAX_PIXELS = 100e6;

export function decodeImage(bytes: Uint8Array): Rgba {
  if (bytes.length === 0) throw new UndecodableImage('empty file');
  const startsWith = (signature: number[]) => signature.every((b, i) => bytes[i] === b);
  if (startsWith(PNG_SIGNATURE)) return attempt('PNG', () => decodePng(bytes));
  if (startsWith(JPEG_SIGNATURE)) {
    // Not tolerant: a truncated JPEG is an error, not a picture with a grey bottom half.
    return attempt('JPEG', () => jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false }));
  }
  throw new UndecodableImage(`not a PNG or JPEG file (it starts with ${describeStart(bytes)})`);
}

function decodePng(bytes: Uint8Array): Rgba {
  // The IHDR chunk comes first: width and height at bytes 16 and 20.
  if (bytes.length >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const pixels = view.getUint32(16) * view.getUint32(20);
    if (pixels > MAX_PIXELS) throw new Error(`its header claims ${(pixels / 1e6).toFixed(0)} megapixels, more than the 100 allowed`);
  }
  try {
    return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (e) {
    // pngjs says "There are some read requests waitng on finished stream" of a file cut short: say it plainly.
    if (!endsWith(bytes, PNG_END)) throw new Error('truncated: the file ends before its IEND chunk');
    throw e;
  }
}

function endsWith(bytes: Uint8Array, tail: number[]): boolean {
  return bytes.length >= tail.length && tail.every((b, i) => bytes[bytes.length - tail.length + i] === b);
}

function attempt(format: string, decode: () => Rgba): Rgba {
  let image: Rgba;
  try {
    image = decode();
  } catch (e) {
    throw new UndecodableImage(`unreadable ${format} (${firstLine(e)})`);
  }
  if (image.width === 0 || image.height === 0) throw new UndecodableImage(`${format} of ${image.width} x ${image.height} pixels`);
  return image;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].trim() || 'no reason given';
}

/** The first bytes as text when they are printable (a text file misnamed .png), else in hex. */
function describeStart(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const printable = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d);
  return printable ? JSON.stringify(Buffer.from(head).toString('latin1')) : [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** True when every pixel has red = green = blue: a grey picture, whatever format it was stored in. */
export function isGrey(image: Rgba): boolean {
  const { data } = image;
  for (let i = 0; i < data.length; i += 4) if (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2]) return false;
  return true;
}

/**
 * The picture as `channels` values a pixel (1: grey, 3: red, green, blue), channel-last, on the 0-255 scale, with
 * transparency blended over black (as `vae reconstruct --input` always has). Grey is ITU-R BT.601 luma, the weights
 * MNIST-style grey images and PIL's convert('L') use.
 */
export function toChannels(image: Rgba, channels: 1 | 3): Float32Array {
  const { data } = image;
  const pixels = image.width * image.height;
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const [r, g, b, a] = [data[4 * p], data[4 * p + 1], data[4 * p + 2], data[4 * p + 3] / 255];
    if (channels === 1) out[p] = (0.299 * r + 0.587 * g + 0.114 * b) * a;
    else [out[3 * p], out[3 * p + 1], out[3 * p + 2]] = [r * a, g * a, b * a];
  }
  return out;
}
