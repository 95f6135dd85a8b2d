# Spack recipe for gilbench, kept in gilbench's own repository (packaging/spack is a Spack
# package repository: `spack repo add packaging/spack`). Checked without Spack and without the
# network by tests/packaging/test_spack_recipe.py (a stub of Spack's package API records the
# directives and compares the dependencies with CMakeLists.txt's find_package calls); never
# built by a real Spack here. docs/install.md says what that covers and what it does not.
from spack.package import depends_on, maintainers, variant, version

try:  # Spack >= 1.0 keeps the build systems in its builtin package repository.
    from spack_repo.builtin.build_systems.cmake import CMakePackage
except ImportError:  # Spack 0.x: spack.package exports CMakePackage itself.
    from spack.package import CMakePackage


class Gilbench(CMakePackage):
    """Times CPU-bound and I/O-bound work under an emulated CPython GIL, over MPI, and writes the
    results to HDF5; a Python analysis (gilbench-report, gilbench-table) reads them."""

    # PLACEHOLDERS: gilbench has no public home or release tarball yet. Replace these three with
    # the real addresses before publishing this repository; `spack install gilbench@main` clones
    # `git`, so until then use `spack develop` / `spack dev-build` on a local checkout.
    homepage = "https://example.org/gilbench"  # PLACEHOLDER
    git = "https://example.org/gilbench.git"  # PLACEHOLDER
    url = "https://example.org/gilbench/gilbench-0.1.0.tar.gz"  # PLACEHOLDER

    maintainers("gilbench")  # PLACEHOLDER: GitHub handles of the maintainers

    # No license() directive: the project has not chosen a license yet (add one when it does).

    version("main", branch="main")
    # A release needs its tarball's sha256: version("0.1.0", sha256="...").

    variant("analysis", default=True,
            description="Python analysis (gilbench-report, gilbench-table) and its run-time packages")
    variant("bench", default=False, description="Google Benchmark micro-benchmarks (bench/)")

    # Versions below are what CMakeLists.txt asks for (cmake_minimum_required, find_package),
    # or else Debian 12's, which is what gilbench is built and tested with.
    depends_on("c", type="build")
    depends_on("cxx", type="build")  # C++20
    depends_on("cmake@3.25:", type="build")

    depends_on("mpi")  # find_package(MPI COMPONENTS C CXX); Debian's is Open MPI
    depends_on("boost@1.74:+mpi+serialization")  # Boost.MPI, serialization; Beast/Asio are headers
    depends_on("curl")
    depends_on("hdf5@1.10:")  # the C API only (src/store); serial or parallel HDF5 both do
    depends_on("cli11")
    depends_on("tomlplusplus")
    depends_on("nlohmann-json@3:")  # gilbench plan --json
    depends_on("fmt")
    # The cpython engine embeds libpython (always built: CMake has no switch for it), so Python
    # must be a shared build; it is also the interpreter of the analysis launchers.
    depends_on("python@3.9:+shared", type=("build", "link", "run"))

    depends_on("py-h5py", type="run", when="+analysis")
    depends_on("py-numpy", type="run", when="+analysis")
    depends_on("py-pandas", type="run", when="+analysis")
    depends_on("py-matplotlib", type="run", when="+analysis")
    depends_on("py-xarray", type="run", when="+analysis")  # gilbench-table --format netcdf
    depends_on("py-h5netcdf", type="run", when="+analysis")

    # `spack install --test=root gilbench`: the ctest suite (unit tests, mpirun, h5dump, pytest,
    # flake8). Suites needing root, Slurm or namespaces report themselves Skipped.
    depends_on("googletest", type="test")
    depends_on("py-pytest", type="test")
    depends_on("py-flake8", type="test")
    depends_on("benchmark", when="+bench")

    def cmake_args(self):
        python = self.spec["python"].command.path
        return [
            self.define("GILBENCH_PYTHON", python),  # the CPython the cpython engine embeds
            self.define("Python3_EXECUTABLE", python),  # tests
            self.define("GILBENCH_LAUNCHER_PYTHON", python),  # the installed gilbench-report / -table
            self.define("GILBENCH_BUILD_TESTS", self.run_tests),
            self.define_from_variant("GILBENCH_BUILD_BENCH", "bench"),
        ]
