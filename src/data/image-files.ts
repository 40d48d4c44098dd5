import { readFileSync } from 'node:fs';
import { decodeImage, toChannels, UndecodableImage } from './image-decode.ts';
import { readIdxFile, IdxError } from './idx.ts';
import { describeImageShape, type ImageSet, type ImageShape } from './images.ts';
import { UserError } from '../errors.ts';

export class ImageInputError extends UserError {}

/**
 * Images a user hands to a trained model: an IDX file of N x H x W bytes (grey models), or one PNG or JPEG, made
 * grey or RGB as the model takes it. Either must have the model's image size.
 */
export function readImageInput(file: string, model: ImageShape): ImageSet {
  const set = /\.(png|jpe?g)$/i.test(file) ? readPicture(file, model.channels as 1 | 3) : readIdx(file, model);
  if (set.height !== model.height || set.width !== model.width) {
    throw new ImageInputError(`${file}: images are ${set.height} x ${set.width}, the model takes ${model.height} x ${model.width}`);
  }
  return set;
}

function readIdx(file: string, model: ImageShape): ImageSet {
  if (model.channels !== 1) {
    throw new ImageInputError(`${file}: IDX files hold grey images and the model takes ${describeImageShape(model)}; give a PNG or JPEG`);
  }
  const idx = readIdxFile(file);
  if (idx.dims.length !== 3) throw new IdxError(file, `images need 3 dimensions (count x height x width), found ${idx.dims.length}`);
  const [count, height, width] = idx.dims;
  return { count, height, width, channels: 1, pixels: idx.data };
}

function readPicture(file: string, channels: 1 | 3): ImageSet {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ImageInputError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const image = decodeImage(bytes);
    const pixels = Uint8Array.from(toChannels(image, channels), Math.round);
    return { count: 1, height: image.height, width: image.width, channels, pixels };
  } catch (e) {
    if (e instanceof UndecodableImage) throw new ImageInputError(`${file}: ${e.message}`);
    throw e;
  }
}
