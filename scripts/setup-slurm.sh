#!/usr/bin/env bash
# Installs Slurm (Debian's slurm-wlm: slurmctld, slurmd, sbatch and friends) and munge, which test/slurm.test.ts runs as a
# one-node cluster of its own. `npm test` runs this first (its pretest hook): as root it installs what is missing; as
# anyone else it installs nothing and says the one command to run, and the Slurm test skips with the same line.
# Nothing is configured or started here: the test writes its own slurm.conf and munge key and starts its own daemons.
set -euo pipefail

PACKAGES=(slurm-wlm munge)
COMMANDS=(munged slurmctld slurmd sbatch squeue scontrol scancel)
# Keep in step with SLURM_SETUP_COMMAND in test/support/slurm-cluster.ts.
HINT="sudo bash scripts/setup-slurm.sh"

say() { echo "[slurm] $*"; }

missing_commands() {
  local missing=()
  for command in "${COMMANDS[@]}"; do
    command -v "$command" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1 || missing+=("$command")
  done
  echo "${missing[*]}"
}

missing="$(missing_commands)"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  say "Slurm is not installed (no $missing): the Slurm test will skip; to run it: $HINT"
  exit 0
fi

say "installing ${PACKAGES[*]} for the Slurm test (no $missing; about 15 s)"
export DEBIAN_FRONTEND=noninteractive
# A machine that never ran apt-get update has no candidate to install.
if ! apt-cache policy slurm-wlm 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  apt-get update -qq
fi
# debconf's note that apt-utils is missing is the only line otherwise; errors still show.
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null 2> >(grep -v '^debconf: delaying package configuration' >&2)
missing="$(missing_commands)"
if [ -n "$missing" ]; then
  say "error: still missing after installing ${PACKAGES[*]}: $missing" >&2
  exit 1
fi
say "installed: $(dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}" | paste -sd, | sed 's/,/, /g')"
