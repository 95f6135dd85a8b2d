"""slurm/seed.sbatch submitted as a user would (sbatch --wait) to the local Slurm, and
gilbench's own check that MPI sees every task Slurm started."""
from slurm_cluster import SOURCE, read_runs


def test_seed_sbatch_writes_its_results_file(cluster, tmp_path):
    # The seed job itself (jobs/seed.toml, the default), one trial per cell to stay short.
    p = cluster.run("sbatch", "--wait", "--parsable", SOURCE / "slurm" / "seed.sbatch",
                    "--", "--repeats", "1", "--warmups", "0", "--latency", "0.01", cwd=tmp_path, timeout=240,
                    check=False)
    job = p.stdout.strip()
    log = tmp_path / f"gilbench-seed-{job}.out"
    assert p.returncode == 0, f"sbatch --wait exited {p.returncode}: {p.stderr}\n{cluster.job_outputs()}"
    out = tmp_path / "results" / f"seed-{job}.h5"
    assert out.exists(), cluster.job_outputs()
    runs = read_runs(out)
    assert list(runs) == ["run-000"]
    attrs, trials, cells = runs["run-000"]
    assert attrs["status"] == "complete"
    assert int(attrs["ranks"]) == 2 and int(attrs["nodes"]) == 1
    assert len(cells) == 12 and len(trials) == 12  # six cells per engine
    text = log.read_text()
    assert "2 task(s), 2 CPU(s) per task" in text
    assert "srun --mpi=pmix" in text
    assert f"done: results in {tmp_path}/results/seed-{job}.h5" in text


def test_world_size_must_match_slurm_ntasks(cluster, tmp_path):
    # gilbench started without a launcher in a 2-task job: MPI sees 1 rank, Slurm says 2.
    job = tmp_path / "one.toml"
    job.write_text('[[cell]]\nworkload = "io"\nwork = 1\nrepeats = 1\nwarmups = 0\n')
    jid = cluster.sbatch("-n", "2", "-o", "direct.out", "--wrap", f"{cluster.env['GILBENCH']} run {job} -o x.h5",
                         cwd=tmp_path)
    (record,) = cluster.wait(jid)
    assert record["JobState"] == "FAILED" and record["ExitCode"] == "1:0"
    text = (tmp_path / "direct.out").read_text()
    assert ("gilbench: error: Slurm started 2 tasks but MPI sees 1 rank(s): launch with srun --mpi=pmix "
            "(or mpirun inside the allocation)") in text, text
    assert not (tmp_path / "x.h5").exists()
