"""Where this copy of the analysis runs from, so that its hints name commands the user has: a
source checkout has scripts/ and bench/; an installed tree (.deb, cmake --install, the Lmod
module, Spack) has share/gilbench/{jobs,slurm,bench,python} and the commands on PATH."""
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent   # .../gilbench_analysis


def checkout_root():
    """The source tree this package runs from, or None when it is installed."""
    root = _HERE.parents[1]
    return root if (root / "scripts" / "vcluster").is_file() and (root / "CMakeLists.txt").is_file() else None


def share_dir():
    """share/gilbench of an installed tree: $GILBENCH_SHARE (the module sets it), else the
    folder this package is installed in (share/gilbench/python/gilbench_analysis); None in a
    checkout or a pip install."""
    env = os.environ.get("GILBENCH_SHARE")
    if env:
        return Path(env)
    python = _HERE.parent
    return python.parent if python.name == "python" and (python.parent / "slurm").is_dir() else None


def nodes_howto():
    """How to launch a run over several nodes, in the commands this install has."""
    if checkout_root():
        return ("launch over several nodes for it, e.g. `scripts/vcluster up 3` then `scripts/vcluster scaling`, "
                "or `sbatch -N 2 slurm/scaling.sbatch`")
    share = share_dir()
    batch = f"{share}/slurm/scaling.sbatch" if share else "gilbench's slurm/scaling.sbatch"
    return (f"launch over several nodes for it, e.g. `sbatch -N 2 {batch}`, or `mpirun -np 4 --host NODE1:2,NODE2:2 "
            "gilbench run JOB.toml -o FILE.h5`")


def probe_command():
    """The reference-file writer, as the user can run it here."""
    if checkout_root():
        return "bench/cpython_probe.py"
    share = share_dir()
    return f"{share}/bench/cpython_probe.py" if share else "cpython_probe.py (in gilbench's bench/)"


def job_file(name):
    """A job file of gilbench's jobs/, as the user can name it here."""
    if checkout_root():
        return f"jobs/{name}"
    share = share_dir()
    return f"{share}/jobs/{name}" if share else f"gilbench's jobs/{name}"


def fidelity_command():
    """How to make a run with twin cells: the checkout's script, or the installed job."""
    if checkout_root():
        return "jobs/fidelity.toml (scripts/fidelity)"
    return job_file("fidelity.toml")
