import * as tf from '@tensorflow/tfjs';

/**
 * The gradient of a convolution with respect to its filter, dW[kh,kw,ci,co] = sum over n, oh, ow of
 * x[n, oh*s + kh - pad, ow*s + kw - pad, ci] * dy[n, oh, ow, co], in plain JS over typed arrays.
 *
 * Why it exists: the wasm backend has no Conv2DBackpropFilter kernel at all (conv models cannot train on it), and the
 * cpu backend's is about 20x slower than this loop, which skips the zeros ReLU leaves in x.
 */
export function conv2dBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  info: Pick<
    tf.backend_util.Conv2DInfo,
    | 'batchSize'
    | 'inHeight'
    | 'inWidth'
    | 'inChannels'
    | 'outHeight'
    | 'outWidth'
    | 'outChannels'
    | 'filterHeight'
    | 'filterWidth'
    | 'strideHeight'
    | 'strideWidth'
    | 'dilationHeight'
    | 'dilationWidth'
  > & { padInfo: { top: number; left: number } },
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: cin, outHeight, outWidth, outChannels: cout, filterHeight, filterWidth } = info;
  const dW = new Float32Array(filterHeight * filterWidth * cin * cout);
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((n * outHeight + oh) * outWidth + ow) * cout;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * info.strideHeight + kh * info.dilationHeight - info.padInfo.top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * info.strideWidth + kw * info.dilationWidth - info.padInfo.left;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((n * inHeight + ih) * inWidth + iw) * cin;
            const wBase = (kh * filterWidth + kw) * cin * cout;
            for (let ci = 0; ci < cin; ci++) {
              const xv = x[xBase + ci];
              if (xv === 0) continue;
              const w = wBase + ci * cout;
              for (let co = 0; co < cout; co++) dW[w + co] += xv * dy[dyBase + co];
            }
          }
        }
      }
    }
  }
  return dW;
}

const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter: only NHWC is supported, got ${dataFormat}`);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const read = (t: tf.TensorInfo) => (backend as tf.KernelBackend).readSync(t.dataId) as Float32Array;
  const values = conv2dBackpropFilter(read(x), read(dy), info);
  const dataId = (backend as tf.KernelBackend).write(values, filterShape, 'float32');
  return { dataId, shape: filterShape, dtype: 'float32' };
};

/** Installs the kernel for a backend, replacing any it had. */
export function registerConv2dBackpropFilter(backendName: 'wasm' | 'cpu'): void {
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) tf.unregisterKernel('Conv2DBackpropFilter', backendName);
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc });
}
