// The state of training after a completed epoch, in the run record's checkpoint folder, so an interrupted run can go on exactly
// where it left off (`vae run --resume <runDir>`):
//   encoder/, decoder/     the networks' weights (model.json + weights.bin)
//   optimizer.json/.bin    Adam's step count, both moments of every variable and its running beta powers
//   state.json             the epoch completed, its metrics and the training seconds so far, and for a run stopped
//                          inside an epoch how far it got (steps, running sums, the epoch's random-stream states);
//                          written last
// Other random streams need no state: they are derived from the seed and the epoch (see trainer.ts).
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLayersModel, saveLayersModel } from '../model/persist.ts';
import { RunRecord } from '../record/run-record.ts';
import type { Vae } from '../model/vae.ts';
import type { TrainingState } from './trainer.ts';
import type { TrainingStep } from './training-step.ts';

/**
 * Writes the checkpoint into a folder of its own, then swaps it in with two synchronous renames (old aside, new in)
 * and deletes the old one. A crash at any point leaves a complete checkpoint: the old one, the new one, or (between
 * the renames) the old one set aside, which findCheckpoint falls back to. Signal handlers cannot run between the
 * renames, since they are synchronous.
 */
export async function saveCheckpoint(runDir: string, vae: Vae, step: TrainingStep, state: TrainingState): Promise<void> {
  const { current, writing: tmp, aside: old } = new RunRecord(runDir).checkpointDirs();
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    await saveLayersModel(vae.encoder, join(tmp, 'encoder'));
    await saveLayersModel(vae.decoder, join(tmp, 'decoder'));
    const { data, specs } = await step.optimizerState();
    writeFileSync(join(tmp, 'optimizer.bin'), Buffer.from(data));
    writeFileSync(join(tmp, 'optimizer.json'), JSON.stringify(specs));
    writeFileSync(join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  } catch (e) {
    // A full disk: give the space of the half-written copy back, so the record can still be marked FAILED.
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }

  rmSync(old, { recursive: true, force: true });
  if (existsSync(current)) renameSync(current, old);
  renameSync(tmp, current);
  rmSync(old, { recursive: true, force: true });
}

export interface Checkpoint {
  dir: string;
  state: TrainingState;
  /** Copies the saved weights into a VAE built from the same spec. */
  restoreModel(vae: Vae): Promise<void>;
  /** Gives a fresh training step the saved Adam moments, step count and beta powers. */
  restoreOptimizer(step: TrainingStep): Promise<void>;
}

/** The run's last complete checkpoint, or null when it has none. */
export function findCheckpoint(runDir: string): Checkpoint | null {
  const complete = (dir: string) => existsSync(join(dir, 'state.json'));
  const record = new RunRecord(runDir);
  let dir = record.checkpointDirs().current;
  if (!complete(dir)) {
    const old = record.checkpointsSetAside().find(complete);
    if (!old) return null;
    dir = old;
  }
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as TrainingState;
  return {
    dir,
    state,
    async restoreModel(vae) {
      for (const [part, net] of [
        ['encoder', vae.encoder],
        ['decoder', vae.decoder],
      ] as const) {
        const saved = await loadLayersModel(join(dir, part));
        net.setWeights(saved.getWeights());
        saved.dispose();
      }
    },
    async restoreOptimizer(step) {
      const bin = readFileSync(join(dir, 'optimizer.bin'));
      const specs = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
      const tensors = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), specs);
      try {
        await step.restoreOptimizerState(specs.map((s) => ({ name: s.name, tensor: tensors[s.name] })));
      } finally {
        tf.dispose(Object.values(tensors));
      }
    },
  };
}
