#!/usr/bin/env bash
# Install gilbench's build and runtime dependencies from Debian 12 packages.
# Idempotent: packages already installed are skipped, and apt is not touched at all
# when nothing is missing. Needs root (or sudo) only when something must be installed.
#
#   scripts/install-deps.sh            # build + run + test dependencies
#   scripts/install-deps.sh --slurm    # also slurm-wlm and munge: scripts/slurm-local, tests/slurm
set -euo pipefail

# Every program a script or test calls comes from a package named here (checked by
# scripts/fresh-debian-check, which runs the README's commands in a bare Debian 12 root).
# Not listed: coreutils and util-linux (timeout, unshare, nsenter, setsid, mount), which are
# Essential in Debian and so on every machine.
packages=(
  build-essential cmake pkg-config git     # compilers, cmake; git for the build's provenance sha
  openmpi-bin libopenmpi-dev               # mpirun, mpicxx
  libboost-dev libboost-mpi-dev libboost-serialization-dev
  libcurl4-openssl-dev
  libhdf5-dev hdf5-tools                   # h5dump (tests read files with HDF5's own tool)
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-h5py python3-numpy python3-pandas python3-matplotlib python3-pytest
  python3-xarray python3-h5netcdf          # gilbench-table --format netcdf (docs/open-data.md)
  python3-venv python3-setuptools python3-wheel  # pip install ./analysis into a venv (tests/analysis/test_pip_install.py)
  flake8                                   # the test style.flake8 (Python style, .flake8)
  python3-dev                              # libpython3.11.so + headers: the cpython engine embeds it
  iproute2                                 # ip, bridge: scripts/vcluster and its tests
  procps                                   # pgrep, ps: the tests check that nothing is left running
  debootstrap                              # scripts/fresh-debian-check, scripts/deb-install-check (a bare root)
  file                                     # cpack -G DEB: dpkg-shlibdeps finds the binary's libraries with it
  lmod                                     # module: tests/packaging/test_lmod.py loads the module file
)
for arg in "$@"; do
  case "$arg" in
    --slurm) packages+=(slurm-wlm munge) ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
