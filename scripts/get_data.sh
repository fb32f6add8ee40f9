#!/usr/bin/env bash
# Fetches the six Jane Austen novels (austen-*.txt, identical to ../shared/data) from the Debian
# package r-cran-janeaustenr into DIR (default: data/ at the repository root). Needs apt-get and
# dpkg (run as root if the package lists must be updated); installs nothing.
# usage: scripts/get_data.sh [DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$here/get_austen.py" "$@"
