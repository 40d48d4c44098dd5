// Hostile input (issue 7): whatever a spec file or an override holds, the loader answers with positioned lines, never
// a crash or a stack trace; data paths in a spec stay inside the project; an unusable runs/ folder is one clear line.
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { experimentFields } from '../src/experiment-spec/fields.ts';
import { loadSpec, MAX_SPEC_BYTES } from '../src/experiment-spec/load.ts';
import { checkDataPaths } from '../src/experiment-spec/paths.ts';
import { SpecError } from '../src/experiment-spec/problems.ts';
import { RunRecordError } from '../src/record/file-system-errors.ts';
import { RunRecord } from '../src/record/run-record.ts';
import { isSweepFile } from '../src/sweep/spec.ts';
import { ROOT, vae } from './support/cli.ts';

const LINE = /^(\S+:\d+:\d+|override '.*':) /;
const tmp = mkdtempSync(join(tmpdir(), 'vae-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function specFile(content: string | Uint8Array): string {
  const file = join(tmp, `spec-${counter++}.yaml`);
  writeFileSync(file, content);
  return file;
}

/** The property: a spec, or a SpecError of positioned lines; nothing else, and no object anywhere gains a field. */
function loadsOrExplains(content: string | Uint8Array, overrides: string[] = []): void {
  const file = specFile(content);
  try {
    loadSpec(file, overrides);
  } catch (e) {
    if (!(e instanceof SpecError))
      throw new Error(
        `not a SpecError for ${JSON.stringify(String(content).slice(0, 200))} ${JSON.stringify(overrides)}: ${(e as Error)?.stack}`,
      );
    for (const line of e.message.split('\n'))
      assert.match(line, LINE, `unpositioned line for ${JSON.stringify(String(content).slice(0, 200))}`);
    assert.ok(!/\n\s+at /.test(e.message), 'no stack trace');
  } finally {
    assert.deepEqual(
      Object.getOwnPropertyNames(Object.prototype).filter((k) => !BUILTIN_OBJECT_KEYS.has(k)),
      [],
      'Object.prototype was changed',
    );
  }
}
const BUILTIN_OBJECT_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Expects loadSpec to refuse with exactly these lines ({file} is the spec's path). */
function refuses(content: string | Uint8Array, overrides: string[], lines: string[]): void {
  const file = specFile(content);
  assert.throws(
    () => loadSpec(file, overrides),
    (e: unknown) => {
      assert.ok(e instanceof SpecError, String(e));
      assert.deepEqual(
        e.message.split('\n'),
        lines.map((l) => l.replace('{file}', file)),
      );
      return true;
    },
  );
}

const experiments = readdirSync(join(ROOT, 'experiments')).filter((f) => f.endsWith('.yaml') && !isSweepFile(join(ROOT, 'experiments', f)));
const corpus = experiments.map((f) => readFileSync(join(ROOT, 'experiments', f), 'utf8'));
const fieldPaths = experimentFields().map((f) => f.path);
const YAML_CHARS = [...'ab_: -[]{},&*!|>\'"#%@`?<=~.\n\n  \t019eE+\\'];

const yamlish = fc.string({ unit: fc.constantFrom(...YAML_CHARS), maxLength: 200 });
const fieldPath = fc.oneof(
  fc.constantFrom(...fieldPaths),
  fc
    .array(
      fc.oneof(
        fc.constantFrom('model', 'data', 'idx', 'hidden[0]', 'hidden[3]', '__proto__', 'constructor', 'prototype', 'x'),
        fc.string({ maxLength: 6 }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((p) => p.join('.')),
);
const overrideValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => stringify(v, { flow: true } as never).trimEnd()),
  yamlish,
  fc.constantFrom('1e400', '-1e400', '.nan', '.inf', '0x1fffffffffffffffffff', '*a', '&a [*a]', '!!binary aGk=', '[', '~', ''),
);
const override = fc.oneof(
  fc.tuple(fieldPath, overrideValue).map(([p, v]) => `${p}=${v}`),
  fc.string({ maxLength: 30 }),
);
type Mutation = { kind: 'delete' | 'duplicate' | 'insert' | 'swap'; at: number; length: number; char: string };
const mutation = fc.record({
  kind: fc.constantFrom('delete', 'duplicate', 'insert', 'swap'),
  at: fc.nat(),
  length: fc.integer({ min: 1, max: 40 }),
  char: fc.constantFrom(...YAML_CHARS),
}) as fc.Arbitrary<Mutation>;

function mutate(text: string, m: Mutation): string {
  const at = m.at % (text.length + 1);
  switch (m.kind) {
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'duplicate':
      return text.slice(0, at) + text.slice(at, at + m.length) + text.slice(at);
    case 'insert':
      return text.slice(0, at) + m.char + text.slice(at);
    case 'swap': {
      const lines = text.split('\n');
      const [i, j] = [at % lines.length, (at + m.length) % lines.length];
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
  }
}

describe('hostile specs: a spec or positioned lines, never a crash (property-based)', () => {
  it('random YAML documents', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.array(override, { maxLength: 2 }), (value, overrides) =>
        loadsOrExplains(stringify(value), overrides),
      ),
      { numRuns: 300 },
    );
  });

  it('random mappings of real field names to random values', () => {
    const leaf = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e400, -0, 0.5, 2 ** 53, -1));
    const spec = fc.dictionary(
      fc.constantFrom('name', 'seed', 'data', 'model', 'loss', 'train', 'eval', 'tracking', 'description'),
      fc.oneof(leaf, fc.dictionary(fc.constantFrom(...fieldPaths.map((p) => p.split('.').at(-1)!)), leaf, { maxKeys: 4 })),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(spec, fc.array(override, { maxLength: 2 }), (s, overrides) => loadsOrExplains(stringify(s), overrides)),
      { numRuns: 400 },
    );
  });

  it('random strings and bytes', () => {
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ unit: 'binary', maxLength: 200 })), (text) => loadsOrExplains(text)),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => loadsOrExplains(bytes)),
      { numRuns: 150 },
    );
  });

  it('mutations of experiments/*.yaml', () => {
    fc.assert(
      fc.property(fc.nat(corpus.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, ms) =>
        loadsOrExplains(ms.reduce(mutate, corpus[i])),
      ),
      { numRuns: 800 },
    );
  });

  it('random overrides on a valid spec', () => {
    fc.assert(
      fc.property(fc.array(override, { minLength: 1, maxLength: 4 }), (overrides) => loadsOrExplains(corpus[0], overrides)),
      { numRuns: 800 },
    );
  });
});

describe('hostile specs: exact messages', () => {
  it('a YAML alias bomb is refused (test/fixtures/bad-specs/22-alias-bomb.yaml)', () => {
    const bomb = readFileSync(join(ROOT, 'test/fixtures/bad-specs/22-alias-bomb.yaml'));
    assert.throws(
      () => loadSpec(specFile(bomb)),
      (e: SpecError) => e instanceof SpecError && /:1:1 cannot be read as data: Excessive alias count/.test(e.message),
    );
  });

  for (const [name, text] of [
    ['10,000 levels of [', 'name: a\nx: ' + '['.repeat(10_000) + ']'.repeat(10_000) + '\n'],
    ['10,000 levels of - ', 'name: a\nx:\n  ' + '- '.repeat(10_000) + 'x\n'],
    ['10,000 levels of {a: ', 'name: a\nx: ' + '{a: '.repeat(10_000) + '1' + '}'.repeat(10_000) + '\n'],
  ]) {
    it(`a document nested ${name} is one positioned line, not a stack overflow`, () => {
      const file = specFile(text);
      assert.throws(
        () => loadSpec(file),
        (e: SpecError) => {
          assert.ok(e instanceof SpecError);
          assert.match(
            e.message,
            new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+ YAML is nested too deeply to read; a spec needs only a few levels$`),
          );
          return true;
        },
      );
    });
  }

  it('numbers too large for a float (1e400 is Infinity in YAML) say they are not finite', () => {
    refuses(
      'name: a\nseed: 1e400\n',
      [],
      ['{file}:2:7 seed: must be integer >= 0 and <= 4294967295 (got Infinity, which is not a finite number)'],
    );
    refuses(
      'name: a\n',
      ['train.epochs=1e400'],
      ["override 'train.epochs=1e400': train.epochs: must be integer >= 1 and <= 100000 (got Infinity, which is not a finite number)"],
    );
    refuses(
      'name: a\nloss: {kl_weight: .nan}\n',
      [],
      ['{file}:2:19 loss.kl_weight: must be number >= 0 (got NaN, which is not a finite number)'],
    );
  });

  it('an override with a huge value is refused, and echoed shortened', () => {
    refuses(
      'name: a\n',
      [`name=${'x'.repeat(1_000_000)}`],
      [
        `override 'name=${'x'.repeat(75)}...': is 1000005 characters long; an override is at most 10000 (write long values in the spec file)`,
      ],
    );
    refuses(
      'name: a\n',
      [`train.epochs=${'['.repeat(9000)}`],
      ["override 'train.epochs=" + '['.repeat(67) + "...': the value is nested too deeply to read"],
    );
  });

  it('a 10 MB spec is refused before it is parsed; so is a device that never ends', () => {
    assert.equal(MAX_SPEC_BYTES, 1 << 20);
    refuses(
      `name: a\ndescription: "${'x'.repeat(10 * 2 ** 20 - 24)}"\n`,
      [],
      ['{file}:1:1 is 10.0 MB; a spec is at most 1.0 MB of YAML (is this the right file?)'],
    );
    assert.throws(
      () => loadSpec('/dev/zero'),
      (e: SpecError) => e.message === '/dev/zero:1:1 cannot read spec: not a regular file',
    );
  });

  it('an override cannot reach Object.prototype', () => {
    refuses(
      'name: a\n',
      ['__proto__.polluted=1'],
      [
        "override '__proto__.polluted=1': __proto__: unknown field; expected one of name, description, seed, data, model, loss, train, eval, reference, tracking",
      ],
    );
    refuses(
      'name: a\n',
      ['constructor.prototype.polluted=1'],
      [
        "override 'constructor.prototype.polluted=1': constructor: unknown field; expected one of name, description, seed, data, model, loss, train, eval, reference, tracking",
      ],
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a list index far past the end is refused (no sparse list of a billion holes)', () => {
    refuses(
      'name: a\nmodel: {encoder: {hidden: [400]}}\n',
      ['model.encoder.hidden[999999999]=3'],
      [
        "override 'model.encoder.hidden[999999999]=3': model.encoder.hidden[999999999]: model.encoder.hidden has 1 items: index at most [1] (to add one at the end)",
      ],
    );
  });

  it('a newline inside a key stays inside its line', () => {
    refuses(
      'name: a\n"x\\ny": 1\n',
      [],
      ['{file}:2:1 x\\ny: unknown field; expected one of name, description, seed, data, model, loss, train, eval, reference, tracking'],
    );
  });

  it('vae validate on hostile files: exit 2, positioned lines, no stack trace', async () => {
    const files = [
      specFile('['.repeat(10_000)),
      specFile(Buffer.from([0xff, 0xfe, 0x00, 0x41])),
      specFile('a: ' + '&a [*a, '.repeat(50)),
      specFile(`x: ${'y'.repeat(2 ** 21)}`),
    ];
    const result = await vae(['validate', ...files, '__proto__.x=1']);
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    for (const line of lines) assert.match(line, LINE);
    assert.ok(!/^\s+at /m.test(result.stderr), result.stderr);
    assert.ok(lines.length >= files.length, result.stderr);
  });

  it('vae sweep on hostile files: exit 2, one positioned line (telling a sweep from a spec never parses them)', async () => {
    for (const text of ['base: x\n' + '['.repeat(10_000), '['.repeat(10_000), 'a: ' + '&a [*a, '.repeat(50)]) {
      const result = await vae(['sweep', specFile(text), '--runs-dir', join(tmp, 'never')]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr.trimEnd(), LINE);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    }
  });
});

describe('data paths in a spec stay inside the project', () => {
  const project = join(tmp, 'project');
  mkdirSync(join(project, 'experiments', 'data'), { recursive: true });
  const spec = (idx: Record<string, string>) =>
    ({ data: { dataset: 'idx', split: { train: 1, val: 0 }, limit: 0, binarize: 'none', idx } }) as never;
  const inFile = { file: join(project, 'experiments', 'x.yaml'), fromOverride: () => false };

  it('accepts paths inside the project, relative to the spec', () => {
    assert.deepEqual(
      checkDataPaths(spec({ train_images: 'data/train.idx', test_images: '../experiments/data/t.idx' }), inFile, project),
      [],
    );
  });

  it('refuses ../ and absolute paths that leave it, naming the command-line way out', () => {
    const found = checkDataPaths(spec({ train_images: '../../etc/x', test_images: '/etc/passwd' }), inFile, project);
    assert.deepEqual(
      found.map((v) => [v.path.join('.'), v.message]),
      [
        [
          'data.idx.train_images',
          `'../../etc/x' is outside the project; to use it anyway, give it on the command line: data.idx.train_images=${join(tmp, 'etc/x')}`,
        ],
        [
          'data.idx.test_images',
          "'/etc/passwd' is outside the project; to use it anyway, give it on the command line: data.idx.test_images=/etc/passwd",
        ],
      ],
    );
  });

  it('follows a symbolic link out of the project', () => {
    symlinkSync('/etc', join(project, 'experiments', 'data', 'etc'));
    const found = checkDataPaths(spec({ train_images: 'data/etc/passwd', test_images: 'data/t.idx' }), inFile, project);
    assert.deepEqual(
      found.map((v) => v.message),
      ["'data/etc/passwd' is outside the project; to use it anyway, give it on the command line: data.idx.train_images=/etc/passwd"],
    );
  });

  it("the loader places the line in the file, and a path given as an override is the user's choice", () => {
    // The project is the working directory (the repository when tests run); this spec lives in a temp folder outside it.
    const text = 'name: a\ndata:\n  dataset: idx\n  idx:\n    train_images: ../../etc/x\n    test_images: /etc/passwd\n';
    const file = specFile(text);
    assert.throws(
      () => loadSpec(file),
      (e: SpecError) => {
        assert.deepEqual(e.message.split('\n'), [
          `${file}:5:19 data.idx.train_images: '../../etc/x' is outside the project; to use it anyway, give it on the command line: data.idx.train_images=${join(tmp, '../../etc/x')}`,
          `${file}:6:18 data.idx.test_images: '/etc/passwd' is outside the project; to use it anyway, give it on the command line: data.idx.test_images=/etc/passwd`,
        ]);
        return true;
      },
    );
    const { spec: loaded } = loadSpec(file, ['data.idx.train_images=/etc/x', 'data.idx.test_images=/etc/passwd']);
    assert.equal(loaded.data.idx!.test_images, '/etc/passwd');
  });
});

describe('an unusable runs folder is one clear line', () => {
  it('a runs folder under a regular file (ENOTDIR), and a file where the experiment folder goes', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(
      () => RunRecord.create(join(file, 'runs'), 'vae-mnist'),
      (e: Error) => {
        assert.ok(e instanceof RunRecordError);
        assert.equal(
          e.message,
          `cannot create the run record in ${file}/runs/vae-mnist: a part of the path is a file, not a folder (ENOTDIR); choose another place with --runs-dir`,
        );
        return true;
      },
    );
    const runs = join(tmp, 'runs-with-file');
    mkdirSync(runs);
    writeFileSync(join(runs, 'vae-mnist'), 'x');
    assert.throws(() => RunRecord.create(runs, 'vae-mnist'), {
      name: 'RunRecordError',
      message: `cannot create the run record in ${runs}/vae-mnist: a file of that name is in the way (EEXIST); choose another place with --runs-dir`,
    });
  });

  it('vae run with such a runs folder: exit 2, one line', async () => {
    const file = join(tmp, 'another-file');
    writeFileSync(file, 'x');
    const result = await vae([
      'run',
      'experiments/vae-mnist.yaml',
      'data.limit=64',
      'train.epochs=1',
      '--runs-dir',
      join(file, 'runs'),
      '--no-mlflow',
      '--backend',
      'cpu',
    ]);
    assert.equal(result.code, 2, result.stderr);
    const last = result.stderr.trimEnd().split('\n').at(-1);
    assert.equal(
      last,
      `cannot create the run record in ${file}/runs/vae-mnist: a part of the path is a file, not a folder (ENOTDIR); choose another place with --runs-dir`,
    );
    assert.ok(!/^\s+at /m.test(result.stderr), result.stderr);
  });

  const mountPoint = join(tmp, 'mnt');
  const mount = (...args: string[]) => execFileSync('mount', args, { stdio: 'pipe' });
  let mounted = false;
  try {
    mkdirSync(mountPoint);
    mount('-t', 'tmpfs', '-o', 'size=1m,nr_inodes=64', 'tmpfs', mountPoint);
    mounted = true;
  } catch {
    // Not root, or no mount in this sandbox: these two tests are skipped.
  }
  after(() => {
    if (mounted) execFileSync('umount', [mountPoint]);
  });

  it('a read-only file system: one line, earlier runs untouched', { skip: !mounted && 'mount is not permitted here' }, () => {
    const runs = join(mountPoint, 'ro-runs');
    const earlier = RunRecord.create(runs, 'vae-mnist');
    writeFileSync(earlier.path('an-earlier-file'), '{}');
    mount('-o', 'remount,ro', mountPoint);
    try {
      assert.throws(() => RunRecord.create(runs, 'vae-mnist'), {
        name: 'RunRecordError',
        message: `cannot create the run record in ${runs}/vae-mnist: read-only file system (EROFS); choose another place with --runs-dir`,
      });
      assert.throws(() => RunRecord.create(runs, 'other'), {
        message: `cannot create the run record in ${runs}/other: read-only file system (EROFS); choose another place with --runs-dir`,
      });
      assert.deepEqual(readdirSync(join(runs, 'vae-mnist')), [earlier.runId]);
      assert.equal(readFileSync(earlier.path('an-earlier-file'), 'utf8'), '{}');
    } finally {
      mount('-o', 'remount,rw', mountPoint);
    }
  });

  it('a full file system: one line, earlier runs untouched', { skip: !mounted && 'mount is not permitted here' }, () => {
    const runs = join(mountPoint, 'full-runs');
    const earlier = RunRecord.create(runs, 'vae-mnist');
    writeFileSync(earlier.path('an-earlier-file'), '{}');
    // Use up the inodes (a new folder needs one) and the blocks.
    let i = 0;
    try {
      for (; ; i++) mkdirSync(join(mountPoint, `fill-${i}`));
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    assert.throws(() => RunRecord.create(runs, 'vae-mnist'), {
      name: 'RunRecordError',
      message: `cannot create the run record in ${runs}/vae-mnist: no space left on device (ENOSPC); choose another place with --runs-dir`,
    });
    assert.deepEqual(readdirSync(join(runs, 'vae-mnist')), [earlier.runId]);
    assert.equal(readFileSync(earlier.path('an-earlier-file'), 'utf8'), '{}');
    for (let j = 0; j < i; j++) rmSync(join(mountPoint, `fill-${j}`), { recursive: true });
  });

  it(
    'a disk that fills up mid-run: one line, a FAILED record, the last checkpoint kept, and --resume finishes once there is room',
    { skip: !mounted && 'mount is not permitted here', timeout: 120_000 },
    async () => {
      // 12 MB holds the record and one checkpoint of the reference model (about 8 MB), not the second one beside it.
      const disk = join(tmp, 'small-disk');
      mkdirSync(disk);
      mount('-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', disk);
      try {
        const runs = join(disk, 'runs');
        const earlier = RunRecord.create(runs, 'vae-mnist');
        writeFileSync(earlier.path('an-earlier-file'), '{}');
        const result = await vae([
          'run',
          'experiments/vae-mnist.yaml',
          'data.limit=256',
          'train.epochs=3',
          '--runs-dir',
          runs,
          '--no-mlflow',
        ]);
        assert.equal(result.code, 1, result.stderr);
        assert.ok(!/^\s+at /m.test(result.stderr), result.stderr);
        const runDir = readdirSync(join(runs, 'vae-mnist'))
          .map((id) => join(runs, 'vae-mnist', id))
          .find((dir) => dir !== earlier.dir)!;
        assert.equal(
          result.stderr.trimEnd().split('\n').at(-1),
          `cannot write to the run record ${runDir}: no space left on device (ENOSPC). The run is FAILED; the checkpoint of epoch 1 is kept: free some space and go on with: npx vae run --resume ${runDir}`,
        );
        assert.equal(new RunRecord(runDir).readRun().status, 'FAILED');
        assert.deepEqual(
          readdirSync(runDir).filter((name) => name.startsWith(basename(new RunRecord(runDir).checkpointDirs().current))),
          [basename(new RunRecord(runDir).checkpointDirs().current)],
          'the half-written checkpoint is gone',
        );
        assert.equal(readFileSync(earlier.path('an-earlier-file'), 'utf8'), '{}');

        mount('-o', 'remount,size=40m', disk);
        const resumed = await vae(['run', '--resume', runDir, '--no-mlflow']);
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(resumed.stderr, /resuming after epoch 1 of 3/);
        assert.equal(new RunRecord(runDir).readSummary()!.epochs_completed, 3);
      } finally {
        execFileSync('umount', [disk]);
      }
    },
  );
});

describe('runs started together', () => {
  it('8 processes creating run folders at the same moment get 8 different ones', async () => {
    const runs = join(tmp, 'together');
    const go = join(tmp, 'go');
    // Each process loads the runner, says it is ready, and waits for the same go signal before its mkdir.
    const script = `import { existsSync } from 'node:fs';
      import { RunRecord } from ${JSON.stringify(join(ROOT, 'src/record/run-record.ts'))};
      console.log('ready');
      while (!existsSync(${JSON.stringify(go)})) {}
      console.log(RunRecord.create(${JSON.stringify(runs)}, 'vae-mnist').runId);`;
    let ready = 0;
    const ids = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<string>((done, fail) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
              cwd: ROOT,
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let out = '';
            child.stdout.on('data', (d) => {
              out += d;
              if (String(d).includes('ready') && ++ready === 8) writeFileSync(go, '');
            });
            child.on('error', fail);
            child.on('close', (code) => (code === 0 ? done(out.replace('ready', '').trim()) : fail(new Error(`exit ${code}`))));
          }),
      ),
    );
    assert.equal(new Set(ids).size, 8);
    assert.deepEqual(readdirSync(join(runs, 'vae-mnist')).sort(), [...ids].sort());
    assert.ok(!existsSync(join(runs, 'vae-mnist', 'undefined')));
  });
});
