"""`[job] order = "rounds"` end to end: a 2-rank run with a 2-rank cell and a 1-rank cell of
different trial counts stores every trial once, in round order (the trials table is appended as
trials finish, so its row order is the order they ran), and records the order as the run
attribute `order`; `--order cells` overrides the job; an interrupted rounds run resumes in
rounds order, whatever --order says, without repeating a trial.
"""
import signal

import pytest

import gbrun

JOB = """
[job]
name = "rounds"
order = "rounds"

[[cell]]
name = "both"
workload = "cpu"
work = 20_000
ranks = 2
warmups = 1
repeats = 2

[[cell]]
name = "one"
workload = "cpu"
work = 20_000
warmups = 0
repeats = 4
"""

# Trials of the io job below take at least 0.1 s each (one request at latency 0.1), so a
# SIGUSR1 sent after 3 finished trials always lands while many remain.
IO_JOB = """
[job]
name = "rounds-io"
order = "rounds"

[defaults]
workload = "io"
work = 1
scaling = "weak"
latency = 0.1
warmups = 1
repeats = 7

[[cell]]
name = "io-2"
ranks = 2

[[cell]]
name = "io-1"
"""


def trial_order(r):
    return [(int(t["cell"]), int(t["trial"])) for t in r["trials"]]


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "rounds.toml"
    path.write_text(JOB)
    return path


def test_rounds_order_runs_trial_k_of_every_cell_before_trial_k_plus_one(job, tmp_path):
    out = tmp_path / "r.h5"
    p = gbrun.run(2, "run", job, "-o", out, "-q")
    assert p.returncode == 0, p.stderr
    assert "in rounds" in p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert gbrun.text(r["attrs"]["order"]) == "rounds"
    assert gbrun.check_consistent(r) == []
    assert trial_order(r) == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2), (1, 3)]
    assert [gbrun.text(s) for s in r["summary"]["state"]] == ["complete", "complete"]
    assert r["summary"]["n"].tolist() == [2, 4]


def test_order_option_overrides_the_job(job, tmp_path):
    out = tmp_path / "c.h5"
    p = gbrun.run(2, "run", job, "-o", out, "-q", "--order", "cells")
    assert p.returncode == 0, p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["order"]) == "cells"
    assert trial_order(r) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (1, 3)]


def test_alternating_order_is_the_default_and_reverses_odd_rounds(job, tmp_path):
    default = tmp_path / "default.toml"
    default.write_text(JOB.replace('order = "rounds"\n', ""))
    out = tmp_path / "a.h5"
    p = gbrun.run(2, "run", default, "-o", out, "-q")
    assert p.returncode == 0, p.stderr
    assert "odd rounds in reverse order" in p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["order"]) == "alternating"
    assert gbrun.check_consistent(r) == []
    # round 0: both, one; round 1: one, both; round 2: both, one; round 3: one (both has 3 trials)
    assert trial_order(r) == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 2), (1, 2), (1, 3)]
    p = gbrun.run(None, "plan", default)
    assert p.returncode == 0 and '[job] order = "alternating", the default' in p.stdout, p.stdout


def test_plan_and_bad_order_values(job, tmp_path):
    p = gbrun.run(None, "plan", job)
    assert p.returncode == 0, p.stderr
    assert 'trials in rounds ([job] order = "rounds")' in p.stdout
    p = gbrun.run(None, "run", job, "-o", tmp_path / "x.h5", "--order", "round")
    assert p.returncode != 0 and "--order" in p.stderr, p.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(JOB.replace('order = "rounds"', 'order = "interleaved"'))
    p = gbrun.run(None, "validate", bad)
    assert p.returncode == 1
    assert "key 'order': must be \"alternating\"" in p.stderr and 'got "interleaved"' in p.stderr, p.stderr


def test_an_interrupted_rounds_run_resumes_in_rounds_order(tmp_path):
    job = tmp_path / "rounds-io.toml"
    job.write_text(IO_JOB)
    out = tmp_path / "io.h5"
    bg = gbrun.Background(2, "run", job, "-o", out, "--progress", "lines", "--no-calibration")
    try:
        bg.wait_for_lines(": trial ", 3)
        bg.signal(signal.SIGUSR1)
        rc, _, err = bg.finish(timeout=60)
    finally:
        bg.kill()
    assert rc == 128 + signal.SIGUSR1, err
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "interrupted"
    first = trial_order(r)
    assert 3 <= len(first) < 16, first
    # Round order up to the stop: (0, 0), (1, 0), (0, 1), (1, 1), ...
    assert first == [(i % 2, i // 2) for i in range(len(first))]

    p = gbrun.run(2, "run", job, "-o", out, "-q", "--resume", "--order", "cells", "--no-calibration")
    assert p.returncode == 0, p.stderr
    assert "the resumed run keeps its trial order 'rounds'; --order cells does not change it" in p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert gbrun.text(r["attrs"]["order"]) == "rounds"
    assert gbrun.check_consistent(r) == []
    done = trial_order(r)
    assert sorted(done) == [(c, t) for c in range(2) for t in range(8)]
    # The resumed start goes on round by round from where the first one stopped.
    rest = done[len(first):]
    assert rest == sorted(rest, key=lambda ct: (ct[1], ct[0]))
    assert [gbrun.text(s) for s in r["summary"]["state"]] == ["complete", "complete"]
