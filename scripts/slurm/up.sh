#!/usr/bin/env bash
# A real one-node SLURM cluster for the `slurm` tests and CI: Debian bookworm packages (slurm-wlm 22.05,
# munge, slurmdbd + mariadb so that `sacct` works), as root, without systemd or cgroups. Every file
# (config, state, logs, pid files, database, munge key and socket) lies under one folder, and the
# config is reached through SLURM_CONF, so /etc/slurm and /etc/munge stay untouched.
#
#   scripts/slurm/up.sh [STATE_DIR]        # default scratch/slurm; prints the bring-up time
#   source STATE_DIR/env.sh                # SLURM_CONF for sbatch, squeue, sacct, submitit
#   scripts/slurm/down.sh [STATE_DIR]      # stop every daemon started here
#
# Environment: SLURM_CPUS (CPUs the node declares; default: the machine's; more than the machine
# has is allowed, so that two 2-CPU test jobs run at once on 2 cores), SLURM_PORT_BASE (default 16817:
# slurmctld, +1 slurmd, +2 slurmdbd, +3 mariadb), SLURM_ACCOUNTING=0 (no slurmdbd/mariadb: 1 s instead of
# about 10 s, but submitit cannot see a killed job end without sacct).
set -euo pipefail
cd "$(dirname "$0")/../.."
START_NS=$(date +%s%N)
DIR=$(realpath -m "${1:-scratch/slurm}")
CPUS=${SLURM_CPUS:-$(nproc)}
PORT=${SLURM_PORT_BASE:-16817}
ACCOUNTING=${SLURM_ACCOUNTING:-1}
NODE=$(hostname -s)
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

packages=(slurm-wlm slurmctld slurmd slurm-client munge)
[ "$ACCOUNTING" = 1 ] && packages+=(slurmdbd mariadb-server)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "$(id -u)" != 0 ]; then echo "scripts/slurm/up.sh runs the daemons as root (run it with sudo)" >&2; exit 1; fi
if [ -f "$DIR/run/slurmctld.pid" ] && kill -0 "$(cat "$DIR/run/slurmctld.pid")" 2>/dev/null; then
  echo "SLURM already up under $DIR (scripts/slurm/down.sh $DIR stops it)"; exit 0
fi

mkdir -p "$DIR"/{state,spool,log,run,munge}
chown munge:munge "$DIR/munge" && chmod 755 "$DIR/munge"   # munged runs as munge and owns its folder
if [ ! -f "$DIR/munge/munge.key" ]; then
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$DIR/munge/munge.key" && chmod 400 "$DIR/munge/munge.key"
fi
SOCKET=$DIR/munge/munge.socket
runuser -u munge -- /usr/sbin/munged --key-file="$DIR/munge/munge.key" --socket="$SOCKET" \
  --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"

# RealMemory a little below the machine's (slurmd refuses a node that declares more than it has).
# KillWait 60 s: between scancel's SIGTERM and SIGKILL a stopping campaign ends its QE process group,
# writes interrupted.json and its log line; at 15 s the scancel test once found no such line in the
# job's log on a loaded 2-core machine (the likely cause: the campaign was killed before it wrote it).
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cat > "$DIR/slurm.conf" <<EOF
ClusterName=matdisco
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET,cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MpiDefault=none
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=60
MinJobAge=600
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
NodeName=$NODE CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

if [ "$ACCOUNTING" = 1 ]; then
  cat >> "$DIR/slurm.conf" <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$((PORT + 2))
AccountingStoragePass=$SOCKET
EOF
  if [ ! -d "$DIR/mysql/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$DIR/mysql" --user=root --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1
  fi
  # Reached only from this host (127.0.0.1, its own port); grant tables off: a throw-away test database.
  setsid mariadbd --no-defaults --datadir="$DIR/mysql" --user=root --bind-address=127.0.0.1 --port=$((PORT + 3)) \
    --socket="$DIR/run/mysql.sock" --pid-file="$DIR/run/mariadb.pid" --skip-grant-tables \
    --log-error="$DIR/log/mariadb.log" </dev/null >/dev/null 2>>"$DIR/log/mariadb.log" &
  cat > "$DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$SOCKET
DbdHost=localhost
DbdPort=$((PORT + 2))
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((PORT + 3))
StorageUser=root
StorageLoc=slurm_acct_db
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
EOF
  chmod 600 "$DIR/slurmdbd.conf"
  for _ in $(seq 100); do [ -S "$DIR/run/mysql.sock" ] && break; sleep 0.1; done
  SLURM_CONF=$DIR/slurm.conf slurmdbd
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$((PORT + 2))) 2>/dev/null && break; sleep 0.1; done
fi

export SLURM_CONF=$DIR/slurm.conf
slurmctld -c
slurmd
printf 'export SLURM_CONF=%q\n' "$SLURM_CONF" > "$DIR/env.sh"
for _ in $(seq 300); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; then
    echo "SLURM up under $DIR in $(( ($(date +%s%N) - START_NS) / 1000000 )) ms: node $NODE, $CPUS CPUs, ${MEM_MB} MB; source $DIR/env.sh"
    exit 0
  fi
  sleep 0.1
done
echo "SLURM did not come up in 30 s; logs in $DIR/log" >&2
exit 1
