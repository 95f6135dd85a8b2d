"""The Spack recipe (packaging/spack/packages/gilbench/package.py) against the build it describes.

There is no Spack here (and no network to fetch one), so the recipe is imported with a stub of
Spack's package API that records every directive (version, variant, depends_on...). The recorded
dependencies are then compared with what the tree needs:
- every find_package() in every CMakeLists.txt maps to a Spack package the recipe depends on,
  with find_package's minimum version and Boost's compiled components as variants; a new
  find_package without its depends_on (or without a row in CMAKE_TO_SPACK) fails;
- every third-party module the analysis package imports is a run-time py-* dependency under
  +analysis;
- cmake_args() sets only cache variables CMakeLists.txt reads, embeds the spec's Python.
What this cannot check: that Spack accepts the recipe, that the named Spack packages and
variants exist in a given Spack release, and that the build succeeds (docs/install.md, "Spack").
"""
import ast
import importlib.util
import os
import re
import sys
import types
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2]
RECIPE = SOURCE / "packaging" / "spack" / "packages" / "gilbench" / "package.py"

# find_package name -> Spack package (None: provided by the compiler or C library).
CMAKE_TO_SPACK = {
    "Threads": None,
    "MPI": "mpi",
    "Boost": "boost",
    "CURL": "curl",
    "HDF5": "hdf5",
    "CLI11": "cli11",
    "tomlplusplus": "tomlplusplus",
    "nlohmann_json": "nlohmann-json",
    "fmt": "fmt",
    "Python3": "python",
    "GTest": "googletest",
    "benchmark": "benchmark",
}
# Dependencies needed only in some configurations: find_package name -> (deptypes, when).
CONDITIONAL = {
    "GTest": ({"test"}, None),           # if(GILBENCH_BUILD_TESTS): spack install --test=root
    "benchmark": (None, "+bench"),       # if(GILBENCH_BUILD_BENCH)
}


class Recorder:
    """Stands in for spack.package: directives called in a class body are recorded here."""

    def __init__(self):
        self.calls = []

    def directive(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
        return record

    def deps(self):
        """Spack package name -> list of (spec string, deptypes, when)."""
        out = {}
        for name, args, kwargs in self.calls:
            if name != "depends_on":
                continue
            spec = args[0]
            types_ = kwargs.get("type", ("build", "link"))
            types_ = {types_} if isinstance(types_, str) else set(types_)
            pkg = re.match(r"[a-z0-9-]+", spec).group(0)
            out.setdefault(pkg, []).append((spec, types_, kwargs.get("when")))
        return out


class FakeSpec:
    def __init__(self, variants, python="/spack/opt/python-3.11/bin/python3.11"):
        self.variants = variants
        self.python = types.SimpleNamespace(command=types.SimpleNamespace(path=python))

    def __getitem__(self, name):
        assert name == "python", f"cmake_args looks up spec[{name!r}]; the test's fake spec knows only python"
        return self.python


def fake_cmake_package():
    class CMakePackage:
        run_tests = False

        def define(self, name, value):
            if isinstance(value, bool):
                value = "ON" if value else "OFF"
            return f"-D{name}={value}"

        def define_from_variant(self, name, variant):
            assert variant in self.spec.variants, f"variant {variant!r} is not declared"
            return self.define(name, self.spec.variants[variant])
    return CMakePackage


def load_recipe(monkeypatch, spack1=False):
    """Imports package.py with stub modules; returns (Recorder, the recipe class, the base class)."""
    rec = Recorder()
    base = fake_cmake_package()
    api = types.ModuleType("spack.package")
    for name in ("depends_on", "variant", "version", "maintainers", "license", "conflicts", "requires",
                 "patch", "resource", "provides", "extends"):
        setattr(api, name, rec.directive(name))
    monkeypatch.setitem(sys.modules, "spack", types.ModuleType("spack"))
    monkeypatch.setitem(sys.modules, "spack.package", api)
    if spack1:
        # Spack >= 1.0: CMakePackage comes from the builtin repository, not from spack.package.
        for mod in ("spack_repo", "spack_repo.builtin", "spack_repo.builtin.build_systems"):
            monkeypatch.setitem(sys.modules, mod, types.ModuleType(mod))
        cmake = types.ModuleType("spack_repo.builtin.build_systems.cmake")
        cmake.CMakePackage = base
        monkeypatch.setitem(sys.modules, "spack_repo.builtin.build_systems.cmake", cmake)
    else:
        api.CMakePackage = base
        monkeypatch.setitem(sys.modules, "spack_repo", None)  # import fails as on Spack 0.x
    spec = importlib.util.spec_from_file_location("gilbench_spack_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return rec, module.Gilbench, base


def cmake_files():
    """The tree's CMakeLists.txt files, not walking into build directories or hidden ones."""
    out = []
    for root, dirs, files in os.walk(SOURCE):
        dirs[:] = [d for d in dirs if not d.startswith(("build", "."))]
        out += [Path(root) / f for f in files if f == "CMakeLists.txt"]
    return out


def find_packages():
    """(name, version or None, components) of every find_package() call in the tree."""
    out = []
    for f in cmake_files():
        text = re.sub(r"#[^\n]*", "", f.read_text())
        for m in re.finditer(r"find_package\s*\(([^)]*)\)", text):
            words = m.group(1).split()
            name, rest = words[0], words[1:]
            version = rest[0] if rest and re.fullmatch(r"[0-9][0-9.]*", rest[0]) else None
            comps = []
            if "COMPONENTS" in rest:
                for w in rest[rest.index("COMPONENTS") + 1:]:
                    if w.isupper() and w not in ("C", "CXX"):  # REQUIRED, CONFIG... end the list
                        break
                    comps.append(w)
            out.append((name, version, comps, f.relative_to(SOURCE)))
    return out


@pytest.fixture
def recipe(monkeypatch):
    return load_recipe(monkeypatch)


def test_the_tree_has_find_package_calls_to_check():
    names = {name for name, *_ in find_packages()}
    assert {"MPI", "HDF5", "Boost", "CURL", "Python3"} <= names, names


def test_every_find_package_has_its_depends_on(recipe):
    rec, _, _ = recipe
    deps = rec.deps()
    for name, version, comps, where in find_packages():
        assert name in CMAKE_TO_SPACK, (
            f"{where}: find_package({name}) is new: add its depends_on to {RECIPE.relative_to(SOURCE)} "
            f"and a row to CMAKE_TO_SPACK in {Path(__file__).name}")
        pkg = CMAKE_TO_SPACK[name]
        if pkg is None:
            continue
        assert pkg in deps, f"{where}: find_package({name}) but the recipe has no depends_on(\"{pkg}...\")"
        specs = deps[pkg]
        if version:
            assert any(f"@{version}:" in s for s, _, _ in specs), (
                f"{where}: find_package({name} {version}) but depends_on has no {pkg}@{version}: ({specs})")
        if name == "Boost":
            for comp in comps:
                assert any(f"+{comp}" in s for s, _, _ in specs), f"Boost component {comp}: no boost+{comp} ({specs})"
        want_types, want_when = CONDITIONAL.get(name, (None, None))
        for spec, types_, when in specs:
            if want_types is not None:
                assert types_ == want_types, f"{spec}: deptypes {types_}, want {want_types}"
            elif name not in CONDITIONAL:
                assert "link" in types_ or "build" in types_, f"{spec}: needed to build, but type={types_}"
            assert when == want_when, f"{spec}: when={when!r}, want {want_when!r}"


def test_cmake_minimum_required_is_the_cmake_dependency(recipe):
    rec, _, _ = recipe
    (need,) = re.findall(r"cmake_minimum_required\s*\(\s*VERSION\s+([0-9.]+)", (SOURCE / "CMakeLists.txt").read_text())
    assert [s for s, t, _ in rec.deps()["cmake"]] == [f"cmake@{need}:"]
    assert rec.deps()["cmake"][0][1] == {"build"}


def test_embedded_python_is_a_shared_build_linked_and_run(recipe):
    rec, _, _ = recipe
    ((spec, types_, when),) = rec.deps()["python"]
    assert "+shared" in spec and types_ >= {"link", "run"} and when is None


def analysis_imports():
    """Third-party top-level modules the analysis package imports (anywhere in a file)."""
    mods = set()
    for f in (SOURCE / "analysis" / "gilbench_analysis").rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
    return {m for m in mods if m not in sys.stdlib_module_names and m != "gilbench_analysis"}


def test_analysis_variant_brings_every_module_the_analysis_imports(recipe):
    rec, _, _ = recipe
    deps = rec.deps()
    mods = analysis_imports()
    assert {"h5py", "numpy", "pandas", "matplotlib"} <= mods, mods
    for mod in sorted(mods):
        pkg = "py-" + mod.lower().replace("_", "-")
        assert pkg in deps, f"the analysis imports {mod}: add depends_on(\"{pkg}\", type=\"run\", when=\"+analysis\")"
        assert [(t, w) for _, t, w in deps[pkg]] == [({"run"}, "+analysis")], deps[pkg]
    variants = {args[0]: kwargs for name, args, kwargs in rec.calls if name == "variant"}
    assert variants["analysis"]["default"] is True


def test_versions_and_placeholders(recipe):
    rec, cls, _ = recipe
    versions = [(args, kwargs) for name, args, kwargs in rec.calls if name == "version"]
    assert (("main",), {"branch": "main"}) in versions
    text = RECIPE.read_text()
    for attr in ("homepage", "git", "url"):
        assert getattr(cls, attr)
        assert re.search(rf"^    {attr} = .*# PLACEHOLDER$", text, re.M), f"{attr} must be marked as a placeholder"


def cache_variables():
    """Names CMakeLists.txt files read as options or cache entries (and FindPython3's input)."""
    names = {"Python3_EXECUTABLE"}
    for f in cmake_files():
        text = f.read_text()
        names.update(re.findall(r"option\s*\(\s*(\w+)", text))
        names.update(re.findall(r"set\s*\(\s*(\w+)[^)]*\bCACHE\b", text))
    return names


@pytest.mark.parametrize("run_tests,bench", [(False, False), (True, True)])
def test_cmake_args(recipe, run_tests, bench):
    _, cls, _ = recipe
    pkg = cls.__new__(cls)
    pkg.spec = FakeSpec({"analysis": True, "bench": bench})
    pkg.run_tests = run_tests
    args = dict(a[2:].split("=", 1) for a in pkg.cmake_args())
    assert set(args) <= cache_variables(), f"cmake_args sets variables CMakeLists.txt does not read: {args}"
    assert args["GILBENCH_PYTHON"] == pkg.spec.python.command.path
    assert args["Python3_EXECUTABLE"] == pkg.spec.python.command.path
    assert args["GILBENCH_BUILD_TESTS"] == ("ON" if run_tests else "OFF")
    assert args["GILBENCH_BUILD_BENCH"] == ("ON" if bench else "OFF")


def test_recipe_loads_with_spack_1_build_systems(monkeypatch):
    _, cls, base = load_recipe(monkeypatch, spack1=True)
    assert issubclass(cls, base)
