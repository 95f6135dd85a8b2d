# shellcheck shell=bash disable=SC2034  # GB_* variables are read by the scripts that source this
# Shared by the batch scripts in slurm/ (sourced, not run). One place for: finding gilbench,
# naming the results file, resuming, launching the step, and passing Slurm's time-limit
# warning on to gilbench. See docs/cluster.md.
#
# Settings (environment; sbatch passes the submitting shell's environment to the job):
#   GILBENCH            the binary (default: $GILBENCH_ROOT/build/gilbench; for an installed tree its
#                       own bin/gilbench; else gilbench on PATH)
#   GILBENCH_ROOT       the gilbench checkout (default: the submit directory), or an installed
#                       gilbench's share/gilbench (default there: GILBENCH_SHARE, which
#                       `module load gilbench` sets, else the one next to gilbench on PATH)
#   GILBENCH_LAUNCHER   srun (default; srun --mpi=pmix) or mpirun (sites without PMIx in Slurm)
#   GILBENCH_CPU_BIND   srun --cpu-bind value (default: cores; "none" to switch binding off)
#   GILBENCH_THREADS_FROM_SLURM=1   run every cell with --threads $SLURM_CPUS_PER_TASK
#   GILBENCH_ARGS       extra `gilbench run` options, split on spaces (e.g. "--repeats 5 -q")
#   GILBENCH_JOB, GILBENCH_RESUME   the job file(s) and --resume value when not given as arguments

gb_log() { echo "gilbench-slurm: $*" >&2; }
gb_die() { echo "gilbench-slurm: error: $*" >&2; exit 2; }

# Checks the context, finds the binary, moves to the submit directory. $1: the script's name
# as users type it (for messages: the spool copy Slurm runs has another name).
gb_init() {
  GB_SCRIPT=$1
  GB_SBATCH_OPTS=()
  [[ -n ${SLURM_JOB_ID:-} ]] || gb_die "not inside a Slurm job: submit with 'sbatch $GB_SCRIPT ...'"
  cd "${SLURM_SUBMIT_DIR:?}" || gb_die "cannot enter the submit directory '$SLURM_SUBMIT_DIR'"
  if [[ -z ${GILBENCH:-} ]]; then
    if [[ -x $GILBENCH_ROOT/build/gilbench ]]; then GILBENCH=$GILBENCH_ROOT/build/gilbench
    elif gb_installed && [[ -x ${GILBENCH_ROOT%/share/gilbench}/bin/gilbench ]]; then
      GILBENCH=${GILBENCH_ROOT%/share/gilbench}/bin/gilbench   # the binary that goes with these jobs
    elif command -v gilbench >/dev/null; then GILBENCH=$(command -v gilbench)
    else gb_die "no gilbench binary: build it (scripts/build.sh), load its module, or set GILBENCH=/path/to/gilbench"
    fi
  fi
  [[ -x $GILBENCH ]] || gb_die "GILBENCH='$GILBENCH' is not an executable file"
  GB_HELP=$("$GILBENCH" run --help 2>&1) || gb_die "'$GILBENCH run --help' failed: $GB_HELP"
  mkdir -p results || gb_die "cannot create results/ in $PWD"
  # Slurm >= 22.05: srun no longer inherits --cpus-per-task from the job; without this a step
  # gets one CPU per task whatever the job asked for.
  if [[ -n ${SLURM_CPUS_PER_TASK:-} ]]; then export SRUN_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK; fi
}

# Whether GILBENCH_ROOT is an installed gilbench (P/share/gilbench) rather than a checkout.
gb_installed() { [[ $GILBENCH_ROOT == */share/gilbench ]]; }

# How users name a script of slurm/ (for messages): relative in a checkout, where they submit
# from its root; the full path in an installed tree, which is not the submit directory.
gb_self() { if gb_installed; then echo "$GILBENCH_ROOT/$1"; else echo "$1"; fi; }

gb_supports() { grep -q -- "$1" <<<"$GB_HELP"; }

# A job file named on the command line, in GILBENCH_JOB, or the script's default.
gb_check_job() {
  [[ -f $1 ]] || gb_die "job file '$1' not found (relative paths start at the submit directory $PWD)"
}

# results/<job>-<jobid>[_<task>].h5, <job> being the job file's name without .toml.
gb_results_name() {
  local stem id=$2 task=${3:-}
  stem=$(basename "$1" .toml)
  echo "results/${stem}-${id}${task:+_$task}.h5"
}

# Sets GB_OUTPUT and GB_RESUME_ARGS. $1: job file; $2: what --resume named (a file, a job id,
# or empty); $3: array task id (empty outside arrays).
gb_choose_output() {
  local job=$1 resume=$2 task=${3:-} id=${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}
  GB_RESUME_ARGS=()
  if [[ -z $resume ]]; then
    GB_OUTPUT=$(gb_results_name "$job" "$id" "$task")
    # Same job id and the file is there: Slurm requeued this job (sbatch --requeue, node
    # failure, preemption, scontrol requeue). Continue, do not start over.
    [[ -e $GB_OUTPUT ]] && resume=$GB_OUTPUT
  elif [[ $resume == *.h5 || $resume == */* ]]; then
    [[ -z $task ]] || gb_die "--resume in an array takes the array's job id, not a file: one file per task"
    GB_OUTPUT=$resume
  else
    [[ $resume =~ ^[0-9]+$ ]] || gb_die "--resume '$resume': give a results file (.h5) or the job id of the run to continue"
    GB_OUTPUT=$(gb_results_name "$job" "$resume" "$task")
  fi
  [[ -n $resume ]] || return 0
  if [[ ! -e $GB_OUTPUT ]]; then
    gb_log "nothing to resume in $GB_OUTPUT (no such file): starting a new run there"
  elif gb_supports --resume; then
    GB_RESUME_ARGS=(--resume)
    gb_log "resuming the latest run in $GB_OUTPUT: finished trials are not repeated"
  else
    gb_log "warning: $GILBENCH has no --resume: a new run is added to $GB_OUTPUT and repeats every trial"
  fi
}

# Slurm's warning (--signal=B:USR1@...) and SIGTERM reach only this shell: pass them on to the
# step as SIGUSR1. srun and mpirun hand USR1 to every rank; TERM would make mpirun kill the
# ranks at once. Installed first thing, so an early signal does not kill the shell.
gb_forward() {
  GB_SIGNAL=$1
  gb_log "SIG$1${2:+ ($2)}: asking gilbench to stop after the current trial"
  [[ -z ${GB_STEP:-} ]] || kill -USR1 "$GB_STEP" 2>/dev/null
}
GB_SIGNAL="" GB_STEP=""
trap 'gb_forward USR1 "time limit near"' USR1
trap 'gb_forward TERM' TERM

# Runs `gilbench run ARGS...` as one step over the whole allocation, in the background, and
# waits; the trap above passes signals on, and gilbench then ends after the current trial,
# flushes and marks the run 'interrupted'. Returns gilbench's exit status in GB_RC.
gb_launch() {
  local launcher=${GILBENCH_LAUNCHER:-srun} cmd extra=()
  if [[ ${GILBENCH_THREADS_FROM_SLURM:-0} == 1 ]]; then
    [[ -n ${SLURM_CPUS_PER_TASK:-} ]] || gb_die "GILBENCH_THREADS_FROM_SLURM=1 needs --cpus-per-task in the job"
    gb_supports --threads || gb_die "GILBENCH_THREADS_FROM_SLURM=1: this gilbench has no --threads option (rebuild a newer one)"
    extra+=(--threads "$SLURM_CPUS_PER_TASK")
  fi
  # shellcheck disable=SC2206  # GILBENCH_ARGS is split on purpose
  [[ -n ${GILBENCH_ARGS:-} ]] && extra+=($GILBENCH_ARGS)
  case $launcher in
    srun)
      # --mpi=pmix: Debian's Open MPI has no PMI-1/2; another plugin starts N 1-rank worlds.
      cmd=(srun --mpi=pmix)
      [[ ${GILBENCH_CPU_BIND:-cores} == none ]] || cmd+=(--cpu-bind="${GILBENCH_CPU_BIND:-cores}")
      ;;
    mpirun)
      # Open MPI reads the allocation itself; place tasks per node and CPUs per task as Slurm would.
      local nodes=${SLURM_JOB_NUM_NODES:-1} ntasks=${SLURM_NTASKS:?the job has no task count (SLURM_NTASKS)}
      local per_node=${SLURM_NTASKS_PER_NODE:-$(( (ntasks + nodes - 1) / nodes ))}
      per_node=${per_node%%(*}   # "2(x3)" form when nodes differ
      cmd=(mpirun -np "$ntasks" --map-by "ppr:${per_node}:node:PE=${SLURM_CPUS_PER_TASK:-1}" --bind-to core)
      [[ ${GILBENCH_REPORT_BINDINGS:-0} == 1 ]] && cmd+=(--report-bindings)
      ;;
    *) gb_die "GILBENCH_LAUNCHER='$launcher': use srun or mpirun" ;;
  esac
  cmd+=("$GILBENCH" run "$@" -o "$GB_OUTPUT" "${GB_RESUME_ARGS[@]}" "${extra[@]}")

  local id=$SLURM_JOB_ID
  [[ -z ${SLURM_ARRAY_TASK_ID:-} ]] || id=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}
  gb_log "job $id: ${SLURM_JOB_NUM_NODES:-1} node(s) ${SLURM_JOB_NODELIST:-}, ${SLURM_NTASKS:-?} task(s), ${SLURM_CPUS_PER_TASK:-1} CPU(s) per task"
  gb_log "running: ${cmd[*]}"
  "${cmd[@]}" &
  GB_STEP=$!
  # A warning that came before the step existed is passed on now.
  [[ -z $GB_SIGNAL ]] || kill -USR1 "$GB_STEP" 2>/dev/null
  wait "$GB_STEP"; GB_RC=$?
  # A trapped signal cuts `wait` short (status > 128) while the step still runs: wait again.
  while [[ $GB_RC -gt 128 ]] && kill -0 "$GB_STEP" 2>/dev/null; do wait "$GB_STEP"; GB_RC=$?; done
}

# The last lines of the job's output: where the results are and how to finish them.
gb_report() {
  local resubmit=$1
  if [[ $GB_RC -eq 0 ]]; then
    gb_log "done: results in $PWD/$GB_OUTPUT"
  elif [[ -e $GB_OUTPUT ]]; then
    gb_log "gilbench exited with status $GB_RC${GB_SIGNAL:+ (stopped on SIG$GB_SIGNAL)}; finished trials are in $PWD/$GB_OUTPUT"
    gb_log "to finish the run: $resubmit"
  else
    gb_log "gilbench exited with status $GB_RC and wrote no results"
  fi
}

# Parses the script's arguments: [JOB.toml ...] [--resume FILE|JOBID] [--sweep NAME=V1,V2,...]
# [--list] [-- gilbench run options]. Sets GB_JOBS, GB_RESUME, GB_SWEEPS, GB_LIST, GB_RUN_ARGS.
gb_parse_args() {
  GB_JOBS=() GB_SWEEPS=() GB_RUN_ARGS=() GB_LIST=0 GB_RESUME=${GILBENCH_RESUME:-}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --resume) [[ $# -ge 2 ]] || gb_die "--resume needs a results file or a job id"; GB_RESUME=$2; shift 2 ;;
      --resume=*) GB_RESUME=${1#*=}; shift ;;
      --sweep) [[ $# -ge 2 ]] || gb_die "--sweep needs NAME=V1,V2,..."; GB_SWEEPS+=("$2"); shift 2 ;;
      --sweep=*) GB_SWEEPS+=("${1#*=}"); shift ;;
      --list) GB_LIST=1; shift ;;
      --) shift; GB_RUN_ARGS=("$@"); break ;;
      -h|--help) sed -n '2,/^#SBATCH/p' "${GB_SCRIPT_PATH:-/dev/null}" | grep -v '^#SBATCH' | sed 's/^# \{0,1\}//'; exit 0 ;;
      -*) gb_die "unknown option '$1': gilbench options go after '--' (e.g. -- --repeats 5)" ;;
      *) GB_JOBS+=("$1"); shift ;;
    esac
  done
  if [[ ${#GB_JOBS[@]} -eq 0 && -n ${GILBENCH_JOB:-} ]]; then
    read -r -a GB_JOBS <<<"$GILBENCH_JOB"
  fi
  return 0
}

# Words joined for a shell, quoted only where needed (printf %q also escapes commas).
gb_quote() {
  local w out=()
  for w in "$@"; do
    if [[ $w =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+=("$w"); else out+=("$(printf '%q' "$w")"); fi
  done
  echo "${out[*]}"
}

# The command that finishes an interrupted run, for the job's last lines. GB_SBATCH_OPTS: the
# sbatch options that gave this job its shape, when they matter to a resumed run.
gb_resubmit_hint() {
  local args=("$@")
  [[ ${#GB_RUN_ARGS[@]} -eq 0 ]] || args+=(-- "${GB_RUN_ARGS[@]}")
  gb_quote sbatch "${GB_SBATCH_OPTS[@]}" "$GB_SCRIPT" "${args[@]}"
}
