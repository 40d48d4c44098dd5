// What a worker on another node will need, checked when the plan is written rather than when its tasks fail.
import { existsSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

// statfs(2) f_type of file systems that several machines mount. FUSE is counted as shared: sshfs and GlusterFS are.
const SHARED_FILE_SYSTEMS = new Map<number, string>([
  [0x6969, 'NFS'],
  [0xff534d42, 'CIFS'],
  [0xfe534d42, 'SMB2'],
  [0x0bd00bd0, 'Lustre'],
  [0x47504653, 'GPFS'],
  [0x19830326, 'BeeGFS'],
  [0x00c36400, 'CephFS'],
  [0x65735546, 'FUSE'],
]);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** One line per thing that would keep the plan's tasks on other nodes from sharing one sweep. */
export function planWarnings(runsDir: string, trackingUri: string | undefined): string[] {
  const warnings: string[] = [];
  if (!trackingUri) {
    warnings.push(
      'MLFLOW_TRACKING_URI is not set: each task would start an MLflow server of its own on its node, and the trials could not share one parent run; export MLFLOW_TRACKING_URI=http://<a server every node reaches>:5000 before submitting',
    );
  } else if (LOOPBACK.has(hostOf(trackingUri))) {
    warnings.push(
      `MLFLOW_TRACKING_URI=${trackingUri} is this machine's loopback address: on another node it names that node; use a host name every node reaches`,
    );
  }
  const folder = nearestExisting(resolve(runsDir));
  const type = statfsSync(folder).type;
  if (!SHARED_FILE_SYSTEMS.has(type)) {
    warnings.push(
      `the runs folder ${resolve(runsDir)} is on a local file system (type 0x${type.toString(16)}): tasks on other nodes would write their logs and records where this machine cannot see them; choose a shared one with --runs-dir (what MLflow holds is complete either way)`,
    );
  }
  return warnings;
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).hostname;
  } catch {
    return '';
  }
}

function nearestExisting(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}
