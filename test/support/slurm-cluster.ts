// A one-node Slurm cluster of the test's own: munged, slurmctld and slurmd from Debian's packages, with a generated
// slurm.conf, munge key, ports, state, spool, pid and log files under one temporary folder (never /etc/slurm).
// Every process it starts, the jobs' included, carries a marker in its environment, so stop() finds and ends them all.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from './mlflow-server.ts';

/** The one command that makes the Slurm test run (scripts/setup-slurm.sh says the same). */
export const SLURM_SETUP_COMMAND = 'sudo bash scripts/setup-slurm.sh';
const DAEMONS = ['munged', 'slurmctld', 'slurmd'] as const;
const CLIENTS = ['sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'] as const;
const MARKER = 'VAE_TEST_SLURM_CLUSTER';
const START_TIMEOUT_MS = 60_000;

export interface SlurmCluster {
  /** The environment for Slurm's commands and the jobs they submit: this cluster's slurm.conf, node on PATH. */
  env: NodeJS.ProcessEnv;
  /** Runs one of Slurm's commands against this cluster; rejects with its output and the daemons' logs. */
  command(name: string, args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<string>;
  /** Submits a batch script; the job id. */
  sbatch(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<string>;
  /** Until no task of the job is pending or running; rejects after `timeoutMs` with the queue and the logs. */
  waitForJob(jobId: string, timeoutMs: number): Promise<void>;
  /** The end of every daemon's log, for failure messages. */
  logs(): string;
  /** Cancels every job, stops the daemons and ends any process left that this cluster started; removes the folder. */
  stop(): Promise<void>;
}

/** Why the Slurm test cannot run here, in one line naming what to do; undefined when it can. */
export function slurmUnavailable(): string | undefined {
  const missing = [...DAEMONS, ...CLIENTS].filter((name) => !findExecutable(name));
  if (missing.length > 0) return `Slurm is not installed (no ${missing.join(', ')}); to run this test: ${SLURM_SETUP_COMMAND}`;
  if (process.getuid?.() !== 0) return 'slurmd starts jobs as their user, so this one-node cluster needs root; run npm test as root';
  return undefined;
}

export async function startSlurmCluster(): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vae-slurm-'));
  // munged refuses a socket in a folder others cannot enter.
  chmodSync(dir, 0o755);
  for (const sub of ['state', 'spool']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'munge.key'), randomBytes(1024), { mode: 0o600 });
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, slurmConf(dir, await freePort(), await freePort()));
  writeFileSync(join(dir, 'plugstack.conf'), '');
  const env = {
    ...process.env,
    SLURM_CONF: conf,
    [MARKER]: dir,
    PATH: [dirname(process.execPath), process.env.PATH ?? '', '/usr/sbin', '/sbin'].join(delimiter),
  };
  const daemons: ChildProcess[] = [];
  const logs = () => daemonLogs(dir);
  const command = (name: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    run(name, args, { ...env, ...extraEnv }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
  const cluster: SlurmCluster = {
    env,
    command,
    logs,
    sbatch: async (args, extraEnv) => (await command('sbatch', ['--parsable', ...args], extraEnv)).trim().split(';')[0],
    waitForJob: (jobId, timeoutMs) => waitForJob(command, jobId, timeoutMs, logs),
    stop: () => stopCluster(dir, daemons, command),
  };
  try {
    const start = (name: (typeof DAEMONS)[number], args: string[]) => {
      const out = openSync(join(dir, `${name}.out`), 'a');
      const daemon = spawn(name, args, { env, stdio: ['ignore', out, out] });
      // It never started (not executable): said in its log, which the wait below shows when it gives up.
      daemon.on('error', (err) => appendFileSync(join(dir, `${name}.out`), `cannot start ${name}: ${err.message}\n`));
      daemons.push(daemon);
      closeSync(out);
    };
    start('munged', [
      '-F',
      `--key-file=${dir}/munge.key`,
      `--socket=${dir}/munge.socket`,
      `--pid-file=${dir}/munged.pid`,
      `--log-file=${dir}/munged.log`,
      `--seed-file=${dir}/munged.seed`,
    ]);
    await until('munged to open its socket', () => existsSync(join(dir, 'munge.socket')), daemons, logs);
    start('slurmctld', ['-D', '-f', conf]);
    await until('slurmctld to answer', async () => (await command('scontrol', ['ping']).catch(() => '')).includes('is UP'), daemons, logs);
    start('slurmd', ['-D', '-f', conf]);
    await until('the node to be idle', async () => (await command('sinfo', ['-h', '-o', '%T'])).trim() === 'idle', daemons, logs);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function slurmConf(dir: string, controllerPort: number, nodePort: number): string {
  const node = hostname().split('.')[0];
  return `# Written by test/support/slurm-cluster.ts: a one-node cluster under ${dir}
ClusterName=vaetest
# Addresses given, so the host name need not resolve (containers).
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${controllerPort}
SlurmdPort=${nodePort}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=${dir}/munge.socket
CredType=cred/munge
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/slurmctld.log
SlurmdLogFile=${dir}/slurmd.log
PlugStackConfig=${dir}/plugstack.conf
# No cgroups in a container: processes are tracked by their parents, tasks are not bound to CPUs.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
# Seconds between a cancelled task's SIGTERM and its SIGKILL: enough for a trial to save its checkpoint.
KillWait=20
# Two CPUs whatever the machine has: a sweep's task asks for both, so its tasks run one at a time.
NodeName=${node} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`;
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs
    .map((d) => join(d, name))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function run(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    execFile(name, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${name} ${args.join(' ')} failed: ${err.message.split('\n')[0]}\n${stdout}${stderr}`));
      else done(stdout);
    });
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `ready` until true; fails at once, with the logs, when a daemon has exited, and after a minute otherwise. */
async function until(what: string, ready: () => boolean | Promise<boolean>, daemons: ChildProcess[], logs: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const dead = daemons.find((d) => d.exitCode !== null || d.signalCode !== null);
    if (dead) throw new Error(`${dead.spawnargs[0]} exited (${dead.exitCode ?? dead.signalCode}) while waiting for ${what}\n${logs()}`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${START_TIMEOUT_MS / 1000} s waiting for ${what}\n${logs()}`);
    await sleep(200);
  }
}

async function waitForJob(command: SlurmCluster['command'], jobId: string, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const queue = await command('squeue', ['-h', '-o', '%i %T']);
    const mine = queue.split('\n').filter((line) => line.startsWith(`${jobId}_`) || line.startsWith(`${jobId} `));
    if (mine.length === 0) return;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still queued after ${timeoutMs / 1000} s:\n${mine.join('\n')}\n${logs()}`);
    await sleep(500);
  }
}

function daemonLogs(dir: string): string {
  const tail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20).join('\n') : '(none)');
  return ['munged.out', 'slurmctld.log', 'slurmctld.out', 'slurmd.log', 'slurmd.out']
    .map((name) => `== ${join(dir, name)}\n${tail(join(dir, name))}`)
    .join('\n');
}

async function stopCluster(dir: string, daemons: ChildProcess[], command: SlurmCluster['command']): Promise<void> {
  const slurmctldUp = daemons.length >= 2 && daemons[1].exitCode === null;
  if (slurmctldUp) {
    const jobs = (await command('squeue', ['-h', '-o', '%A']).catch(() => '')).split('\n').filter(Boolean);
    if (jobs.length > 0) {
      await command('scancel', [...new Set(jobs)]).catch(() => '');
      // Cancelled trials save their checkpoints; anything still there after KillWait is killed below.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await command('squeue', ['-h', '-o', '%A']).catch(() => '')).trim() !== '') await sleep(500);
    }
  }
  for (const daemon of [...daemons].reverse()) await end(daemon);
  // Job steps outlive slurmd by design, and a trial outlives its task when the task's first process dies: by the marker.
  for (const pid of markedProcesses(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + 10_000;
  while (markedProcesses(dir).length > 0 && Date.now() < deadline) await sleep(100);
  rmSync(dir, { recursive: true, force: true });
}

async function end(daemon: ChildProcess): Promise<void> {
  if (daemon.exitCode !== null || daemon.signalCode !== null) return;
  const exited = new Promise((done) => daemon.once('exit', done));
  daemon.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) === false) {
    daemon.kill('SIGKILL');
    await exited;
  }
}

/** Every live process whose environment carries this cluster's marker. */
export function markedProcesses(dir: string): number[] {
  const mark = `\0${MARKER}=${dir}\0`;
  const environ = (pid: string) => {
    try {
      return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`;
    } catch {
      return ''; // gone, or a kernel thread
    }
  };
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid && environ(name).includes(mark))
    .map(Number);
}
