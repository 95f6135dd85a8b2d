"""slurm/scaling.sbatch: nodes x tasks per node x CPUs per task become ranks (and, on request,
threads per rank); launched with srun --mpi=pmix, or with mpirun inside the allocation."""
import pytest

from slurm_cluster import SOURCE, read_runs

SCALING = SOURCE / "slurm" / "scaling.sbatch"
TINY = SOURCE / "tests" / "slurm" / "tiny.toml"
SHAPE = ("-N", "1", "--ntasks-per-node", "2", "--cpus-per-task", "2")


# mpirun binds for real (hwloc sees this machine's cores, maybe 2), so it gets 1 CPU per task;
# srun under task/none binds nothing and may use the node's configured 4 CPUs.
@pytest.mark.parametrize("launcher,cpus", [("srun", 2), ("mpirun", 1)])
def test_scaling_job_runs_one_rank_per_task(cluster, tmp_path, launcher, cpus):
    shape = ("-N", "1", "--ntasks-per-node", "2", "--cpus-per-task", str(cpus))
    job = cluster.sbatch(*shape, SCALING, TINY, "--", "-q", cwd=tmp_path, env={"GILBENCH_LAUNCHER": launcher})
    (record,) = cluster.wait(job)
    assert record["ExitCode"] == "0:0", cluster.job_outputs()
    attrs, trials, cells = read_runs(tmp_path / "results" / f"tiny-{job}.h5")["run-000"]
    assert attrs["status"] == "complete" and int(attrs["ranks"]) == 2
    assert [int(c["threads"]) for c in cells] == [1, 2, 1, 1]  # the job's own threads
    log = (tmp_path / f"gilbench-scaling-{job}.out").read_text()
    assert f"1 node(s) {record['NodeList']}, 2 task(s), {cpus} CPU(s) per task" in log
    if launcher == "mpirun":
        assert "mpirun -np 2 --map-by ppr:2:node:PE=1 --bind-to core" in log
    else:
        assert "srun --mpi=pmix --cpu-bind=cores" in log


def test_threads_from_slurm_cpus_per_task(cluster, tmp_path):
    job = cluster.sbatch(*SHAPE, SCALING, TINY, "--", "-q", cwd=tmp_path, env={"GILBENCH_THREADS_FROM_SLURM": "1"})
    (record,) = cluster.wait(job)
    assert record["ExitCode"] == "0:0", cluster.job_outputs()
    _, _, cells = read_runs(tmp_path / "results" / f"tiny-{job}.h5")["run-000"]
    assert {int(c["threads"]) for c in cells} == {2}
    assert "--threads 2" in (tmp_path / f"gilbench-scaling-{job}.out").read_text()
