/** An objective to minimize: its value at x, with its gradient written into gradient. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

export interface LbfgsOptions {
  /** Stop when the largest absolute gradient entry is at most this (scipy's pgtol, sklearn's tol). */
  gradientTolerance: number;
  maxIterations: number;
}

const MEMORY = 10;
const ARMIJO = 1e-4;

/**
 * Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4: two-loop recursion, memory 10) with a backtracking
 * Armijo line search, from x0. Deterministic: the same objective and start give the same iterates. Used only on
 * smooth convex objectives, where every minimum is global, so where it stops matters and the path does not.
 */
export function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions): Float64Array {
  const n = x0.length;
  let x = Float64Array.from(x0);
  let gradient = new Float64Array(n);
  let value = objective(x, gradient);
  const steps: Float64Array[] = [];
  const gradientChanges: Float64Array[] = [];
  const rhos: number[] = [];
  for (let iteration = 0; iteration < options.maxIterations; iteration++) {
    if (maxAbs(gradient) <= options.gradientTolerance) break;
    const direction = searchDirection(gradient, steps, gradientChanges, rhos);
    let slope = dot(gradient, direction);
    if (slope >= 0) {
      // Curvature pairs gone stale in floating point: restart from steepest descent.
      steps.length = gradientChanges.length = rhos.length = 0;
      direction.set(gradient.map((g) => -g));
      slope = dot(gradient, direction);
    }
    let stepSize = steps.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    const next = new Float64Array(n);
    const nextGradient = new Float64Array(n);
    let nextValue = Infinity;
    for (let tries = 0; tries < 50; tries++) {
      for (let i = 0; i < n; i++) next[i] = x[i] + stepSize * direction[i];
      nextValue = objective(next, nextGradient);
      if (nextValue <= value + ARMIJO * stepSize * slope) break;
      stepSize /= 2;
    }
    if (!(nextValue < value)) break;
    const step = next.map((v, i) => v - x[i]);
    const gradientChange = nextGradient.map((g, i) => g - gradient[i]);
    const curvature = dot(step, gradientChange);
    if (curvature > 1e-12 * dot(step, step)) {
      steps.push(step);
      gradientChanges.push(gradientChange);
      rhos.push(1 / curvature);
      if (steps.length > MEMORY) {
        steps.shift();
        gradientChanges.shift();
        rhos.shift();
      }
    }
    x = next;
    gradient = nextGradient;
    value = nextValue;
  }
  return x;
}

function searchDirection(gradient: Float64Array, steps: Float64Array[], changes: Float64Array[], rhos: number[]): Float64Array {
  const q = Float64Array.from(gradient);
  const alphas: number[] = [];
  for (let k = steps.length - 1; k >= 0; k--) {
    alphas[k] = rhos[k] * dot(steps[k], q);
    for (let i = 0; i < q.length; i++) q[i] -= alphas[k] * changes[k][i];
  }
  const last = steps.length - 1;
  const scale = last >= 0 ? dot(steps[last], changes[last]) / dot(changes[last], changes[last]) : 1;
  for (let i = 0; i < q.length; i++) q[i] *= scale;
  for (let k = 0; k < steps.length; k++) {
    const beta = rhos[k] * dot(changes[k], q);
    for (let i = 0; i < q.length; i++) q[i] += steps[k][i] * (alphas[k] - beta);
  }
  for (let i = 0; i < q.length; i++) q[i] = -q[i];
  return q;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function maxAbs(values: Float64Array): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max;
}
