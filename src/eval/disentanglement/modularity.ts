/**
 * Modularity (Ridgeway & Zemel 2018, "Learning Deep Disentangled Embeddings with the F-Statistic Loss") from the
 * [latent][factor] mutual information, as disentanglement_lib computes it: a latent is modular when its squared
 * mutual information is concentrated on one factor; 1 - (sum of the other squares) / (max square * (F - 1)), with a
 * latent that carries no information scoring 0; averaged over latents.
 */
export function modularity(mutualInformation: readonly (readonly number[])[]): number {
  let sum = 0;
  for (const row of mutualInformation) {
    const squared = row.map((v) => v * v);
    const max = Math.max(...squared);
    if (max === 0) continue;
    const rest = squared.reduce((a, b) => a + b, 0) - max;
    sum += 1 - rest / (max * (squared.length - 1));
  }
  return sum / mutualInformation.length;
}
