import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import { betaVaeScore } from '../src/eval/disentanglement/beta-vae.ts';
import { dci } from '../src/eval/disentanglement/dci.ts';
import { dciCompleteness, dciDisentanglement } from '../src/eval/disentanglement/dci-scores.ts';
import { randomInt, type FactorSampler, type LabelledCodes, type Matrix, type Rng } from '../src/eval/disentanglement/factor-sampler.ts';
import { explicitness } from '../src/eval/disentanglement/explicitness.ts';
import { factorVaeScore } from '../src/eval/disentanglement/factor-vae.ts';
import { fitBoostedClassifier } from '../src/eval/disentanglement/gradient-boosting.ts';
import { gaussianTotalCorrelation, gaussianTotalCorrelationOfCodes } from '../src/eval/disentanglement/gaussian-total-correlation.ts';
import { histogramDiscretize } from '../src/eval/disentanglement/histogram-discretizer.ts';
import { mig } from '../src/eval/disentanglement/mig.ts';
import { modularity } from '../src/eval/disentanglement/modularity.ts';
import { discreteEntropy, latentFactorMutualInformation, mutualInformation } from '../src/eval/disentanglement/mutual-information.ts';
import { fitLinearSvc1d } from '../src/eval/disentanglement/linear-svc-1d.ts';
import { rocAuc } from '../src/eval/disentanglement/roc-auc.ts';
import { sap } from '../src/eval/disentanglement/sap.ts';
import { sampleCodesAndFactors } from '../src/eval/disentanglement/sampling.ts';
import { disentanglementScores } from '../src/eval/disentanglement/scores.ts';

// The synthetic world of disentanglement_lib's own tests (dummy_data.IdentityObservationsData): ten factors, each
// uniform over 1..10, and representations computed from the factors directly. DCI's boosted trees take a smaller
// world (five factors of five values) to keep the file fast.
type Representation = (factors: readonly (readonly number[])[], rng: Rng) => number[][];

function identityWorld(represent: Representation, numFactors = 10, numValues = 10): FactorSampler {
  return {
    numFactors,
    sampleFactors: (n, rng) => Array.from({ length: n }, () => Array.from({ length: numFactors }, () => 1 + randomInt(rng, numValues))),
    representations: async (factors, rng) => represent(factors, rng),
  };
}

const perfect: Representation = (factors) => factors.map((row) => [...row]);
const zeros: Representation = (factors) => factors.map((row) => row.map(() => 0));
const noise: Representation = (factors, rng) => factors.map((row) => row.map(() => rng() * 10));
const duplicated: Representation = (factors) => factors.map((row) => [...row, ...row]);

function assertBetween(value: number, low: number, high: number, what: string): void {
  assert.ok(value >= low && value <= high, `${what}: ${value} is not in [${low}, ${high}]`);
}

function assertClose(value: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(value - expected) <= tolerance, `${what}: ${value}, expected ${expected} +- ${tolerance}`);
}

async function sample(represent: Representation, n: number, seed: string, numFactors = 10, numValues = 10): Promise<LabelledCodes> {
  return sampleCodesAndFactors(identityWorld(represent, numFactors, numValues), n, seedrandom(seed));
}

/** np.diag(5 * np.ones(5)) and the other importance matrices of disentanglement_lib's dci_test.py. */
const diagonal = Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (i === j ? 5 : 0)));
const zeroMatrix = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
const redundantCodes = [...diagonal, ...diagonal];
const oneCodeTwoFactors = diagonal.map((row) => [...row, ...row]);
const diagonalEmptyCodes = [
  [1, 0],
  [0, 1],
  [0, 0],
];

describe('discretization and mutual information (disentanglement_lib utils_test.py)', () => {
  it('bins values into equal-width histogram bins numbered from 1', () => {
    assert.deepEqual(Array.from(histogramDiscretize([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3)), [1, 1, 2, 2, 3, 3]);
    assert.deepEqual(Array.from(histogramDiscretize([0.6, 0.5, 0.4, 0.3, 0.2, 0.1], 3)), [3, 3, 2, 2, 1, 1]);
    assert.deepEqual(Array.from(histogramDiscretize([7, 7, 7], 20)), [11, 11, 11]);
  });

  it('computes entropy and mutual information in nats', () => {
    assertClose(discreteEntropy([1, 1, 2, 2, 3, 3]), Math.log(3), 1e-12, 'entropy');
    assertClose(mutualInformation([1, 2, 1, 2], [1, 2, 1, 2]), Math.log(2), 1e-12, 'MI of equal labellings');
    assertClose(mutualInformation([1, 2, 1, 2], [2, 2, 1, 1]), 0, 1e-12, 'MI of independent labellings');
  });
});

describe('MIG', () => {
  it('is near 1 for the factors themselves', async () => {
    const { codes, factors } = await sample(perfect, 3000, 'mig-perfect');
    assertBetween(mig(codes, factors, 20), 0.9, 1, 'MIG');
  });

  it('is near 0 for a constant and for a random representation', async () => {
    const constant = await sample(zeros, 3000, 'mig-zeros');
    assertBetween(mig(constant.codes, constant.factors, 20), 0, 0.2, 'MIG of zeros');
    const random = await sample(noise, 3000, 'mig-noise');
    assertBetween(mig(random.codes, random.factors, 20), 0, 0.2, 'MIG of noise');
  });

  it('is near 0 when every factor is coded twice (no gap between the two best latents)', async () => {
    const { codes, factors } = await sample(duplicated, 3000, 'mig-duplicated');
    assertBetween(mig(codes, factors, 20), 0, 0.1, 'MIG');
  });
});

describe('modularity (disentanglement_lib modularity_explicitness_test.py)', () => {
  it('scores mutual-information matrices with known answers', () => {
    assertClose(modularity(diagonal), 1, 1e-12, 'diagonal');
    assertClose(modularity(diagonalEmptyCodes), 2 / 3, 1e-12, 'diagonal with an empty code');
    assertClose(modularity(zeroMatrix), 0, 1e-12, 'zero');
    assertClose(modularity(redundantCodes), 1, 1e-12, 'redundant codes');
    assertClose(modularity(diagonal.slice(0, 2)), 1, 1e-12, 'missed factors');
    assertClose(modularity(oneCodeTwoFactors), 1 - 1 / 9, 1e-12, 'one code for two factors');
  });

  it('is near 1 for the factors themselves and for duplicated latents, near 0 for shuffled ones', async () => {
    const good = await sample(perfect, 3000, 'modularity-perfect');
    assertBetween(modularity(latentFactorMutualInformation(good.codes, good.factors, 20)), 0.9, 1, 'perfect');
    const twice = await sample(duplicated, 3000, 'modularity-duplicated');
    assertBetween(modularity(latentFactorMutualInformation(twice.codes, twice.factors, 20)), 0.9, 1, 'duplicated');
    // The library's bad case: each code row is a random permutation of the factor row, so every latent carries
    // a little information about every factor.
    const shuffled = await sample((factors, rng) => factors.map((row) => shuffle([...row], rng)), 20000, 'modularity-bad');
    assertBetween(modularity(latentFactorMutualInformation(shuffled.codes, shuffled.factors, 20)), 0, 0.2, 'shuffled');
  });
});

describe('explicitness', () => {
  it('ROC AUC counts ties as one half (sklearn roc_auc_score examples)', () => {
    assertClose(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75, 1e-12, 'no ties');
    assertClose(rocAuc([1, 1, 2], [true, false, true]), 0.75, 1e-12, 'a tie');
  });

  it('is near 1 for the factors themselves and 0.5 for noise', async () => {
    const good = explicitness(await sample(perfect, 2000, 'explicit-train'), await sample(perfect, 1000, 'explicit-test'));
    assertBetween(good.test, 0.95, 1, 'perfect');
    const random = explicitness(await sample(noise, 2000, 'explicit-noise-train'), await sample(noise, 1000, 'explicit-noise-test'));
    assertBetween(random.test, 0.45, 0.55, 'noise');
  });
});

describe('DCI disentanglement and completeness from an importance matrix (disentanglement_lib dci_test.py)', () => {
  it('disentanglement', () => {
    assertClose(dciDisentanglement(diagonal), 1, 1e-7, 'diagonal');
    assertClose(dciDisentanglement(diagonalEmptyCodes), 1, 1e-7, 'diagonal with an empty code');
    assertClose(dciDisentanglement(zeroMatrix), 0, 1e-7, 'zero');
    assertClose(dciDisentanglement(redundantCodes), 1, 1e-7, 'redundant codes');
    assertClose(dciDisentanglement(diagonal.slice(0, 2)), 1, 1e-7, 'missed factors');
    assertClose(dciDisentanglement(oneCodeTwoFactors), 1 - Math.log(2) / Math.log(10), 1e-7, 'one code, two factors');
  });

  it('completeness', () => {
    assertClose(dciCompleteness(diagonal), 1, 1e-7, 'diagonal');
    assertClose(dciCompleteness(diagonalEmptyCodes), 1, 1e-7, 'diagonal with an empty code');
    assertClose(dciCompleteness(zeroMatrix), 0, 1e-7, 'zero');
    assertClose(dciCompleteness(redundantCodes), 1 - Math.log(2) / Math.log(10), 1e-7, 'redundant codes');
    assertClose(dciCompleteness(diagonal.slice(0, 2)), 1, 1e-7, 'missed factors');
    assertClose(dciCompleteness(oneCodeTwoFactors), 1, 1e-7, 'one code, two factors');
  });
});

describe('DCI from gradient-boosted trees (disentanglement_lib dci_test.py, 1000 training and test points)', () => {
  const scores = async (represent: Representation, seed: string) =>
    dci(await sample(represent, 1000, `${seed}-train`, 5, 5), await sample(represent, 1000, `${seed}-test`, 5, 5), seedrandom(seed));

  it('gets the feature importances of sklearn GradientBoostingClassifier()', () => {
    // Four classes seen through two informative features, one weak and one useless. Expected: sklearn 1.9.1's
    // feature_importances_ and training accuracy on the same numbers, importances averaged over random_state 0..9
    // (sklearn's tie-breaking is random too: over those seeds they spread by up to 0.0008, and 0.0019 for two classes).
    const rng = seedrandom('g');
    const labels = Array.from({ length: 1000 }, () => randomInt(rng, 4));
    const codes = labels.map((c) => [c + rng() * 1.5, rng(), (c % 2) + rng() * 2, rng() * 0.3 + c * 0.1]);
    const cases = [
      { labels, expected: [0.6664, 0.0107, 0.2573, 0.0655], accuracy: 0.999, tolerance: 0.0015 },
      { labels: labels.map((c) => (c > 1 ? 1 : 0)), expected: [0.8573, 0.0066, 0.0456, 0.0905], accuracy: 0.998, tolerance: 0.002 },
    ];
    for (const { labels: y, expected, accuracy, tolerance } of cases) {
      const fitted = fitBoostedClassifier(codes, y, seedrandom('trees'));
      expected.forEach((e, j) => assertClose(fitted.importance[j], e, tolerance, `importance of feature ${j}`));
      assertClose(fitted.trainAccuracy, accuracy, 1e-12, 'training accuracy');
    }
  });

  it('is near 1 for the factors themselves, which it predicts exactly', async () => {
    const result = await scores(perfect, 'dci-perfect');
    assertBetween(result.disentanglement, 0.9, 1, 'disentanglement');
    assertBetween(result.completeness, 0.9, 1, 'completeness');
    assertBetween(result.informativenessTest, 0.99, 1, 'informativeness');
  });

  it('is near 0 for codes that shuffle the factors, and informativeness is at chance for noise', async () => {
    const shuffled = await scores((factors, rng) => factors.map((row) => shuffle([...row], rng)), 'dci-bad');
    assertBetween(shuffled.disentanglement, 0, 0.2, 'disentanglement');
    assertBetween(shuffled.completeness, 0, 0.2, 'completeness');
    const random = await scores(noise, 'dci-noise');
    assertBetween(random.informativenessTest, 0.1, 0.3, 'informativeness of noise (chance is 0.2)');
  });

  it('splits the importance of a duplicated latent between its copies: completeness 1 - log 2 / log 10', async () => {
    // Five factors coded twice: ten codes, each factor's importance shared by two of them.
    const result = await scores(duplicated, 'dci-duplicated');
    const target = 1 - Math.log(2) / Math.log(10);
    assertBetween(result.disentanglement, 0.9, 1, 'disentanglement');
    assertBetween(result.completeness, target - 0.1, target + 0.1, 'completeness');
  });
});

describe('Gaussian total correlation', () => {
  it('is 0 for independent dimensions and -0.5 log(1 - rho^2) for a correlated pair', () => {
    const identity = Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (i === j ? 1 : 0)));
    assertClose(gaussianTotalCorrelation(identity), 0, 1e-12, 'identity covariance');
    assertClose(
      gaussianTotalCorrelation([
        [1, 0.9],
        [0.9, 1],
      ]),
      -0.5 * Math.log(1 - 0.81),
      1e-12,
      'rho 0.9',
    );
    assertClose(
      gaussianTotalCorrelation([
        [4, 1.2],
        [1.2, 1],
      ]),
      -0.5 * Math.log(1 - 0.36),
      1e-12,
      'rho 0.6, scaled',
    );
    assert.equal(
      gaussianTotalCorrelation([
        [1, 1],
        [1, 1],
      ]),
      Infinity,
    );
  });

  it('estimated from samples of means', () => {
    const rng = seedrandom('tc');
    const rho = 0.8;
    const independent: number[][] = [];
    const correlated: number[][] = [];
    for (let i = 0; i < 20000; i++) {
      const [a, b, c] = [gaussian(rng), gaussian(rng), gaussian(rng)];
      independent.push([a, 3 * b, c]);
      correlated.push([a, rho * a + Math.sqrt(1 - rho * rho) * b, c]);
    }
    assertClose(gaussianTotalCorrelationOfCodes(independent), 0, 0.01, 'independent Gaussians');
    assertClose(gaussianTotalCorrelationOfCodes(correlated), -0.5 * Math.log(1 - rho * rho), 0.02, 'rho 0.8');
  });
});

describe('BetaVAE score', () => {
  it('is near 1 for the factors themselves', async () => {
    const scores = await betaVaeScore(identityWorld(perfect), seedrandom('beta-vae'), { batchSize: 5, numTrain: 2000, numEval: 2000 });
    assertBetween(scores.trainAccuracy, 0.9, 1, 'train accuracy');
    assertBetween(scores.evalAccuracy, 0.9, 1, 'eval accuracy');
  });

  it('is at chance for noise', async () => {
    const scores = await betaVaeScore(identityWorld(noise), seedrandom('beta-vae-noise'), { batchSize: 5, numTrain: 2000, numEval: 2000 });
    assertBetween(scores.evalAccuracy, 0, 0.2, 'eval accuracy');
  });
});

describe('FactorVAE score', () => {
  const options = { batchSize: 5, numTrain: 3000, numEval: 2000, numVarianceEstimate: 2500 };

  it('is near 1 for the factors themselves', async () => {
    const scores = await factorVaeScore(identityWorld(perfect), seedrandom('factor-vae'), options);
    assertBetween(scores.trainAccuracy, 0.9, 1, 'train accuracy');
    assertBetween(scores.evalAccuracy, 0.9, 1, 'eval accuracy');
  });

  it('is near 0 for a constant representation (no active latent) and for noise', async () => {
    const constant = await factorVaeScore(identityWorld(zeros), seedrandom('factor-vae-zeros'), options);
    assertBetween(constant.evalAccuracy, 0, 0.2, 'zeros');
    const random = await factorVaeScore(identityWorld(noise), seedrandom('factor-vae-noise'), options);
    assertBetween(random.evalAccuracy, 0, 0.2, 'noise');
  });
});

describe('SAP score', () => {
  it('with continuous factors (the library tests this branch): near 1 for the factors, near 0 for zeros and duplicates', async () => {
    const score = async (represent: Representation, seed: string) =>
      sap(await sample(represent, 3000, `${seed}-train`), await sample(represent, 3000, `${seed}-test`), true);
    assertBetween(await score(perfect, 'sap-perfect'), 0.9, 1, 'perfect');
    assertBetween(await score(zeros, 'sap-zeros'), 0, 0.2, 'zeros');
    assertBetween(await score(duplicated, 'sap-duplicated'), 0, 0.2, 'duplicated');
  });

  it('with discrete factors (the published protocol): a binary factor is classified by its own latent, others are at chance', async () => {
    const binaryWorld: Representation = (factors) => factors.map((row) => row.map((f) => f % 2));
    const train = await sample(binaryWorld, 2000, 'sap-discrete-train');
    const test = await sample(binaryWorld, 2000, 'sap-discrete-test');
    const binary = (rows: Matrix) => rows.map((row) => Array.from(row, (f) => f % 2));
    // Own latent: accuracy 1; an independent latent: about 0.5.
    assertBetween(
      sap({ codes: train.codes, factors: binary(train.factors) }, { codes: test.codes, factors: binary(test.factors) }, false),
      0.45,
      0.55,
      'perfect',
    );
    const random = await sample(noise, 2000, 'sap-discrete-noise');
    const randomTest = await sample(noise, 2000, 'sap-discrete-noise-test');
    assertBetween(sap(random, randomTest, false), 0, 0.2, 'noise');
  });

  it('fits the same one-feature LinearSVC as sklearn (C = 0.01, balanced class weights, one-vs-rest)', () => {
    // Four overlapping ordered classes, class 1 over-represented, and an unbalanced binary split of them; expected coefficients from sklearn 1.9.1
    // LinearSVC(C=0.01, class_weight='balanced', tol=1e-10) on the same numbers (dual and primal agree).
    const rng = seedrandom('x');
    const x: number[] = [];
    const y: number[] = [];
    const binary: number[] = [];
    for (let i = 0; i < 300; i++) {
      const c = randomInt(rng, 4);
      y.push(c);
      x.push(c * 0.7 + rng() * 2 - 1);
      binary.push(c >= 1 && rng() < 0.9 ? 1 : 0);
    }
    const binaryX = x.slice();
    for (let i = 0; i < 60; i++) {
      y.push(1);
      x.push(0.7 + rng());
    }
    const expected = [
      [-0.64975, 0.058933],
      [-0.12255, -0.24009],
      [0.052883, -0.531912],
      [0.409999, -0.86424],
    ];
    fitLinearSvc1d(x, y, 0.01).lines.forEach(({ w, b }, k) => {
      assertClose(w, expected[k][0], 1e-6, `w of class ${k}`);
      assertClose(b, expected[k][1], 1e-6, `b of class ${k}`);
    });
    const [line] = fitLinearSvc1d(binaryX, binary, 0.01).lines;
    assertClose(line.w, 0.413878, 1e-6, 'binary w');
    assertClose(line.b, -0.316152, 1e-6, 'binary b');
  });
});

describe('disentanglementScores', () => {
  const names = [
    'beta_vae',
    'factor_vae',
    'mig',
    'sap',
    'dci_disentanglement',
    'dci_completeness',
    'dci_informativeness',
    'modularity',
    'explicitness',
    'gaussian_tc',
  ].map((name) => `disentanglement/${name}`);
  const options = { seed: 3, numTrain: 500, numEval: 300, batchSize: 16 };

  it('reports every score, high for the factors themselves, and repeats itself for a seed', async () => {
    const world = identityWorld(perfect, 5, 5);
    const scores = await disentanglementScores(world, options);
    assert.deepEqual(Object.keys(scores).sort(), [...names].sort());
    for (const name of [
      'beta_vae',
      'factor_vae',
      'mig',
      'dci_disentanglement',
      'dci_completeness',
      'dci_informativeness',
      'modularity',
      'explicitness',
    ]) {
      assertBetween(scores[`disentanglement/${name}`], 0.9, 1, name);
    }
    // Five-valued factors with a one-feature LinearSVC: the extreme classes are found, the middle ones mostly not.
    assertBetween(scores['disentanglement/sap'], 0.2, 0.6, 'sap');
    assertBetween(scores['disentanglement/gaussian_tc'], 0, 0.05, 'gaussian_tc of independent factors');
    assert.deepEqual(await disentanglementScores(world, options), scores);
  });

  it('scores noise low', async () => {
    const scores = await disentanglementScores(identityWorld(noise, 5, 5), options);
    // Not modularity: on noise it measures how the finite-sample information is spread over factors, which is arbitrary.
    for (const name of ['factor_vae', 'mig', 'sap', 'dci_disentanglement', 'dci_completeness']) {
      assertBetween(scores[`disentanglement/${name}`], 0, 0.35, name);
    }
    assertBetween(scores['disentanglement/beta_vae'], 0, 0.35, 'beta_vae (chance is 0.2)');
    assertBetween(scores['disentanglement/dci_informativeness'], 0.1, 0.3, 'dci_informativeness (chance is 0.2)');
    assertBetween(scores['disentanglement/explicitness'], 0.4, 0.6, 'explicitness');
  });
});

function shuffle(values: number[], rng: Rng): number[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}

/** A standard normal draw (Box-Muller). */
function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}
