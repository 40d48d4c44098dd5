// TensorFlow's step stats of traced session runs (src/tfjs-bridge/profiled-session.ts), summed the way the profiling
// benches print them: the span and kernel time of a run, then kernel time per op type and the slowest nodes.
import type { KernelStat } from '../src/tfjs-bridge/profiled-session.ts';

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Prints the report for `traces` (one list of kernels per traced run), each run called a `unit` ("step", "chunk"). */
export function printKernelReport(
  traces: KernelStat[][],
  options: { unit: string; headline: string; top: number; decimals: number },
): void {
  const { unit, top, decimals } = options;
  const span = (t: KernelStat[]) => Math.max(...t.map((k) => k.startMicros + k.micros));
  const byOp = new Map<string, { count: number; micros: number }>();
  const byNode = new Map<string, { op: string; micros: number }>();
  for (const trace of traces) {
    for (const k of trace) {
      const op = byOp.get(k.op) ?? { count: 0, micros: 0 };
      op.count += 1;
      op.micros += k.micros;
      byOp.set(k.op, op);
      const node = byNode.get(k.node) ?? { op: k.op, micros: 0 };
      node.micros += k.micros;
      byNode.set(k.node, node);
    }
  }
  const kernelMicros = mean(traces.map((t) => t.reduce((a, k) => a + k.micros, 0)));
  const ms = (micros: number) => (micros / 1000).toFixed(decimals);
  console.log(
    `${options.headline}: ${traces.length} traced ${unit}s; per ${unit}: span ${ms(mean(traces.map(span)))} ms, ` +
      `${mean(traces.map((t) => t.length)).toFixed(0)} kernels, kernel time ${ms(kernelMicros)} ms (both threads)`,
  );
  console.log(`\nop type                        ${`kernels/${unit}`.padStart(13)} ${`ms/${unit}`.padStart(9)}   share`);
  for (const [op, { count, micros }] of [...byOp].sort((a, b) => b[1].micros - a[1].micros)) {
    const per = micros / traces.length;
    console.log(
      `${op.padEnd(30)} ${(count / traces.length).toFixed(0).padStart(13)} ${ms(per).padStart(9)} ${((100 * per) / kernelMicros).toFixed(1).padStart(6)}%`,
    );
  }
  console.log(`\nslowest ${top} nodes                                   op                          ms/${unit}`);
  for (const [node, { op, micros }] of [...byNode].sort((a, b) => b[1].micros - a[1].micros).slice(0, top)) {
    console.log(`${node.slice(0, 52).padEnd(52)} ${op.padEnd(27)} ${ms(micros / traces.length)}`);
  }
}
