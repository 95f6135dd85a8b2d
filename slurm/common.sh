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

# results/<job>-<jobid>[_<task>].h5, <job> being the job file's name without .toml. The id may
# carry a suffix, "<jobid>-<n>": the name a job takes when another job's file has its own.
gb_results_name() {
  local stem id=$2 task=${3:-}
  stem=$(basename "$1" .toml)
  echo "results/${stem}-${id}${task:+_$task}.h5"
}

# This job as gilbench names it in each run it writes (attribute batch_job; cli::batch_job
# spells the same text): "<cluster>/<jobid>", an array task "<cluster>/<arrayjobid>_<task>".
gb_batch_job() {
  local id=$SLURM_JOB_ID
  if [[ -n ${SLURM_ARRAY_JOB_ID:-} && -n ${SLURM_ARRAY_TASK_ID:-} ]]; then
    id=${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID
  fi
  echo "${SLURM_CLUSTER_NAME:-}/$id"
}

# A string attribute of a results file (FILE, its path in the file), printed; fails where the
# file or the attribute cannot be read. h5dump prints the value quoted, alone in its DATA block
# (-y: no index, -w 0: no wrapping); HDF5's lock is off for this reader, as for any reader of a
# file that may be open for writing. The text is data: compared and printed, never run.
gb_h5_string() {
  local out value
  out=$(HDF5_USE_FILE_LOCKING=FALSE h5dump -y -w 0 -a "$2" "$1" 2>/dev/null) || return 1
  value=$(awk '/^   DATA \{$/ { on = 1; next } on && /^   \}$/ { exit } on { print }' <<<"$out")
  [[ $value == *\"*\" ]] || return 1
  value=${value#*\"}
  printf '%s\n' "${value%\"*}"
}

# The latest run of a results file (the highest run-NNN: gilbench numbers runs in the order it
# makes them). Sets GB_RUN_BATCH_JOB, GB_RUN_HAS_BATCH_JOB (0: written before the attribute),
# GB_RUN_STATUS and GB_RUN_STARTED; where it cannot, GB_RUN_PROBLEM says why and it returns 1.
gb_read_latest_run() {
  local file=$1 out line number best=-1 run=""
  GB_RUN_BATCH_JOB="" GB_RUN_HAS_BATCH_JOB=0 GB_RUN_STATUS="" GB_RUN_STARTED="" GB_RUN_PROBLEM=""
  if ! command -v h5dump >/dev/null; then
    GB_RUN_PROBLEM="no h5dump to read it: install hdf5-tools or load the HDF5 module"; return 1
  fi
  if ! out=$(HDF5_USE_FILE_LOCKING=FALSE h5dump -n "$file" 2>/dev/null); then
    GB_RUN_PROBLEM="h5dump cannot read it"; return 1
  fi
  while IFS= read -r line; do
    if [[ $line =~ ^\ group\ +/runs/run-([0-9]{1,9})$ ]]; then
      number=$((10#${BASH_REMATCH[1]}))
      if (( number > best )); then best=$number run=run-${BASH_REMATCH[1]}; fi
    fi
  done <<<"$out"
  [[ -n $run ]] || { GB_RUN_PROBLEM="it holds no run"; return 1; }
  if GB_RUN_BATCH_JOB=$(gb_h5_string "$file" "/runs/$run/batch_job"); then GB_RUN_HAS_BATCH_JOB=1; fi
  GB_RUN_STATUS=$(gb_h5_string "$file" "/runs/$run/status") || GB_RUN_STATUS="status unknown"
  GB_RUN_STARTED=$(gb_h5_string "$file" "/runs/$run/started_utc") || GB_RUN_STARTED="?"
  [[ $GB_RUN_STATUS != running ]] || gb_running_as_read "$file" "$run"
  return 0
}

# A run that says "running" is read as the analysis reads it (analysis/gilbench_analysis/
# writer.py): its writer (attribute `writer`, "pid N on host H since T") on this host and gone,
# "interrupted (its writer is gone)"; on another host, "unknown (writer on host H, last seen T)",
# never relabelled. (Here the pid decides; the analysis also asks the writer lock.)
gb_running_as_read() {
  local writer seen
  writer=$(gb_h5_string "$1" "/runs/$2/writer") || return 0   # an older gilbench: as stored
  seen=$(gb_h5_string "$1" "/runs/$2/heartbeat_utc") || seen="?"
  [[ $writer =~ ^pid\ ([0-9]+)\ on\ host\ ([^ ]+)\ since ]] || return 0
  if [[ ${BASH_REMATCH[2]} != "$(uname -n)" ]]; then
    GB_RUN_STATUS="unknown (writer on host ${BASH_REMATCH[2]}, last seen $seen)"
  elif ! kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then
    GB_RUN_STATUS="interrupted (its writer is gone)"
  fi
}

# Whose run gb_read_latest_run found, for the log: "cluster C, job J, started T, complete".
# Characters a terminal would act on are shown as '?'.
gb_describe_run() {
  local who
  if [[ $GB_RUN_HAS_BATCH_JOB -eq 0 ]]; then who="no batch_job attribute: an older gilbench"
  elif [[ -z $GB_RUN_BATCH_JOB ]]; then who="not in a batch job"
  else who="cluster ${GB_RUN_BATCH_JOB%/*}, job ${GB_RUN_BATCH_JOB##*/}"
  fi
  who="$who, started $GB_RUN_STARTED, $GB_RUN_STATUS"
  echo "${who//[^[:print:]]/?}"
}

# The file a job without --resume writes, and whether it continues it: sets GB_OUTPUT,
# GB_OUTPUT_ID (the id in its name, for --resume) and GB_OWN_RUN (1: resume it). $1: job file;
# $2: the job id of the name; $3: array task id (empty outside arrays).
#
# A file by this job's name is its own only where Slurm restarted the job (SLURM_RESTART_COUNT
# > 0: a requeue, a node failure, preemption) and the file's latest run was written by this same
# batch job. Job ids repeat (a reinstalled or reset controller starts again at 1, two clusters
# share a home directory), so any other file, and every file a first start finds, is left alone:
# the job writes the first free results/<job>-<jobid>-<n>.h5 (n = 2, 3, ...) instead. A restart
# resumes the highest-numbered file of its own, the one its first start made (names are taken
# in order, so an earlier job of the same cluster and id holds lower ones), unless that run is
# complete already: then it starts anew in the next free name too.
gb_pick_own_output() {
  local job=$1 id=$2 task=$3 me restarts=${SLURM_RESTART_COUNT:-0} candidate n=1 i last=-1 line
  local files=() ids=() whose=() status=() about=()   # per file found
  me=$(gb_batch_job)
  [[ $restarts =~ ^[0-9]+$ ]] || restarts=0
  candidate=$(gb_results_name "$job" "$id" "$task") GB_OUTPUT_ID=$id
  while [[ -e $candidate ]]; do
    files+=("$candidate") ids+=("$GB_OUTPUT_ID")
    if ! gb_read_latest_run "$candidate"; then
      whose+=(unknown) status+=("") about+=("$GB_RUN_PROBLEM")
    else
      status+=("$GB_RUN_STATUS") about+=("$(gb_describe_run)")
      if [[ $GB_RUN_HAS_BATCH_JOB -eq 1 && $GB_RUN_BATCH_JOB == "$me" ]]; then
        whose+=(this-id) last=$(( ${#files[@]} - 1 ))
      else
        whose+=(other)
      fi
    fi
    n=$((n + 1))
    candidate=$(gb_results_name "$job" "$id-$n" "$task") GB_OUTPUT_ID=$id-$n
  done
  GB_OWN_RUN=0
  if [[ $restarts -gt 0 && $last -ge 0 && ${status[last]} != complete ]]; then
    GB_OUTPUT=${files[last]} GB_OUTPUT_ID=${ids[last]} GB_OWN_RUN=1
    gb_log "restart $restarts of job $me: ${files[last]} holds this job's run (${about[last]})"
    return 0
  fi
  GB_OUTPUT=$candidate
  for ((i = 0; i < ${#files[@]}; i++)); do
    case ${whose[i]} in
      unknown) line="${files[i]}: cannot tell whose run it holds (${about[i]})" ;;
      other) line="${files[i]} holds another job's run (${about[i]})" ;;
      *)
        if [[ $restarts -gt 0 && $i -eq $last ]]; then
          line="${files[i]} holds this job id's run (${about[i]}): nothing left to resume"
        elif [[ $restarts -eq 0 ]]; then
          line="${files[i]} holds an earlier job's run with this job's id (${about[i]}; this job is a first start, not a requeue)"
        else
          line="${files[i]} holds an earlier job's run with this job's id (${about[i]})"
        fi ;;
    esac
    if (( i + 1 < ${#files[@]} )); then gb_log "$line"; else gb_log "$line: writing $GB_OUTPUT"; fi
  done
}

# Sets GB_OUTPUT, GB_OUTPUT_ID and GB_RESUME_ARGS. $1: job file; $2: what --resume named (a
# file, a job id, or empty); $3: array task id (empty outside arrays).
gb_choose_output() {
  local job=$1 resume=$2 task=${3:-} id=${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}
  GB_RESUME_ARGS=()
  if [[ -z $resume ]]; then
    gb_pick_own_output "$job" "$id" "$task"
    [[ $GB_OWN_RUN -eq 1 ]] || return 0
    resume=$GB_OUTPUT
  elif [[ $resume == *.h5 || $resume == */* ]]; then
    [[ -z $task ]] || gb_die "--resume in an array takes the array's job id, not a file: one file per task"
    GB_OUTPUT=$resume GB_OUTPUT_ID=""
  else
    [[ $resume =~ ^[0-9]+(-[0-9]+)?$ ]] ||
      gb_die "--resume '$resume': give a results file (.h5) or the job id of the run to continue (as in its file name: 4242, 4242-2)"
    GB_OUTPUT=$(gb_results_name "$job" "$resume" "$task") GB_OUTPUT_ID=$resume
  fi
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
