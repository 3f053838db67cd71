#!/usr/bin/env bash
# A one-node SLURM on this machine, for the suite's tests and for trying --scheduler slurm.
#   sudo apt-get install -y slurm-wlm munge    (Debian/Ubuntu; once)
#   scripts/slurm-local.sh start | stop | status
# Writes a minimal slurm.conf for this host (cons_tres, proctrack linuxproc, no cgroups, no
# systemd), starts munged, slurmctld and slurmd, and stops them by their pid files. Run as root.
set -euo pipefail
STATE=${SLURM_LOCAL_DIR:-/var/tmp/slurm-local}
CONF_DIR=/etc/slurm
HOST=$(hostname -s)

need() { command -v "$1" >/dev/null || { echo "slurm-local: $1 not found: apt-get install -y slurm-wlm munge" >&2; exit 2; }; }

write_conf() {
    local cpus mem
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    mkdir -p "$CONF_DIR" "$STATE/spool/ctld" "$STATE/spool/d" "$STATE/log"
    cat > "$CONF_DIR/slurm.conf" <<CONF
ClusterName=mocose-local
SlurmctldHost=$HOST
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmUser=root
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
KillWait=5
InactiveLimit=0
MinJobAge=30
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
}

start() {
    need munged; need slurmctld; need slurmd
    write_conf
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; chmod 400 /etc/munge/munge.key; }
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
    pgrep -x munged >/dev/null || runuser -u munge -- munged 2>/dev/null || munged --force
    [ -s "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null || slurmctld -i
    [ -s "$STATE/slurmd.pid" ] && kill -0 "$(cat "$STATE/slurmd.pid")" 2>/dev/null || slurmd
    for _ in $(seq 1 30); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            echo "slurm-local: up on $HOST ($(nproc) CPUs); logs in $STATE/log"; return 0
        fi
        scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    echo "slurm-local: the node did not come up; see $STATE/log" >&2
    sinfo >&2 || true
    exit 1
}

stop() {
    for d in slurmd slurmctld; do
        if [ -s "$STATE/$d.pid" ]; then kill "$(cat "$STATE/$d.pid")" 2>/dev/null || true; rm -f "$STATE/$d.pid"; fi
    done
    pkill -x munged 2>/dev/null || true
    echo "slurm-local: stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) sinfo; squeue ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
