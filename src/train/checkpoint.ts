// The state of training after a completed epoch, in the run record's checkpoint folder, so an interrupted run can go on exactly
// where it left off (`vae run --resume <runDir>`):
//   encoder/, decoder/     the networks' weights (model.json + weights.bin), and prior/ for a learned prior,
//                          top_encoder/ and top_decoder/ for a second stochastic layer
//   optimizer.json/.bin    Adam's step count, both moments of every variable and its running beta powers
//   state.json             the epoch completed, its metrics and the training seconds so far, and for a run stopped
//                          inside an epoch how far it got (steps, running sums, the epoch's random-stream states);
//                          the size and SHA-256 of every other file (see checkpoint-files.ts); written last
// The checkpoint saved before it is kept beside it, so a damaged one costs one more epoch, never the run.
// Other random streams need no state: they are derived from the seed and the epoch (see trainer.ts).
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLayersModel, saveLayersModel } from '../model/persist.ts';
import { RunRecord } from '../record/run-record.ts';
import type { Vae } from '../model/vae.ts';
import { checkpointDir, describeFiles, readSavedState, STATE_FILE, type Generation, type SavedState } from './checkpoint-files.ts';
import type { TrainingState } from './trainer.ts';
import type { TrainingStep } from './training-step.ts';

/**
 * Writes the checkpoint into a folder of its own, then moves the current one to the previous one's place and the new
 * one in, with two synchronous renames. A crash at any point leaves a complete checkpoint: the new one, the current
 * one, or (between the renames) the previous one, which findCheckpoint falls back to. Signal handlers cannot run
 * between the renames, since they are synchronous.
 */
export async function saveCheckpoint(runDir: string, vae: Vae, step: TrainingStep, state: TrainingState): Promise<void> {
  const { current, previous, writing: tmp } = new RunRecord(runDir).checkpointDirs();
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    for (const [name, net] of vae.networks) await saveLayersModel(net, join(tmp, name));
    const { data, specs } = await step.optimizerState();
    writeFileSync(join(tmp, 'optimizer.bin'), Buffer.from(data));
    writeFileSync(join(tmp, 'optimizer.json'), JSON.stringify(specs));
    const saved: SavedState = { ...state, files: describeFiles(tmp) };
    writeFileSync(join(tmp, STATE_FILE), JSON.stringify(saved, null, 2) + '\n');
  } catch (e) {
    // A full disk: give the space of the half-written copy back, so the record can still be marked FAILED.
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }

  if (existsSync(join(current, STATE_FILE))) {
    rmSync(previous, { recursive: true, force: true });
    renameSync(current, previous);
  } else {
    // Never a generation: what a crash mid-delete or a fault left of one.
    rmSync(current, { recursive: true, force: true });
  }
  renameSync(tmp, current);
}

export interface Checkpoint {
  dir: string;
  state: TrainingState;
  /** Copies the saved weights into a VAE built from the same spec. */
  restoreModel(vae: Vae): Promise<void>;
  /** Gives a fresh training step the saved Adam moments, step count and beta powers. */
  restoreOptimizer(step: TrainingStep): Promise<void>;
}

/** The run's last complete checkpoint (or the one before it), unchecked: for its state alone, or after checkpointDamage. */
export function findCheckpoint(runDir: string, generation: Generation = 'latest'): Checkpoint | null {
  const dir = checkpointDir(runDir, generation);
  return dir ? openCheckpoint(dir) : null;
}

/** Makes the previous checkpoint the current one, deleting the current (damaged) one, so saves rotate as before. */
export function fallBackToPreviousCheckpoint(runDir: string): void {
  const { current, previous } = new RunRecord(runDir).checkpointDirs();
  rmSync(current, { recursive: true, force: true });
  renameSync(previous, current);
}

function openCheckpoint(dir: string): Checkpoint {
  const { files: _checksums, ...state } = readSavedState(dir);
  return {
    dir,
    state,
    async restoreModel(vae) {
      for (const [name, net] of vae.networks) {
        const saved = await loadLayersModel(join(dir, name));
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
