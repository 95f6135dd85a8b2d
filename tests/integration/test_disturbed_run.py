"""Disturbed trials, live (issue 26): a run beside busy loops this test starts and stops itself
flags its trials disturbed (other processes' CPU), retries them at once in their round up to the
limit, leaves them out of the statistics, and says so; with --disturbed keep it counts them and
retries nothing. Bounded: two busy loops of at most 60 s, a job of ~5 s; ctest runs it alone
(RUN_SERIAL), as it loads the machine on purpose."""
import collections
import subprocess
import sys

import pytest

import gbrun

REPEATS = 3
JOB = f"""
[job]
name = "disturbed"

[defaults]
workload = "cpu"
work = 30_000_000     # ~0.12 s a trial: /proc/stat ticks (10 ms) resolve a busy core
warmups = 1
repeats = {REPEATS}

[[cell]]
name = "one"

[[cell]]
name = "two"
threads = 2
"""
BUSY = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass\n"


@pytest.fixture
def busy():
    """Two CPU-bound processes (one per core of a 2-core machine), stopped after the test."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def rows(r):
    return [(int(t["cell"]), int(t["trial"]), int(t["round"]), int(t["disturbed"]), gbrun.text(t["disturbance"]))
            for t in r["trials"]]


def test_a_busy_machine_flags_retries_and_leaves_out_its_trials(busy, tmp_path):
    job = tmp_path / "disturbed.toml"
    job.write_text(JOB)
    out = tmp_path / "d.h5"
    p = gbrun.run(1, "run", job, "-o", out, "--disturbed", "drop", "--progress", "lines", timeout=120)
    assert p.returncode == 0, p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["disturbed_trials"]) == "drop"
    assert gbrun.check_consistent(r) == []
    t = rows(r)
    flagged = [x for x in t if x[3]]
    assert flagged, t
    assert any("other processes used" in x[4] for x in flagged), flagged
    planned = 1 + REPEATS
    for cell in (0, 1):
        mine = [x for x in t if x[0] == cell]
        retries = [x for x in mine if x[1] >= planned]
        # Retries: trial numbers past the plan, each in the round of a measured trial it
        # repeats, at most 2 in a row per round and at most `repeats` per cell.
        assert len(retries) <= REPEATS, mine
        assert all(1 <= x[2] < planned for x in retries), retries
        per_round = collections.Counter(x[2] for x in retries)
        assert all(n <= 2 for n in per_round.values()), per_round
        # Only a disturbed trial is retried, and a clean retry ends its round's retries.
        for rnd, n in per_round.items():
            tries = sorted((x for x in mine if x[2] == rnd), key=lambda x: x[1])
            assert all(x[3] for x in tries[:-1]), tries
        assert [x[1] for x in mine if x[1] < planned] == list(range(planned))
    assert any(x[1] >= planned for x in t), t  # the machine stayed busy: some retry ran
    assert "(a retry of a disturbed trial)" in p.stderr, p.stderr
    # The statistics count clean measured trials only.
    for s in r["summary"]:
        c = int(s["cell"])
        clean = [x for x in t if x[0] == c and x[1] >= 1 and not x[3]]
        disturbed = [x for x in t if x[0] == c and x[1] >= 1 and x[3]]
        assert int(s["n"]) == len(clean) and int(s["disturbed_trials"]) == len(disturbed), (s, t)
    assert "disturbed" in p.stdout + p.stderr


def test_keep_counts_disturbed_trials_and_retries_none(busy, tmp_path):
    job = tmp_path / "disturbed.toml"
    job.write_text(JOB)
    out = tmp_path / "k.h5"
    p = gbrun.run(1, "run", job, "-o", out, "--disturbed", "keep", "-q", timeout=120)
    assert p.returncode == 0, p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["disturbed_trials"]) == "keep"
    t = rows(r)
    assert len(t) == 2 * (1 + REPEATS)               # no retries
    assert all(x[1] == x[2] for x in t)              # every trial its own round
    assert [int(s["n"]) for s in r["summary"]] == [REPEATS, REPEATS]
    assert sum(int(s["disturbed_trials"]) for s in r["summary"]) == sum(x[3] for x in t if x[1] >= 1)
    assert any(x[3] for x in t), t
