import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Saves a layers model in the TensorFlow.js format (model.json + weights.bin), readable by tf.loadLayersModel in
 * Node and in the browser. Written by hand because the file:// handler exists only in tfjs-node.
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      writeFileSync(join(dir, 'weights.bin'), weights);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return [join(dir, 'model.json'), join(dir, 'weights.bin')];
}

export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const weights = readFileSync(join(dir, 'weights.bin'));
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData }),
  );
}
