"""Shared by the Python tests: the HDF5 file that ctest's small seed job wrote."""
import pytest


def pytest_addoption(parser):
    parser.addoption("--results", action="store", default=None,
                     help="HDF5 file written by the small seed job")
    parser.addoption("--seed-log", action="store", default=None,
                     help="what the small seed job printed on standard output")


@pytest.fixture(scope="session")
def results_file(request):
    path = request.config.getoption("--results")
    if not path:
        pytest.fail("pass --results FILE (ctest does this after running the small seed job)")
    return path
