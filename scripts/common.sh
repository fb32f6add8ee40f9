# Sourced by the run scripts (demo.sh, zoo.sh, deepnorm_depth.sh) from the repository root: sets DATA
# to the Austen texts (../shared/data, or STRETCH_DATA, or copies extracted by get_data.sh into data/)
# and BUILD to a build directory holding a stretch binary (configured and built if missing).
DATA=${STRETCH_DATA:-../shared/data}
[ -f "$DATA/austen-emma.txt" ] || { bash scripts/get_data.sh data; DATA=data; }
BUILD=${BUILD:-build}
[ -x "$BUILD/stretch" ] || { cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null && ninja -C "$BUILD" stretch; }
