#!/bin/sh
# bench/run.sh: build the loader in Release into build-bench/, then run the
# benchmark (bench/bench.py): prints a table, writes bench/results.json,
# then rewrites the README's Performance table and the charts from it
# (bench/report.py).
#
#   bench/run.sh                    the full run (a few minutes)
#   bench/run.sh --quick            tiny sizes, one repetition: a smoke test
#   bench/run.sh --build-dir build  use binaries already built there
#
# Other options go to bench/bench.py: bench/run.sh --help lists them.
# Then bench/sql.py measures the SQL targets against sqlite3 .import and
# LOAD DATA LOCAL INFILE (writes bench/sql-results.json; its MariaDB part
# skips itself when there is no server to start).
# Needs cmake, a C compiler, the project's libraries and python3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# Debian's python3 has pymongo and pymysql (python3-pymongo, python3-pymysql);
# another python3 first on PATH may not, and the MariaDB part then skips.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

# Runs bench.py with "$@", then sql.py on the binaries of build directory
# $1 (--quick passed on), then bench/report.py unless --quick or --out;
# exits non-zero when one failed.
run_both() {
  dir=$1
  shift
  rc=0
  "$py" bench/bench.py "$@" || rc=$?
  quick=""
  for arg in "$@"; do
    [ "$arg" = --quick ] && quick=--quick
  done
  "$py" bench/sql.py --build-dir "$dir" $quick || rc=$?
  # A full run into bench/results.json: the README's table and the charts
  # follow it (bench/report.py; the charts need gnuplot).
  report=yes
  for arg in "$@"; do
    case $arg in
    --quick | --out | --out=*) report="" ;;
    esac
  done
  [ "$rc" -ne 0 ] || [ -z "$report" ] || "$py" bench/report.py || rc=$?
  exit "$rc"
}

# With --build-dir, the caller built the binaries: build nothing.
given="" prev=""
for arg in "$@"; do
  case $arg in
  -h | --help) exec "$py" bench/bench.py "$@" ;;
  --build-dir=*) given=${arg#--build-dir=} ;;
  esac
  [ "$prev" = --build-dir ] && given=$arg
  prev=$arg
done
[ -z "$given" ] || run_both "$given" "$@"

build_dir=${BENCH_BUILD_DIR:-build-bench}
jobs=${BENCH_BUILD_JOBS:-2}
# The test server is built with the tests. If they do not configure (no
# cmocka, or a test tree in the middle of a change), configure without them:
# the end-to-end part then looks for build/mongo-test-server, else reports
# itself unavailable.
mkdir -p "$build_dir"
if ! cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DLOADER_BUILD_TESTS=ON >"$build_dir/configure.log" 2>&1; then
  echo "bench: warning: configuring with the tests failed" \
    "(see $build_dir/configure.log); building without them" >&2
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
    -DLOADER_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build_dir" -j "$jobs" --target loader loader-gen csv-ceiling \
  peak-rss >/dev/null
if grep -q '^LOADER_BUILD_TESTS:BOOL=ON' "$build_dir/CMakeCache.txt"; then
  cmake --build "$build_dir" -j "$jobs" --target mongo-test-server \
    >/dev/null 2>&1 ||
    echo "bench: warning: mongo-test-server did not build;" \
      "the end-to-end part will be skipped" >&2
fi
run_both "$build_dir" --build-dir "$build_dir" "$@"
