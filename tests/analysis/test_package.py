"""analysis/ as a package: its pyproject names entry points that exist and every subpackage,
importing it (and writing a report) leaves matplotlib's global backend and pyplot alone, a
missing matplotlib is refused with the fix, and the checkout launchers run from anywhere."""
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import gilbench_analysis

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"


def pyproject():
    with open(ANALYSIS / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def run_python(code: str, *args, cwd=None):
    """`code` in a fresh interpreter (its own sys.modules and matplotlib state), with the
    package on the path as the tests have it."""
    env = dict(os.environ, PYTHONPATH=str(ANALYSIS))
    env.pop("MPLBACKEND", None)  # the package, not the environment, must keep pyplot out
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


def test_entry_points_name_the_cli_functions():
    scripts = pyproject()["project"]["scripts"]
    assert set(scripts) == {"gilbench-report", "gilbench-table"}
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        mod = __import__(module, fromlist=[attr])
        assert callable(getattr(mod, attr)), f"{name} = {target!r}: no such function"


def test_every_subpackage_is_listed():
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    root = Path(gilbench_analysis.__file__).parent
    found = {".".join(p.parent.relative_to(root.parent).parts) for p in root.rglob("__init__.py")}
    assert listed == found, f"[tool.setuptools] packages: listed {sorted(listed)}, found {sorted(found)}"


def test_writing_a_report_leaves_pyplot_and_the_backend_alone(results_file, tmp_path):
    code = """if True:
        import sys
        import matplotlib
        before = dict.__getitem__(matplotlib.rcParams, "backend")
        import gilbench_analysis
        from gilbench_analysis.report import ReportOptions, write_report
        written = write_report([("seed", gilbench_analysis.load(sys.argv[1]))], sys.argv[2], ReportOptions(html=False))
        assert written.figures, "no figures written"
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        after = dict.__getitem__(matplotlib.rcParams, "backend")
        assert after == before, f"backend changed from {before!r} to {after!r}"
        print("ok", len(written.figures))
    """
    p = run_python(code, results_file, tmp_path / "r")
    assert p.returncode == 0 and p.stdout.startswith("ok"), p.stderr


def test_report_without_matplotlib_names_the_fix(results_file, tmp_path):
    code = """if True:
        import sys
        sys.modules["matplotlib"] = None  # as if python3-matplotlib were not installed
        from gilbench_analysis.cli import report_main, table_main
        assert table_main([sys.argv[1]]) == 0  # the tables need no matplotlib
        sys.exit(report_main([sys.argv[1], "-o", sys.argv[2]]))
    """
    p = run_python(code, results_file, tmp_path / "r")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "gilbench-report: error: the report's figures need matplotlib: install python3-matplotlib" in p.stderr


def test_launchers_run_from_another_directory(results_file, tmp_path):
    for tool in ("gilbench-table", "gilbench-report"):
        p = subprocess.run([str(ANALYSIS / tool), "--help"], capture_output=True, text=True, timeout=60,
                           cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        assert p.returncode == 0 and f"usage: {tool}" in p.stdout, p.stderr
    p = subprocess.run([str(ANALYSIS / "gilbench-table"), str(results_file)], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert p.returncode == 0 and "status=complete" in p.stdout, p.stderr


@pytest.mark.parametrize("options", [[], ["--format", "csv", "--table", "cells"]])
def test_a_reader_that_goes_away_stops_the_table_quietly(results_file, options):
    # `gilbench-table FILE | head -n 1` with the reader gone before the first write: here the
    # read end is closed before the command has even loaded the file, so its first write fails,
    # however short the output (the text summary fits in the buffer, which is written at the end).
    # Like a Unix filter ended by SIGPIPE: status 141, no traceback, no "Exception ignored".
    p = subprocess.Popen([str(ANALYSIS / "gilbench-table"), str(results_file), *options], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=60) == 141, err
    assert err == "", err
