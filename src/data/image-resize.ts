// Resampling to the model's square size, one axis at a time (both filters are separable). Shrinking averages the
// source area each output pixel covers (a box filter, exact for fractional overlaps), so no source pixel is skipped
// and there is no aliasing; enlarging interpolates bilinearly between pixel centres, as PIL's and OpenCV's
// defaults do, rather than repeating pixels as blocks.

/** Each output pixel as a weighted sum of source pixels along one axis: source indices and their weights. */
interface Taps {
  first: Int32Array;
  weights: Float32Array[];
}

function taps(from: number, to: number): Taps {
  const scale = from / to;
  const first = new Int32Array(to);
  const weights: Float32Array[] = [];
  for (let i = 0; i < to; i++) {
    if (scale >= 1) {
      // Output pixel i covers source [i * scale, (i + 1) * scale): each source pixel weighs its overlap.
      const [start, end] = [i * scale, (i + 1) * scale];
      const lo = Math.floor(start);
      const hi = Math.min(from, Math.ceil(end - 1e-9));
      first[i] = lo;
      weights.push(Float32Array.from({ length: hi - lo }, (_, k) => (Math.min(end, lo + k + 1) - Math.max(start, lo + k)) / scale));
    } else {
      // The output pixel's centre in source coordinates, between two source centres (clamped at the borders).
      const centre = Math.min(from - 1, Math.max(0, (i + 0.5) * scale - 0.5));
      const lo = Math.min(Math.floor(centre), from - 2);
      const t = centre - lo;
      first[i] = Math.max(0, lo);
      weights.push(from === 1 ? Float32Array.of(1) : Float32Array.of(1 - t, t));
    }
  }
  return { first, weights };
}

/**
 * `pixels` (height x width x channels values, channel-last) resampled to height x width of `to`. Values stay on
 * their scale: every output is a weighted mean of inputs, the weights summing to 1.
 */
export function resizeImage(
  pixels: Float32Array,
  from: { height: number; width: number },
  to: { height: number; width: number },
  channels: number,
): Float32Array {
  if (from.height === to.height && from.width === to.width) return pixels;
  // Along x first: height x to.width, then along y.
  const across = taps(from.width, to.width);
  const rows = new Float32Array(from.height * to.width * channels);
  for (let y = 0; y < from.height; y++) {
    for (let x = 0; x < to.width; x++) {
      const w = across.weights[x];
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < w.length; k++) sum += w[k] * pixels[(y * from.width + across.first[x] + k) * channels + c];
        rows[(y * to.width + x) * channels + c] = sum;
      }
    }
  }
  const down = taps(from.height, to.height);
  const out = new Float32Array(to.height * to.width * channels);
  const rowLength = to.width * channels;
  for (let y = 0; y < to.height; y++) {
    const w = down.weights[y];
    for (let i = 0; i < rowLength; i++) {
      let sum = 0;
      for (let k = 0; k < w.length; k++) sum += w[k] * rows[(down.first[y] + k) * rowLength + i];
      out[y * rowLength + i] = sum;
    }
  }
  return out;
}
