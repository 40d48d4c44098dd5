// Stepped images laid out the way mlflow.log_image(key=..., step=...) writes them (checked against MLflow 3.17's
// mlflow/tracking/client.py), so the run page shows them with a step slider.
import { randomUUID } from 'node:crypto';
import { PNG } from 'pngjs';

/** One image logged under `key` at `step`; `id` keeps two images of the same key, step and millisecond apart. */
export interface SteppedImage {
  key: string;
  step: number;
  timestamp: number;
  id: string;
}

/** The tag MLflow's UI reads to switch on its image grid; the Python client sets it to str(True). */
export const LOGGED_IMAGES_TAG = 'mlflow.loggedImages';
export const LOGGED_IMAGES_VALUE = 'True';

/** MLflow's `key` rule for images: alphanumerics, `_ - . /` and spaces. */
const IMAGE_KEY = /^[a-zA-Z0-9_\-./ ]+$/;

/** Thumbnails fit in a square of this side, as MLflow's compress_image_size does. */
export const THUMBNAIL_SIZE = 256;

export function steppedImage(key: string, step: number, timestamp = Date.now()): SteppedImage {
  if (!IMAGE_KEY.test(key)) throw new Error(`image key may only contain letters, digits, _ - . / and spaces: ${JSON.stringify(key)}`);
  if (!Number.isInteger(step) || step < 0) throw new Error(`image step must be a non-negative integer (got ${step})`);
  // MLflow swaps the first character for one in g-z so the name never starts with a hex digit.
  const uuid = randomUUID();
  const id = 'ghijklmnopqrstuvwxyz'[Math.floor(Math.random() * 20)] + uuid.slice(1);
  return { key, step, timestamp, id };
}

/**
 * `images/<key>+step+<n>+timestamp+<ms>+<id>.png` and its `+compressed` thumbnail. MLflow 3.17 turns `/` in the key
 * into `~` (older releases used `#`, which its own path check rejects); the UI reads both back as `/`.
 */
export function steppedImagePaths(image: SteppedImage): { image: string; thumbnail: string } {
  const stem = `images/${image.key.replace(/\//g, '~')}+step+${image.step}+timestamp+${image.timestamp}+${image.id}`;
  // MLflow writes the thumbnail as WebP; its UI accepts png or webp for either file.
  return { image: `${stem}.png`, thumbnail: `${stem}+compressed.png` };
}

/** A box-filtered copy no larger than THUMBNAIL_SIZE on its longer side; small images come back unchanged. */
export function thumbnailPng(png: Buffer): Buffer {
  const src = PNG.sync.read(png);
  const scale = THUMBNAIL_SIZE / Math.max(src.width, src.height);
  if (scale >= 1) return png;
  const width = Math.max(1, Math.floor(src.width * scale));
  const height = Math.max(1, Math.floor(src.height * scale));
  const out = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * src.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * src.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * src.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * src.width) / width));
      const sum = [0, 0, 0, 0];
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const i = (sy * src.width + sx) * 4;
          for (let c = 0; c < 4; c++) sum[c] += src.data[i + c];
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * width + x) * 4;
      for (let c = 0; c < 4; c++) out.data[o + c] = Math.round(sum[c] / n);
    }
  }
  return PNG.sync.write(out);
}
