#!/usr/bin/env bash
# Stop the one-node SLURM that scripts/slurm/up.sh started under STATE_DIR (default scratch/slurm):
# every daemon by the pid file it wrote there, nothing else. `--purge` also deletes the folder.
#   scripts/slurm/down.sh [STATE_DIR] [--purge]
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=$(realpath -m "${1:-scratch/slurm}")
PURGE=${2:-}
export SLURM_CONF=$DIR/slurm.conf
if [ -f "$SLURM_CONF" ] && command -v scancel >/dev/null; then scancel --full --quiet --user="$(id -un)" 2>/dev/null || true; fi
for pidfile in run/slurmd.pid run/slurmctld.pid run/slurmdbd.pid run/mariadb.pid munge/munged.pid; do
  [ -f "$DIR/$pidfile" ] || continue
  pid=$(cat "$DIR/$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$DIR/$pidfile"
done
[ "$PURGE" = --purge ] && rm -rf "$DIR"
echo "SLURM under $DIR stopped"
