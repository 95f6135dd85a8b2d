"""Bad input to `gilbench` gets one clear line on stderr and a non-zero exit, before any work."""
import os
import subprocess
from pathlib import Path


GILBENCH = os.environ.get("GILBENCH", "gilbench")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SEED = SOURCE / "jobs" / "seed.toml"
TINY_IO = """
[[cell]]
workload = "io"
work = 2
"""


def gilbench(*args, np=1, timeout=120):
    cmd = [MPIEXEC, "-n", str(np), GILBENCH, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def error_lines(proc):
    return [l for l in proc.stderr.splitlines() if l.startswith("gilbench: error")]


def test_missing_job_file(tmp_path):
    p = gilbench("run", tmp_path / "nope.toml", "-o", tmp_path / "x.h5")
    assert p.returncode != 0
    assert len(error_lines(p)) == 1, p.stderr
    assert "nope.toml: cannot open the job file" in p.stderr
    assert not (tmp_path / "x.h5").exists()


def test_invalid_job_file_names_line_and_key(tmp_path):
    job = tmp_path / "bad.toml"
    job.write_text("[[cell]]\nworkload = 'cpu'\nwork = 10\nthreds = 2\n")
    p = gilbench("run", job, "-o", tmp_path / "x.h5")
    assert p.returncode != 0
    assert "bad.toml:4: key 'threds': is not a cell setting" in p.stderr
    assert not (tmp_path / "x.h5").exists()


def test_too_few_ranks_says_how_many(tmp_path):
    p = gilbench("run", SEED, "-o", tmp_path / "x.h5", np=1)
    assert p.returncode != 0
    assert "needs 2 ranks, got 1: run with mpirun -np 2" in p.stderr
    assert not (tmp_path / "x.h5").exists()


def test_unreachable_url(tmp_path):
    job = tmp_path / "io.toml"
    job.write_text(TINY_IO)
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    p = gilbench("run", job, "-o", tmp_path / "x.h5", "--url", "http://127.0.0.1:9/")
    assert p.returncode != 0
    assert len(error_lines(p)) == 1, p.stderr
    assert "cannot reach --url/url 'http://127.0.0.1:9/'" in p.stderr


def test_url_must_be_http(tmp_path):
    job = tmp_path / "io.toml"
    job.write_text(TINY_IO)
    p = gilbench("run", job, "--url", "file:///etc/passwd", "-o", tmp_path / "x.h5")
    assert p.returncode != 0
    assert "is not an http:// or https:// URL" in p.stderr


def test_unwritable_output(tmp_path):
    job = tmp_path / "io.toml"
    job.write_text(TINY_IO)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = gilbench("run", job, "-o", blocker / "x.h5")
    assert p.returncode != 0
    assert "cannot write results to" in p.stderr


def test_output_of_another_kind_is_refused_not_overwritten(tmp_path):
    job = tmp_path / "io.toml"
    job.write_text(TINY_IO)
    other = tmp_path / "notes.h5"
    other.write_text("precious notes")
    p = gilbench("run", job, "-o", other)
    assert p.returncode != 0
    assert "cannot write results to" in p.stderr
    assert other.read_text() == "precious notes"


def test_second_run_is_added_to_the_same_file(tmp_path):
    import h5py  # a dependency (python3-h5py): its absence is a failure, not a skip
    job = tmp_path / "io.toml"
    job.write_text(TINY_IO + "latency = 0.01\nrepeats = 1\nwarmups = 0\n")
    out = tmp_path / "r.h5"
    for _ in range(2):
        p = gilbench("run", job, "-o", out, "-q")
        assert p.returncode == 0, p.stderr
    with h5py.File(out, "r") as f:
        assert sorted(f["runs"]) == ["run-000", "run-001"]


def test_validate_and_plan():
    ok = subprocess.run([GILBENCH, "validate", str(SEED)], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "ok, 12 cells, needs 2 ranks" in ok.stdout  # six per engine
    plan = subprocess.run([GILBENCH, "plan", str(SEED)], capture_output=True, text=True, timeout=30)
    assert plan.returncode == 0
    assert plan.stdout.count("cpu-") == 6 and plan.stdout.count("io-") == 6
    assert plan.stdout.count("-cpython ") == 6 and plan.stdout.count(" cpython ") == 6, plan.stdout


def test_plan_expands_sweeps_without_running():
    job = SOURCE / "jobs" / "scaling.toml"
    plan = subprocess.run([GILBENCH, "plan", str(job)], capture_output=True, text=True, timeout=30)
    assert plan.returncode == 0, plan.stderr
    assert "job 'scaling': 64 cells" in plan.stdout and "needs mpirun -np 4" in plan.stdout
    for name in ("cpu-strong-1x1", "cpu-weak-4x4", "io-strong-3x2", "io-weak-2x4"):
        assert f" {name} " in plan.stdout, name
    # --threads collapses the threads lists, as `run --threads` would
    t = subprocess.run([GILBENCH, "plan", str(job), "--threads", "2"], capture_output=True, text=True, timeout=30)
    rows = [l for l in t.stdout.splitlines() if l.strip()[:1].isdigit()]
    assert len(rows) == 64 and all(l.split()[4] == "2" for l in rows)


def test_validate_names_file_line_and_key_in_a_sweep(tmp_path):
    job = tmp_path / "sweep.toml"
    job.write_text("[[cell]]\nname = '{scaling}'\nworkload = 'cpu'\nscaling = ['strong', 'weak']\n"
                   "work = [10, 20, 30]\nzip = ['scaling', 'work']\n")
    p = subprocess.run([GILBENCH, "validate", str(job)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f"{job}:5: key 'work': has 3 values but 'scaling' has 2" in p.stderr, p.stderr
