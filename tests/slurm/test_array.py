"""slurm/sweep-array.sbatch: an array of two tasks gives two results files."""
import subprocess

from slurm_cluster import SOURCE, read_runs

SWEEP = SOURCE / "slurm" / "sweep-array.sbatch"
TINY = SOURCE / "tests" / "slurm" / "tiny.toml"


def test_two_task_array_gives_two_files(cluster, tmp_path):
    array = cluster.sbatch("--array=0-1", SWEEP, TINY, "--sweep", "gil=new,old", "--", "-q", cwd=tmp_path)
    records = cluster.wait(array)
    assert sorted(r["ArrayTaskId"] for r in records) == ["0", "1"]
    assert all(r["ExitCode"] == "0:0" for r in records), cluster.job_outputs()
    files = sorted((tmp_path / "results").glob("*.h5"))
    assert [f.name for f in files] == [f"tiny-{array}_0.h5", f"tiny-{array}_1.h5"]
    for task, gil in enumerate(["new", "old"]):
        runs = read_runs(files[task])
        attrs, trials, cells = runs["run-000"]
        assert list(runs) == ["run-000"] and attrs["status"] == "complete"
        assert {c["gil"].decode() for c in cells} == {gil}
        assert len(trials) == 8
        assert (tmp_path / f"gilbench-sweep-{array}_{task}.out").exists()


def test_list_shows_tasks_and_range(tmp_path):
    # Needs no Slurm: --list only expands the sweep.
    p = subprocess.run(["bash", SWEEP, "--list", TINY, "--sweep", "gil=new,old", "--sweep", "repeats=1,2,3"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True)
    lines = p.stdout.splitlines()
    assert lines[0] == f"task 0: {TINY} --gil new --repeats 1"
    assert lines[5] == f"task 5: {TINY} --gil old --repeats 3"
    assert lines[6].startswith("submit with: sbatch --array=0-5 slurm/sweep-array.sbatch")


def test_task_beyond_the_sweep_is_refused(cluster, tmp_path):
    array = cluster.sbatch("--array=2", SWEEP, TINY, "--sweep", "gil=new,old", cwd=tmp_path)
    (record,) = cluster.wait(array)
    assert record["ExitCode"] == "2:0"
    text = (tmp_path / f"gilbench-sweep-{array}_2.out").read_text()
    assert "array task 2 has nothing to run: the sweep has 2 task(s), submit with --array=0-1" in text
