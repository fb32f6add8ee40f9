#!/usr/bin/env bash
# The Python peers of stretch serve's integration tests and load test, in a virtual environment of
# Debian's python3 (with its system packages, where llama-cpp-python 0.3.16 lives when installed):
# the openai client, lm-evaluation-harness with its api extra, and llama-cpp-python's server extra
# (the llama.cpp server the load test compares against). Prints the environment's python.
# usage: scripts/get_serve_peers.sh [CACHE_DIR]   (default: $STRETCH_CACHE, else ~/.cache/stretch)
set -euo pipefail
cache="${1:-${STRETCH_CACHE:-$HOME/.cache/stretch}}"
venv="$cache/serve-peers"
want="lm_eval[api]==0.4.13 openai==3.57.0 gguf"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import lm_eval, openai" 2> /dev/null; then
  mkdir -p "$cache"
  /usr/bin/python3 -m venv --system-site-packages "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet $want >&2
  # The llama.cpp server for scripts/serve_load.py, where llama-cpp-python is installed (the load test
  # skips it otherwise): its server extra only, never a rebuild of the library.
  if "$venv/bin/python" -c "import llama_cpp" 2> /dev/null; then
    "$venv/bin/pip" install --quiet "llama-cpp-python[server]==$("$venv/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)')" >&2
  fi
fi
echo "$venv/bin/python"
