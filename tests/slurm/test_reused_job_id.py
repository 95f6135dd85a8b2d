"""A job id used again (issue 29): a reset or reinstalled controller numbers its jobs from the
start again, so a fresh Slurm's first job can find a complete results file that an earlier
job with the same id, of a cluster with the same name, left in the submit directory. The job
must leave that file alone and run to success in a new one (docs/cluster.md, section 5).

The earlier job's file is written by gilbench itself with that job's Slurm variables (the
batch_job attribute a real job of the earlier controller would have stored), then a cluster of
this test's own, which has run no job yet, runs slurm/seed.sbatch as its first job."""
import re

from slurm_cluster import SOURCE, read_runs

SEED = SOURCE / "slurm" / "seed.sbatch"
TINY = SOURCE / "tests" / "slurm" / "tiny.toml"


def conf_value(cluster, key):
    text = (cluster.folder / "slurm.conf").read_text()
    return re.search(rf"^{key}=(\S+)$", text, re.M).group(1)


def test_first_job_runs_beside_an_earlier_jobs_complete_file(fresh_cluster, tmp_path):
    cluster = fresh_cluster
    first, name = conf_value(cluster, "FirstJobId"), conf_value(cluster, "ClusterName")
    earlier = tmp_path / "results" / f"tiny-{first}.h5"
    # The earlier controller's job <first>, as its ranks saw it; mpirun itself outside Slurm.
    cluster.run("mpirun", "-np", "2", "--bind-to", "none", "-x", f"SLURM_JOB_ID={first}",
                "-x", f"SLURM_CLUSTER_NAME={name}", cluster.env["GILBENCH"], "run", TINY, "-o", earlier, "-q",
                cwd=tmp_path, timeout=120)
    (before,) = read_runs(earlier).values()
    assert before[0]["status"] == "complete" and before[0]["batch_job"] == f"{name}/{first}"
    content = earlier.read_bytes()

    p = cluster.run("sbatch", "--wait", "--parsable", SEED, TINY, cwd=tmp_path, timeout=180, check=False)
    job = p.stdout.strip()
    assert job == first, f"not the cluster's first job: {job}, FirstJobId {first}"
    assert p.returncode == 0, f"sbatch --wait exited {p.returncode}: {p.stderr}\n{cluster.job_outputs()}"
    log = (tmp_path / f"gilbench-seed-{job}.out").read_text()
    assert (f"results/tiny-{job}.h5 holds an earlier job's run with this job's id (cluster {name}, job {job}, "
            f"started {before[0]['started_utc']}, complete; this job is a first start, not a requeue): "
            f"writing results/tiny-{job}-2.h5") in log, log
    assert f"done: results in {tmp_path}/results/tiny-{job}-2.h5" in log

    assert earlier.read_bytes() == content, "the earlier job's file was changed"
    runs = read_runs(tmp_path / "results" / f"tiny-{job}-2.h5")
    assert list(runs) == ["run-000"]
    attrs, trials, cells = runs["run-000"]
    assert attrs["status"] == "complete" and len(trials) == len(cells) * 2
    # The ranks under srun saw the same Slurm variables the script compared.
    assert attrs["batch_job"] == f"{name}/{job}"
