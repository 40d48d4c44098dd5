import type { ImageSet } from './images.ts';

/**
 * A dataset generated from known factors of variation, which can draw the image of any factor combination: what the
 * disentanglement scores need to hold one factor fixed while the others vary (dSprites).
 */
export interface FactorWorld {
  /** One name per factor, e.g. `shape`, `scale`. */
  names: readonly string[];
  /** How many values each factor takes; its class indices run from 0 to size - 1. */
  sizes: readonly number[];
  /** One image per row of class indices, in order. */
  render(classes: readonly (readonly number[])[]): ImageSet;
}
