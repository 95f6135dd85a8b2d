"""The Lmod module file (packaging/lmod/gilbench.lua.in) under real Lmod (Debian's package lmod).

The template is rendered with packaging/lmod/render.cmake, as `cmake --install` renders it, for
a fake install prefix whose bin/gilbench is a shell script that echoes its arguments. Each test
then runs a clean bash (no profile, no rc files, HOME in tmp_path so Lmod's caches stay there)
that sources Lmod's init script and calls `module`.

Whether Lmod is installed is decided before pytest starts (tests/run_pytest.py --needs lmod);
here its absence is a failure. GILBENCH_LMOD_INIT names another init script (another distro).
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
TEMPLATE = SOURCE / "packaging" / "lmod" / "gilbench.lua.in"
RENDER = SOURCE / "packaging" / "lmod" / "render.cmake"
LMOD_INIT = os.environ.get("GILBENCH_LMOD_INIT", "/usr/share/lmod/lmod/init/bash")
CMAKE = shutil.which("cmake") or "/usr/bin/cmake"


def render(modulepath, prefix, version):
    """Renders the module for `prefix` into MODULEPATH/gilbench/<version>.lua and makes the fake
    install: prefix/bin/gilbench (echoes its arguments) and prefix/share/gilbench/jobs/."""
    out = modulepath / "gilbench" / f"{version}.lua"
    p = subprocess.run([CMAKE, f"-DIN={TEMPLATE}", f"-DOUT={out}", f"-DCMAKE_INSTALL_PREFIX={prefix}",
                        f"-DPROJECT_VERSION={version}", "-P", str(RENDER)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"render.cmake failed:\n{p.stdout}\n{p.stderr}"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    (prefix / "share" / "gilbench" / "jobs").mkdir(parents=True, exist_ok=True)
    fake = prefix / "bin" / "gilbench"
    fake.write_text(f'#!/bin/sh\necho "fake gilbench {version}: $*"\n')
    fake.chmod(0o755)
    return out


def lmod(script, home, check=True):
    """Runs `script` in a clean bash after Lmod's init. Returns (stdout, stderr)."""
    # Nothing of a module environment this test runs in may leak into it (LOADEDMODULES,
    # _LMFILES_, __LMOD_REF_COUNT_PATH...); PATH is kept so bash finds its tools.
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(("LMOD", "__LMOD", "_ModuleTable", "MODULE", "_LMFILES_", "LOADEDMODULES"))
                   or k in ("GILBENCH_SHARE", "GILBENCH"))}
    # Lmod drops duplicate PATH entries when it rewrites PATH; start without any, so that
    # "unload restores PATH" compares like with like.
    path = list(dict.fromkeys(os.environ.get("PATH", "/usr/bin:/bin").split(":")))
    env.update(HOME=str(home), LMOD_REDIRECT="no", PATH=":".join(path))
    p = subprocess.run(["bash", "--noprofile", "--norc", "-c", f'source "{LMOD_INIT}" || exit 99\n{script}'],
                       capture_output=True, text=True, timeout=60, env=env)
    if check:
        assert p.returncode == 0, f"bash exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p.stdout, p.stderr


@pytest.fixture
def installed(tmp_path):
    """(MODULEPATH, prefix) of one rendered gilbench 0.1.0."""
    assert Path(LMOD_INIT).is_file(), f"{LMOD_INIT} missing although run_pytest.py --needs lmod found it"
    modulepath, prefix = tmp_path / "modulefiles", tmp_path / "opt" / "gilbench-0.1.0"
    render(modulepath, prefix, "0.1.0")
    return modulepath, prefix


def test_rendered_file_names_the_prefix_and_leaves_no_placeholder(installed):
    modulepath, prefix = installed
    text = (modulepath / "gilbench" / "0.1.0.lua").read_text()
    assert "@" not in text.replace("@ONLY", ""), text
    assert f'local bindir  = "{prefix}/bin"' in text
    assert f'"{prefix}/share"' in text


def test_load_puts_gilbench_on_path_and_sets_gilbench_share(installed, tmp_path):
    modulepath, prefix = installed
    out, err = lmod(f'module use "{modulepath}"\nmodule load gilbench\n'
                    'command -v gilbench\necho "share=$GILBENCH_SHARE"\ngilbench run x.toml\n'
                    'ls "$GILBENCH_SHARE"\nmodule -t list 2>&1', tmp_path)
    lines = out.splitlines()
    assert lines[0] == f"{prefix}/bin/gilbench", out + err
    assert lines[1] == f"share={prefix}/share/gilbench"
    assert lines[2] == "fake gilbench 0.1.0: run x.toml"
    assert "jobs" in lines[3:]
    assert "gilbench/0.1.0" in lines


def test_unload_restores_path_and_unsets_gilbench_share(installed, tmp_path):
    modulepath, _ = installed
    out, err = lmod(f'module use "{modulepath}"\nbefore=$PATH\nmodule load gilbench\n'
                    '[[ $PATH != "$before" ]] || echo "load did not change PATH"\n'
                    'module unload gilbench\n[[ $PATH == "$before" ]] && echo "PATH restored" || echo "PATH=$PATH"\n'
                    'echo "share=[${GILBENCH_SHARE-unset}]"\ncommand -v gilbench || echo "no gilbench"', tmp_path)
    assert out.splitlines() == ["PATH restored", "share=[unset]", "no gilbench"], out + err


def test_help_and_whatis_say_version_prefix_and_mpi(installed, tmp_path):
    modulepath, prefix = installed
    out, err = lmod(f'module use "{modulepath}"\nmodule help gilbench\nmodule whatis gilbench', tmp_path)
    text = out + err  # Lmod writes help and whatis to stderr
    assert f"gilbench 0.1.0 (installed in {prefix})" in text
    assert "Version: 0.1.0" in text
    assert f"GILBENCH_SHARE   = {prefix}/share/gilbench" in text
    assert "Open MPI" in text and "not a module" in text


def test_a_second_version_replaces_the_first(installed, tmp_path):
    modulepath, first = installed
    second = tmp_path / "opt" / "gilbench-0.2.0"
    render(modulepath, second, "0.2.0")
    # Lmod picks the highest version by default; both are loaded by name, then a differently
    # named module of the same family shows that family() swaps rather than stacks.
    other = modulepath / "gilbench-debug" / "1.lua"
    other.parent.mkdir()
    shutil.copy(modulepath / "gilbench" / "0.1.0.lua", other)
    out, err = lmod(f'module use "{modulepath}"\nmodule load gilbench\ncommand -v gilbench\n'
                    'module load gilbench/0.1.0\ncommand -v gilbench\necho "PATH=$PATH"\n'
                    'module load gilbench-debug\nmodule -t list 2>&1', tmp_path)
    lines = out.splitlines()
    assert lines[0] == f"{second}/bin/gilbench", out + err
    assert lines[1] == f"{first}/bin/gilbench", out + err
    assert str(second) not in lines[2], "the replaced version is still on PATH"
    assert "gilbench-debug/1" in lines and "gilbench/0.1.0" not in lines, out + err


def test_a_missing_module_fails(installed, tmp_path):
    # The check above is not vacuous: a module that does not exist makes `module load` fail.
    modulepath, _ = installed
    out, err = lmod(f'module use "{modulepath}"\nmodule load gilbench/9.9 && echo loaded || echo failed', tmp_path)
    assert out.strip() == "failed", out + err


def test_a_real_install_loads_and_runs_the_seed_plan(tmp_path):
    # `cmake --install` of this build (GILBENCH_BUILD_DIR, as ctest sets it) into a prefix of its
    # own renders the module there; loading it gives the real binary, its launchers and jobs.
    build = Path(os.environ.get("GILBENCH_BUILD_DIR", SOURCE / "build"))
    assert (build / "CMakeCache.txt").is_file(), f"no build in {build}: set GILBENCH_BUILD_DIR"
    prefix = tmp_path / "prefix"
    p = subprocess.run([CMAKE, "--install", str(build), "--prefix", str(prefix)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    modulepath = prefix / "share" / "modulefiles"
    assert (modulepath / "gilbench" / "0.1.0.lua").is_file(), list(modulepath.rglob("*"))
    out, err = lmod(f'module use "{modulepath}"\nmodule load gilbench\ncommand -v gilbench gilbench-report '
                    'gilbench-table\ncd "$HOME" && gilbench plan "$GILBENCH_SHARE/jobs/seed.toml" | head -n 1\n'
                    'gilbench-table --help | head -n 1', tmp_path)
    lines = out.splitlines()
    assert lines[:3] == [f"{prefix}/bin/{c}" for c in ("gilbench", "gilbench-report", "gilbench-table")], out + err
    assert lines[3].startswith("job 'seed': 12 cells"), out + err
    assert lines[4].startswith("usage: gilbench-table"), out + err
