/**
 * sklearn's LinearSVC(C, class_weight='balanced') on a single feature, as disentanglement_lib's SAP score fits it
 * for every (latent, factor) pair. LinearSVC is liblinear's L2-regularized squared-hinge SVM, one-vs-rest over the
 * sorted classes, with the intercept learnt as the weight of a constant feature and so regularized like it:
 *   minimize 0.5 (w^2 + b^2) + sum_i C_i max(0, 1 - y_i (w x_i + b))^2.
 * That objective is strictly convex, so its minimizer is unique; we find it with Newton's method on the
 * two parameters (the objective is piecewise quadratic, its generalized Hessian exact on each piece), where
 * liblinear stops its coordinate-descent or trust-region solver at tolerance 1e-4. The per-sample costs C_i follow
 * liblinear: with two classes both sides are weighted by their class weight; one-vs-rest weights the positives
 * of class k by k's weight and leaves the rest at C.
 */
export interface LinearSvc1d {
  classes: number[];
  /** One (w, b) per one-vs-rest problem: a single line for two classes, scoring classes[1]. */
  lines: { w: number; b: number }[];
}

export function fitLinearSvc1d(x: ArrayLike<number>, labels: ArrayLike<number>, C: number): LinearSvc1d {
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const counts = classes.map((c) => Array.from(labels).filter((label) => label === c).length);
  const balancedWeight = (k: number) => x.length / (classes.length * counts[k]);
  const classIndex = Int32Array.from(labels, (label) => classes.indexOf(label));
  const problems = classes.length === 2 ? [1] : classes.map((_, k) => k);
  const lines = problems.map((k) => {
    const positive = Uint8Array.from(classIndex, (c) => (c === k ? 1 : 0));
    const costs = Float64Array.from(classIndex, (c) =>
      classes.length === 2 ? C * balancedWeight(c) : c === k ? C * balancedWeight(k) : C,
    );
    return fitSquaredHingeLine(x, positive, costs);
  });
  return { classes, lines };
}

export function predictLinearSvc1d(model: LinearSvc1d, x: number): number {
  const scores = model.lines.map(({ w, b }) => w * x + b);
  if (scores.length === 1) return model.classes[scores[0] > 0 ? 1 : 0];
  let best = 0;
  for (let k = 1; k < scores.length; k++) if (scores[k] > scores[best]) best = k;
  return model.classes[best];
}

/** Newton's method with Armijo backtracking on 0.5 (w^2 + b^2) + sum_i costs_i max(0, 1 - y_i (w x_i + b))^2. */
function fitSquaredHingeLine(x: ArrayLike<number>, positive: Uint8Array, costs: Float64Array): { w: number; b: number } {
  const objective = (w: number, b: number): number => {
    let value = 0.5 * (w * w + b * b);
    for (let i = 0; i < x.length; i++) {
      const slack = 1 - (positive[i] ? 1 : -1) * (w * x[i] + b);
      if (slack > 0) value += costs[i] * slack * slack;
    }
    return value;
  };
  let w = 0;
  let b = 0;
  let value = objective(w, b);
  let firstNorm = 0;
  for (let iteration = 0; iteration < 100; iteration++) {
    let gw = w;
    let gb = b;
    let hww = 1;
    let hwb = 0;
    let hbb = 1;
    for (let i = 0; i < x.length; i++) {
      const y = positive[i] ? 1 : -1;
      const slack = 1 - y * (w * x[i] + b);
      if (slack <= 0) continue;
      gw -= 2 * costs[i] * y * slack * x[i];
      gb -= 2 * costs[i] * y * slack;
      hww += 2 * costs[i] * x[i] * x[i];
      hwb += 2 * costs[i] * x[i];
      hbb += 2 * costs[i];
    }
    const norm = Math.hypot(gw, gb);
    if (iteration === 0) firstNorm = norm;
    if (norm <= 1e-10 * Math.max(1, firstNorm)) break;
    const det = hww * hbb - hwb * hwb;
    const dw = -(hbb * gw - hwb * gb) / det;
    const db = -(hww * gb - hwb * gw) / det;
    const slope = gw * dw + gb * db;
    let step = 1;
    let next = objective(w + dw, b + db);
    while (next > value + 1e-4 * step * slope && step > 1e-10) {
      step /= 2;
      next = objective(w + step * dw, b + step * db);
    }
    if (!(next < value)) break;
    w += step * dw;
    b += step * db;
    value = next;
  }
  return { w, b };
}
