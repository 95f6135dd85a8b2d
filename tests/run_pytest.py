#!/usr/bin/python3
"""Runs one pytest suite for ctest, so that a failure always fails and a skip is never a guess.

    run_pytest.py [--needs namespaces|slurm|tmpfs|debootstrap|venv|lmod]... -- PYTEST-ARGS...

1. What the suite needs is decided here, before any test runs. Where a capability is truly
   missing (not root, Slurm not installed, namespaces or mounts refused), the suite is not run: this
   prints "SKIPPED: <suite>: <reason and fix>" and exits 77, which ctest reports as "Skipped"
   (SKIP_RETURN_CODE). With GILBENCH_REQUIRE_CAPABILITIES=1 (scripts/test.sh sets it in CI,
   where its install step provides everything) a missing capability fails instead.
2. Otherwise pytest runs and its exit status is the test's: nothing in the output can turn a
   failure into a pass or a skip. "No tests collected" fails too.
3. A test skipped inside a suite whose capabilities are present is a failure: the decision to
   skip belongs to step 1, and a skip there could only hide a test that did not run.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SKIP = 77
SLURM_TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo")


def namespaces_missing():
    """Why the virtual cluster (scripts/vcluster) cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (network, UTS and mount namespaces); run the tests as root"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed; run scripts/install-deps.sh"
    r = subprocess.run(["unshare", "--net", "--uts", "--mount", "true"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"namespaces are refused here (unshare: {r.stderr.strip()}); a container needs CAP_SYS_ADMIN"
    return None


def slurm_missing():
    """Why a local Slurm (scripts/slurm-local) cannot start here, or None."""
    if os.geteuid() != 0:
        return "needs root (the Slurm daemons run as root); run the tests as root"
    missing = [t for t in SLURM_TOOLS if shutil.which(t) is None]
    if missing:
        return f"Slurm is not installed (missing {' '.join(missing)}); run scripts/install-deps.sh --slurm"
    return None


def tmpfs_missing():
    """Why a small tmpfs (a disk that fills up) cannot be mounted here, or None."""
    if os.geteuid() != 0:
        return "needs root to mount a small tmpfs; run the tests as root"
    with tempfile.TemporaryDirectory(prefix="gilbench-tmpfs-probe.") as d:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], capture_output=True, text=True)
        if r.returncode != 0:
            return f"cannot mount a tmpfs here (mount: {r.stderr.strip()}); a container needs CAP_SYS_ADMIN"
        subprocess.run(["umount", d], check=True)
    return None


def debootstrap_missing():
    """Why a bare Debian root (scripts/lib/fresh-root.sh) cannot be made and entered here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, mounts, apt in the root); run the tests as root"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed; run scripts/install-deps.sh"
    r = subprocess.run(["bash", "-c", "source scripts/lib/fresh-root.sh && fresh_mirror | head -n1"],
                       capture_output=True, text=True, cwd=os.path.join(os.path.dirname(__file__), ".."))
    if not r.stdout.strip():
        return "no Debian mirror in /etc/apt to debootstrap from; give the machine one"
    r = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"mount namespaces are refused here (unshare: {r.stderr.strip()}); a container needs CAP_SYS_ADMIN"
    return None


def venv_missing():
    """Why `python3 -m venv` cannot make a venv with pip here (Debian splits it out), or None."""
    import importlib.util
    for module in ("venv", "ensurepip"):
        if importlib.util.find_spec(module) is None:
            return f"{sys.executable} has no '{module}' module; install python3-venv (scripts/install-deps.sh)"
    return None


def lmod_missing():
    """Why Lmod (Debian's package lmod) cannot be loaded here, or None."""
    init = os.environ.get("GILBENCH_LMOD_INIT", "/usr/share/lmod/lmod/init/bash")
    if not os.path.isfile(init):
        return f"Lmod is not installed ({init} is missing); run scripts/install-deps.sh (package lmod)"
    return None


PROBES = {"namespaces": namespaces_missing, "slurm": slurm_missing, "tmpfs": tmpfs_missing,
          "debootstrap": debootstrap_missing, "venv": venv_missing, "lmod": lmod_missing}


def skipped_tests(junit_path):
    """(test id, reason) of every skipped test in a JUnit XML report."""
    out = []
    for case in ET.parse(junit_path).getroot().iter("testcase"):
        for skip in case.findall("skipped"):
            out.append((f"{case.get('classname')}::{case.get('name')}", skip.get("message", "")))
    return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--needs", action="append", default=[], choices=sorted(PROBES),
                        help="a capability the suite needs")
    parser.add_argument("--name", default=None, help="the suite's name in messages")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    name = args.name or " ".join(os.path.basename(a) for a in pytest_args if a.endswith(".py") or "::" in a)

    for need in args.needs:
        why = PROBES[need]()
        if why is None:
            continue
        if os.environ.get("GILBENCH_REQUIRE_CAPABILITIES") == "1":
            print(f"FAILED: {name}: needs {need}, which is missing although this run requires it "
                  f"(GILBENCH_REQUIRE_CAPABILITIES=1): {why}", flush=True)
            return 1
        print(f"SKIPPED: {name}: needs {need}: {why}", flush=True)
        return SKIP

    with tempfile.TemporaryDirectory(prefix="gilbench-pytest.") as tmp:
        junit = os.path.join(tmp, "junit.xml")
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", f"--junitxml={junit}", *pytest_args]
        status = subprocess.run(cmd).returncode
        if status == 5:
            print(f"FAILED: {name}: pytest collected no tests", flush=True)
            return 1
        if status != 0:
            return status
        skips = skipped_tests(junit)
        if skips:
            print(f"FAILED: {name}: {len(skips)} test(s) skipped although the suite's capabilities are present "
                  "(a skip here would hide a test that did not run):", flush=True)
            for test, reason in skips:
                print(f"  {test}: {reason}", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
