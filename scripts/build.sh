#!/usr/bin/env bash
# Installs the dependencies (scripts/setup.sh) and builds stretch into build/ (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
ninja -C build >> build.log 2>&1 || { tail -50 build.log; exit 1; }
echo "built build/stretch"
