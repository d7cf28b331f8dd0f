#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for testing the slurm profile (needs root, Debian).
#
#   tests/slurm/cluster.sh start   # install slurm-wlm + munge if missing, write /etc/slurm, start daemons
#                                  # (exit 0); a cluster that already answers is reused and left alone (exit 3)
#   tests/slurm/cluster.sh stop    # stop the daemons this script started (by PID)
#
# The node advertises two fake GPUs (gres gpu:fake:2 backed by device nodes made with mknod), so jobs
# asking for GPUs are scheduled and get CUDA_VISIBLE_DEVICES from SLURM like on a real GPU node.
# No slurmdbd: the profile must use squeue for job status (sacct needs accounting).
set -euo pipefail

STATE=/run/facegan-slurm
PIDS="$STATE/pids"

start() {
    if command -v sinfo >/dev/null && sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix)'; then
        echo "a SLURM cluster is already up: using it (and leaving it running)"
        sinfo
        exit 3
    fi
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurmctld slurmd slurm-client munge >/dev/null
    fi
    mkdir -p "$STATE" /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$STATE/dev"
    : > "$PIDS"

    # munge: a key, its folders owned by the munge user, the daemon run as that user.
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then mungekey --create --force; else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
    chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
    if ! pgrep -u munge -x munged >/dev/null; then
        runuser -u munge -- /usr/sbin/munged --force
        sleep 0.5
        pgrep -u munge -x munged | head -1 >> "$PIDS"
    fi

    local host node mem
    host=$(hostname -s)
    # The node line as slurmd sees this machine (CPUs, sockets, memory), minus a margin of memory.
    node=$(slurmd -C | head -1 | sed -E 's/ UpTime=.*//')
    mem=$(echo "$node" | sed -E 's/.*RealMemory=([0-9]+).*/\1/')
    node=$(echo "$node" | sed -E "s/RealMemory=[0-9]+/RealMemory=$((mem * 9 / 10))/")

    for i in 0 1; do [ -e "$STATE/dev/nvidia$i" ] || mknod "$STATE/dev/nvidia$i" c 195 "$i"; done

    cat > /etc/slurm/slurm.conf <<EOF
ClusterName=facegan-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MailProg=/bin/true
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node Gres=gpu:fake:2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    cat > /etc/slurm/gres.conf <<EOF
AutoDetect=off
NodeName=$host Name=gpu Type=fake File=$STATE/dev/nvidia[0-1]
EOF
    slurmctld -i
    slurmd
    for _ in $(seq 1 60); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix)'; then break; fi
        sleep 0.5
    done
    cat "$STATE/slurmctld.pid" "$STATE/slurmd.pid" >> "$PIDS"
    if ! sinfo -h -o '%t' | grep -qE '^(idle|mix)'; then
        echo "SLURM node did not become idle:" >&2
        sinfo -N -l >&2 || true
        tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
        stop
        exit 1
    fi
    sinfo
}

stop() {
    [ -f "$PIDS" ] || return 0
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done < "$PIDS"
    rm -f "$PIDS"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
