"""Options and shared fixtures of the analysis tests.

ctest passes the files its fixture jobs wrote with the real binary: --results (the small seed
job, tests/integration/small_seed.toml), --scaling-results (small_scaling.toml) and
--switch-results (small_switch.toml). GILBENCH and MPIEXEC in the environment let a test run the
binary itself (the interrupted-run test)."""
import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--scaling-results", default=None, help="HDF5 file of tests/analysis/small_scaling.toml")
    parser.addoption("--switch-results", default=None, help="HDF5 file of tests/analysis/small_switch.toml")


def _option(request, name, job):
    path = request.config.getoption(name)
    if not path:
        pytest.fail(f"pass {name} FILE (ctest runs tests/analysis/{job} with the real binary and passes it)")
    return path


@pytest.fixture(scope="session")
def scaling_file(request):
    return _option(request, "--scaling-results", "small_scaling.toml")


@pytest.fixture(scope="session")
def switch_file(request):
    return _option(request, "--switch-results", "small_switch.toml")


@pytest.fixture(scope="session")
def gilbench_binary():
    exe, mpiexec = os.environ.get("GILBENCH"), os.environ.get("MPIEXEC")
    if not exe or not mpiexec:
        pytest.fail("GILBENCH and MPIEXEC are not set (ctest sets them; run the suite through ctest)")
    return mpiexec, exe
