"""`repeats = "auto"` end to end on 2 ranks: the pilot runs, rank 0 fixes the rounds (stored as
auto_rounds and auto_rounds_reason), every cell runs to them with trial = round; the maximum and
the run's budget cap them; a run interrupted during the pilot or after the decision resumes to
the same plan without repeating a trial; a resume with other [job.auto] settings is refused.
Disturbed trials are kept (GILBENCH_DISTURBED=keep, set by ctest), so no retry adds trials.
"""
import signal

import gbrun

# Three comparisons: 2 threads and 2 ranks against 1 thread. Trials of at least 0.05 s (one
# request at latency 0.05), so a signal sent after some trials lands while many remain.
JOB = """
[job]
name = "auto"

[job.auto]
precision = {precision}
pilot = 3
max = {max}

[defaults]
repeats = "auto"
warmups = 1
workload = "io"
work = {work}
latency = 0.05

[[cell]]
name = "one"

[[cell]]
name = "two-threads"
threads = 2

[[cell]]
name = "two-ranks"
ranks = 2
"""


def write(tmp_path, precision=0.001, max=6, work=2):
    path = tmp_path / "auto.toml"
    path.write_text(JOB.format(precision=precision, max=max, work=work))
    return path


def per_cell(r):
    out = {}
    for t in r["trials"]:
        out.setdefault(int(t["cell"]), []).append((int(t["trial"]), int(t["round"])))
    return {c: sorted(v) for c, v in out.items()}


def assert_all_rounds(r, rounds):
    assert gbrun.check_consistent(r) == []
    # 1 warm-up, then `rounds` measured rounds, each trial in its own round
    assert per_cell(r) == {c: [(k, k) for k in range(1 + rounds)] for c in range(3)}, per_cell(r)


def test_the_pilot_fixes_the_rounds_up_to_the_maximum(tmp_path):
    out = tmp_path / "a.h5"
    p = gbrun.run(2, "run", write(tmp_path), "-o", out, "--progress", "lines", "--no-calibration")
    assert p.returncode == 0, p.stderr
    assert 'in its pilot (repeats = "auto": 3 rounds, then as many as they ask for, at most 6)' in p.stderr
    assert "the pilot fixed 6 rounds per cell (max: " in p.stderr, p.stderr
    assert 'repeats = "auto": 6 rounds (max: ' in p.stdout, p.stdout
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert gbrun.text(r["attrs"]["repeats_auto"]) == "precision=0.001 pilot=3 max=6 budget=0"
    assert int(r["attrs"]["auto_rounds"]) == 6
    reason = gbrun.text(r["attrs"]["auto_rounds_reason"])
    assert reason.startswith("max: '") and "against 'one'" in reason and "the maximum is 6" in reason, reason
    assert_all_rounds(r, 6)
    assert [gbrun.text(s) for s in r["summary"]["state"]] == ["complete"] * 3
    assert r["summary"]["n"].tolist() == [6, 6, 6]


def test_a_loose_precision_keeps_the_pilot(tmp_path):
    out = tmp_path / "b.h5"
    p = gbrun.run(2, "run", write(tmp_path, precision=1.0), "-o", out, "-q", "--no-calibration")
    assert p.returncode == 0, p.stderr
    r = gbrun.read_run(out)
    assert int(r["attrs"]["auto_rounds"]) == 3
    assert gbrun.text(r["attrs"]["auto_rounds_reason"]).startswith("precision: "), r["attrs"]
    assert_all_rounds(r, 3)


def test_the_run_budget_caps_the_rounds(tmp_path):
    # The pilot alone (4 rounds of 3 cells, >= 0.05 s each) takes longer than the budget.
    out = tmp_path / "c.h5"
    p = gbrun.run(2, "run", write(tmp_path, max=50), "-o", out, "-q", "--no-calibration", "--run-budget", "0.3")
    assert p.returncode == 0, p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["repeats_auto"]) == "precision=0.001 pilot=3 max=50 budget=0.3"
    assert int(r["attrs"]["auto_rounds"]) == 3
    assert "the budget of 0.3 s allows 3" in gbrun.text(r["attrs"]["auto_rounds_reason"]), r["attrs"]
    assert_all_rounds(r, 3)


def interrupt_after(tmp_path, out, pattern, count):
    bg = gbrun.Background(2, "run", write(tmp_path, max=8), "-o", out, "--progress", "lines", "--no-calibration")
    try:
        bg.wait_for_lines(pattern, count)
        bg.signal(signal.SIGUSR1)
        rc, _, err = bg.finish(timeout=60)
    finally:
        bg.kill()
    assert rc == 128 + signal.SIGUSR1, err
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "interrupted"
    assert gbrun.check_consistent(r) == []
    return r


def resume(tmp_path, out):
    p = gbrun.run(2, "run", write(tmp_path, max=8), "-o", out, "-q", "--resume", "--no-calibration")
    assert p.returncode == 0, p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert int(r["attrs"]["auto_rounds"]) == 8
    assert_all_rounds(r, 8)
    return r


def test_a_run_stopped_in_its_pilot_decides_on_resume(tmp_path):
    out = tmp_path / "d.h5"
    r = interrupt_after(tmp_path, out, ": trial ", 2)
    assert int(r["attrs"]["auto_rounds"]) == 0 and len(r["trials"]) < 12, r["trials"]
    resume(tmp_path, out)


def test_a_run_stopped_after_the_decision_resumes_to_its_rounds(tmp_path):
    out = tmp_path / "e.h5"
    r = interrupt_after(tmp_path, out, "the pilot fixed", 1)
    assert int(r["attrs"]["auto_rounds"]) == 8
    assert 12 <= len(r["trials"]) < 27, len(r["trials"])
    before = {(int(t["cell"]), int(t["trial"])): float(t["wall_s"]) for t in r["trials"]}
    after = resume(tmp_path, out)
    kept = {(int(t["cell"]), int(t["trial"])): float(t["wall_s"]) for t in after["trials"]}
    assert all(kept[k] == v for k, v in before.items())


def test_a_resume_must_keep_the_settings_and_options_need_auto(tmp_path):
    out = tmp_path / "f.h5"
    interrupt_after(tmp_path, out, ": trial ", 2)
    p = gbrun.run(2, "run", write(tmp_path, max=8), "-o", out, "-q", "--resume", "--precision", "0.5")
    assert p.returncode == 1
    assert "was started with repeats = \"auto\" settings 'precision=0.001 pilot=3 max=8 budget=0'" in p.stderr, p.stderr
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(JOB.format(precision=0.1, max=6, work=2).replace('repeats = "auto"', "repeats = 2"))
    p = gbrun.run(None, "run", fixed, "-o", tmp_path / "g.h5", "--precision", "0.1")
    assert p.returncode == 1 and "--repeats auto" in p.stderr, p.stderr
