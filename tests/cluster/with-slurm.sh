#!/usr/bin/env bash
# Runs a command inside a one-node SLURM cluster made for it, then takes the cluster down.
#
#   bash tests/cluster/with-slurm.sh COMMAND [ARG...]
#   bash tests/cluster/with-slurm.sh bash        # a shell with sinfo, sbatch, squeue, scancel
#
# Needs root and Debian's packages (slurmctld, slurmd, slurm-client, munge; installed here if
# missing). No systemd, no cgroups: munged, slurmctld -D and slurmd -D are started in the
# background from a slurm.conf written for them (state and logs in a fresh /tmp/prepsuite-slurm.*),
# the command runs, and on the way out (whatever happened: failure, Ctrl-C, SIGTERM) its jobs
# are cancelled, the daemons this script started, and only those, are stopped by their PIDs,
# and the files it wrote are removed (KEEP_SLURM_STATE=1 keeps the logs).
#
# The cluster: one node (this machine's CPUs and memory) in one partition named `cpu`, as the
# profile (profiles/slurm/config.yaml) asks for; proctrack/linuxproc and task/none (no cgroup
# setup); memory limits enforced by the accounting poller (JobAcctGatherParams=OverMemoryKill);
# no slurmdbd: the workflow's jobs are watched with squeue (docs/cluster.md, "How Snakemake
# learns that a job ended").
# Its ports (16817, 16818) are not SLURM's defaults, so a real SLURM on the machine is left alone.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "with-slurm.sh: SKIPPED: a test SLURM cluster needs root (to start munged, slurmctld and slurmd)" >&2
  exit 77
fi

need=()
command -v slurmctld >/dev/null || need+=(slurmctld)
command -v slurmd >/dev/null || need+=(slurmd)
command -v sbatch >/dev/null || need+=(slurm-client)
command -v munged >/dev/null || need+=(munge)
command -v pgrep >/dev/null || need+=(procps)
if [ "${#need[@]}" -gt 0 ]; then
  echo "with-slurm.sh: installing ${need[*]} from the distribution's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

unset SLURM_CONF
CONF=/etc/slurm/slurm.conf
MARK="# prepsuite test cluster (tests/cluster/with-slurm.sh); removed when it stops"
STATE=$(mktemp -d /tmp/prepsuite-slurm.XXXXXX)
chmod 755 "$STATE"
mkdir -p "$STATE/spool/ctld" "$STATE/spool/d" "$STATE/log"
PIDS=()

stop() {
  local rc=$? pid
  trap - EXIT INT TERM
  set +e  # every step of the teardown is tried, whatever the one before it gave
  if [ -n "${CMD:-}" ]; then  # the command, if a signal stopped this script while it ran
    kill -TERM "$CMD" 2>/dev/null && sleep 1 && kill -KILL "$CMD" 2>/dev/null
  fi
  # jobs still on the node end first (their processes belong to slurmstepd, not to this script)
  if [ -n "${SLURM_CONF:-}" ] && kill -0 "${PIDS[-1]:-0}" 2>/dev/null; then
    scancel --full --quiet --user root 2>/dev/null || true
    for _ in $(seq 30); do [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  # newest first: slurmd, slurmctld, then munged (jobs still running on the node go with slurmd's
  # process tree: proctrack/linuxproc kills them when slurmd's job steps end)
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    for f in "$STATE"/log/*.log; do
      [ -s "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  if [ -n "${SLURM_CONF:-}" ] && [ "$(head -n 1 "$SLURM_CONF" 2>/dev/null)" = "$MARK" ]; then
    rm -f "$SLURM_CONF"
  fi
  if [ -n "${KEEP_SLURM_STATE:-}" ]; then
    echo "with-slurm.sh: cluster stopped; its files stay in $STATE" >&2
  else
    rm -rf "$STATE"
    echo "with-slurm.sh: cluster stopped" >&2
  fi
  exit "$rc"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# munge: the authentication slurmctld, slurmd and the clients share. One already running (a
# machine with SLURM set up) is used as it is.
if ! pgrep -x munged >/dev/null; then
  [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || /usr/sbin/create-munge-key; }
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge/munge.key
  chmod 0755 /run/munge
  # -F: in the foreground, so that its PID is this script's child's
  setpriv --reuid munge --regid munge --clear-groups munged -F >"$STATE/log/munged.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
fi

# The configuration goes where every SLURM command looks for it, /etc/slurm/slurm.conf: inside a
# job, the jobstep plugin (snakemake-executor-plugin-slurm-jobstep 0.6.1) removes SLURM_* from
# the environment of the `srun` it starts, SLURM_CONF included. A slurm.conf that this script
# did not write (a machine with SLURM set up) is never touched.
if [ -e "$CONF" ] && [ "$(head -n 1 "$CONF")" != "$MARK" ]; then
  echo "with-slurm.sh: $CONF exists (this machine has SLURM set up): not touching it; run the workflow on that cluster instead" >&2
  exit 1
fi
mkdir -p /etc/slurm
NODE=$(hostname -s)
CPUS=$(nproc)
# what slurmd will find, less a margin for the system (slurmd refuses a node with less than this)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
cat >"$CONF.prepsuite-new" <<EOF
$MARK
ClusterName=prepsuite-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# memory limits: the poller reads every job step's processes each second and kills a step
# that uses more than its job asked for (no cgroups here)
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue for 5 minutes: the workflow's status checks (squeue, no
# slurmdbd) see how each one ended.
MinJobAge=300
# Time limits: a job past its limit is ended at slurmctld's next time-limit check, which comes
# every 30 s whatever the settings (a constant of SLURM 22.05's build), with no grace
# (OverTimeLimit=0) and 5 s from SIGTERM to SIGKILL (KillWait; 30 by default). No limit on
# idle interactive jobs (InactiveLimit=0).
InactiveLimit=0
KillWait=5
OverTimeLimit=0
ReturnToService=2
MpiDefault=none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.prepsuite-new" "$CONF"
export SLURM_CONF=$CONF

slurmctld -D -i >"$STATE/log/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -N "$NODE" >"$STATE/log/slurmd.out" 2>&1 &
PIDS+=($!)

# up when the node is idle (at most a minute: it takes a few seconds)
for i in $(seq 120); do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  if [ "$i" -eq 120 ]; then
    echo "with-slurm.sh: the node is not idle after 60 s (state: ${state:-none})" >&2
    exit 1
  fi
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "with-slurm.sh: a SLURM daemon (PID $pid) exited" >&2; exit 1; }
  done
  sleep 0.5
done
echo "with-slurm.sh: SLURM $(sinfo -V | awk '{print $2}') up: node $NODE, $CPUS CPUs, $MEM_MB MB, partition cpu (SLURM_CONF=$SLURM_CONF)" >&2

# in the background, so that a signal to this script is handled at once (bash runs a trap
# only after the foreground command ends), reading this script's stdin (a background command
# would read /dev/null): `with-slurm.sh cat` holds the cluster up until its stdin closes
exec 3<&0
"$@" <&3 3<&- &
CMD=$!
rc=0
wait "$CMD" || rc=$?
CMD=
exit "$rc"
