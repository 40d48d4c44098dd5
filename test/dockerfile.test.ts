// The Dockerfile cannot be built on this machine (no base image can be pulled), so what it relies on is checked
// here: the Node version, the set-up it runs, what it leaves out, and where the Kubernetes Job expects the checkout.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IMAGE_CHECKOUT } from '../src/sweep/plan.ts';
import { ROOT } from './support/cli.ts';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
// One line per instruction: continuation lines joined.
const dockerfile = read('Dockerfile').replace(/\\\n\s*/g, '');
const instructions = (name: string) => [...dockerfile.matchAll(new RegExp(`^${name} +(.+)$`, 'gm'))].map((m) => m[1]);
const packageJson = JSON.parse(read('package.json')) as { engines: { node: string }; scripts: Record<string, string> };
const ignored = read('.dockerignore')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));

describe('Dockerfile', () => {
  it("builds on the Node major that package.json's engines names", () => {
    const major = packageJson.engines.node.match(/^>=(\d+)$/)?.[1];
    assert.ok(major, `engines.node is ${packageJson.engines.node}`);
    assert.deepEqual(instructions('ARG'), [`NODE_MAJOR=${major}`]);
    assert.deepEqual(instructions('FROM'), ['node:${NODE_MAJOR}-bookworm AS build', 'node:${NODE_MAJOR}-bookworm-slim']);
  });

  it('installs with npm ci and the project set-up scripts that package.json defines, without the MLflow venv', () => {
    const run = instructions('RUN').find((r) => r.startsWith('npm ci')) ?? '';
    assert.match(run, /^npm ci --omit=dev --ignore-scripts /);
    for (const script of ['postinstall', 'setup:tfjs-node']) {
      assert.match(run, new RegExp(`npm run ${script}\\b`));
      assert.ok(packageJson.scripts[script], `package.json has no script ${script}`);
    }
    const env = instructions('ENV').join(' ');
    assert.match(env, /\bVAE_SKIP_MLFLOW=1\b/);
    assert.match(env, /\bTFJS_NODE_SETUP=wheel\b/);
    assert.doesNotMatch(dockerfile, /setup:mlflow|setup-mlflow|pip install|mlflow==/);
  });

  it('VAE_SKIP_MLFLOW=1 makes the postinstall leave the MLflow venv out', () => {
    // scripts/setup.sh in a copy whose two set-up steps only say that they ran.
    const copy = mkdtempSync(join(tmpdir(), 'vae-setup-'));
    mkdirSync(join(copy, 'scripts'));
    copyFileSync(join(ROOT, 'scripts/setup.sh'), join(copy, 'scripts/setup.sh'));
    for (const step of ['setup-tfjs-node', 'setup-mlflow']) writeFileSync(join(copy, `scripts/${step}.sh`), `echo ran ${step}\n`);
    const setup = (env: NodeJS.ProcessEnv) =>
      execFileSync('bash', [packageJson.scripts.postinstall.replace(/^bash /, '')], {
        cwd: copy,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    try {
      assert.match(setup({ VAE_SKIP_MLFLOW: '' }), /^ran setup-tfjs-node\nran setup-mlflow\n$/);
      const skipped = setup({ VAE_SKIP_MLFLOW: '1' });
      assert.match(skipped, /^ran setup-tfjs-node\n\[setup\] VAE_SKIP_MLFLOW=1: no MLflow server here/);
      assert.doesNotMatch(skipped, /setup-mlflow/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('puts the checkout where the Kubernetes Job runs it, with everything the CLI reads at run time', () => {
    assert.deepEqual(instructions('WORKDIR'), [IMAGE_CHECKOUT, IMAGE_CHECKOUT]);
    assert.deepEqual(instructions('ENTRYPOINT'), ['["node", "bin/vae.js"]']);
    for (const needed of ['bin', 'src', 'schemas', 'experiments', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      assert.ok(!ignored.includes(needed), `.dockerignore leaves out ${needed}`);
    }
    for (const local of ['node_modules', '.venv', '.cache', 'runs', '.git'])
      assert.ok(ignored.includes(local), `.dockerignore lets ${local} in`);
  });
});
