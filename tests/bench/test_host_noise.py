"""bench/host_noise.py: a plain CPython's trial-to-trial noise and its 2-thread ratio. Tiny runs
(a few hundredths of a second each); no timing assertion, only what every result must hold."""
import json
import os
import subprocess
import sys
from pathlib import Path

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SCRIPT = SOURCE / "bench" / "host_noise.py"

sys.path.insert(0, str(SCRIPT.parent))
import host_noise  # noqa: E402 -- from bench/, which is no package


def test_spread_is_median_and_quartiles():
    assert host_noise.spread([2.0]) == (2.0, 2.0, 2.0)
    assert host_noise.spread([1.0, 2.0, 3.0, 4.0, 5.0]) == (3.0, 2.0, 4.0)


def test_a_run_reports_its_figures_and_a_verdict_that_follows_them(tmp_path):
    out = tmp_path / "noise.json"
    p = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "3", "--seconds", "0.02", "--json", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    r = json.loads(out.read_text())
    assert r["rounds"] == 3 and r["steps"] > 0
    o, q = r["one_thread_s"], r["ratio_2t"]
    assert 0 < o["p25"] <= o["median"] <= o["p75"]
    assert 0 < q["p25"] <= q["median"] <= q["p75"]
    assert r["trial_noise"] >= 0 and r["ratio_noise"] >= 0
    assert r["steady_enough"] == (r["ratio_noise"] <= host_noise.BAND)
    assert ("verdict: steady enough" in p.stdout) == r["steady_enough"]
    assert ("verdict: too noisy" in p.stdout) == (not r["steady_enough"])
    assert r["rounds_for_band"] >= 3 and f"about {r['rounds_for_band']} rounds" in p.stdout


def test_bad_arguments_exit_2_naming_the_problem():
    p = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "0"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "--rounds" in p.stderr and "not above 0" in p.stderr
