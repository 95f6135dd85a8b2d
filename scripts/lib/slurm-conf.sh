# shellcheck shell=bash
# The Slurm set-up that scripts/slurm-local (one node on loopback) and scripts/vcluster
# (nodes in namespaces) share: the tools they need, a fresh munge key, munged's command line,
# and one slurm.conf writer. Sourced, not run; defines functions and SLURM_TOOLS only.
#
# Both run throw-away clusters as root with no systemd and no cgroups, so the policy half of
# slurm.conf (plugins, scheduling, timeouts) is the same for both and lives here once; what
# differs (ports, paths, nodes) comes in as options.

# Every Slurm and munge program the scripts or their tests run.
SLURM_TOOLS=(munged slurmctld slurmd sbatch srun squeue scontrol scancel sinfo)

# Prints the tools of SLURM_TOOLS that are not installed, space-separated ("" when none is
# missing).
slurm_missing_tools() {
    local c missing=()
    for c in "${SLURM_TOOLS[@]}"; do command -v "$c" >/dev/null || missing+=("$c"); done
    echo "${missing[*]}"
}

# KEYFILE: a fresh munge key, readable by its owner only: no dependence on /etc/munge, nothing
# shared with a real cluster.
slurm_new_munge_key() {
    (umask 077 && head -c 1024 /dev/urandom >"$1")
}

# SOCKET KEYFILE PIDFILE SEEDFILE LOGFILE: sets MUNGED to munged's command line, in the
# foreground (-F) so that the caller decides how it runs (setsid, a node's namespaces).
# shellcheck disable=SC2034  # MUNGED is the result, read by the caller
slurm_munged_command() {
    MUNGED=(munged -F --socket="$1" --key-file="$2" --pid-file="$3" --seed-file="$4" --log-file="$5")
}

# A first job id for a new instance: instances that run at once (parallel ctest) then number
# their jobs apart, and PMIx and slurmd name per-job files after them.
slurm_first_job_id() {
    echo $(( (RANDOM * 32768 + RANDOM) % 900000 + 1000 ))
}

# FILE [options]: writes slurm.conf. Every option is required except --ports:
#   --comment TEXT          the first line (who wrote it, and where its state lives)
#   --cluster NAME          ClusterName
#   --ctld-host HOST        SlurmctldHost, e.g. localhost or node1(10.0.0.1)
#   --ports CTLD SLURMD     SlurmctldPort and SlurmdPort (default: Slurm's own)
#   --socket PATH           munged's socket (AuthInfo)
#   --state DIR             StateSaveLocation
#   --spool DIR             SlurmdSpoolDir
#   --pid-files CTLD SLURMD SlurmctldPidFile, SlurmdPidFile
#   --log-files CTLD SLURMD SlurmctldLogFile, SlurmdLogFile
#   --tmpfs DIR             TmpFS
#   --cpus N                CPUs of every node
#   --partition NAME        the one partition, over every node, the default
#   --node NAME ADDR        a node and its address; once per node
# Paths may hold %n (the node's name) where several slurmds share one folder.
slurm_conf_write() {
    local file=$1; shift
    local comment="" cluster="" ctld_host="" ctld_port="" slurmd_port="" socket="" state="" spool=""
    local ctld_pid="" slurmd_pid="" ctld_log="" slurmd_log="" tmpfs="" cpus="" partition=""
    local -a node_names=() node_addrs=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            --comment) comment=$2; shift 2 ;;
            --cluster) cluster=$2; shift 2 ;;
            --ctld-host) ctld_host=$2; shift 2 ;;
            --ports) ctld_port=$2 slurmd_port=$3; shift 3 ;;
            --socket) socket=$2; shift 2 ;;
            --state) state=$2; shift 2 ;;
            --spool) spool=$2; shift 2 ;;
            --pid-files) ctld_pid=$2 slurmd_pid=$3; shift 3 ;;
            --log-files) ctld_log=$2 slurmd_log=$3; shift 3 ;;
            --tmpfs) tmpfs=$2; shift 2 ;;
            --cpus) cpus=$2; shift 2 ;;
            --partition) partition=$2; shift 2 ;;
            --node) node_names+=("$2"); node_addrs+=("$3"); shift 3 ;;
            *) echo "slurm_conf_write: unknown option '$1'" >&2; return 2 ;;
        esac
    done
    local v
    for v in comment cluster ctld_host socket state spool ctld_pid slurmd_pid ctld_log slurmd_log tmpfs cpus partition; do
        [[ -n ${!v} ]] || { echo "slurm_conf_write: --${v//_/-} is required" >&2; return 2; }
    done
    [[ ${#node_names[@]} -gt 0 ]] || { echo "slurm_conf_write: give at least one --node" >&2; return 2; }
    local i all
    all=$(IFS=,; echo "${node_names[*]}")
    {
        echo "# $comment"
        echo "ClusterName=$cluster"
        echo "SlurmctldHost=$ctld_host"
        if [[ -n $ctld_port ]]; then
            echo "SlurmctldPort=$ctld_port"
            echo "SlurmdPort=$slurmd_port"
        fi
        cat <<CONF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$state
SlurmdSpoolDir=$spool
SlurmctldPidFile=$ctld_pid
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$ctld_log
SlurmdLogFile=$slurmd_log
TmpFS=$tmpfs
FirstJobId=$(slurm_first_job_id)
# No systemd or cgroups here: track processes through /proc, no binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Debian's Open MPI has PMIx only (no PMI-1/2): srun --mpi=pmix.
MpiDefault=pmix
MailProg=/bin/true
# Refuse jobs larger than the cluster at once instead of leaving them pending forever.
EnforcePartLimits=ALL
ReturnToService=2
# The configured CPUs count, whatever this machine has or reports: nothing is bound.
SlurmdParameters=config_overrides
# Finished jobs stay visible to scontrol for 5 minutes (there is no accounting database).
MinJobAge=300
# Start a submitted batch job at once rather than batching submissions for up to 3 s.
SchedulerParameters=batch_sched_delay=0
KillWait=10
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
CONF
        for i in "${!node_names[@]}"; do
            echo "NodeName=${node_names[$i]} NodeAddr=${node_addrs[$i]} NodeHostname=${node_names[$i]} CPUs=$cpus" \
                "Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 State=UNKNOWN"
        done
        echo "PartitionName=$partition Nodes=$all Default=YES MaxTime=INFINITE State=UP"
    } >"$file"
}

# DIR LINES: the last LINES lines of every non-empty log under DIR/log, on stderr (after a
# failed start).
slurm_log_tails() {
    local f
    for f in "$1"/log/*; do
        [[ -s $f ]] || continue
        echo "---- $f (last $2 lines)" >&2
        tail -n "$2" "$f" >&2
    done
}
