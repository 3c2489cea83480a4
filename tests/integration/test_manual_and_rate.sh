#!/bin/sh
# --max-rate holds a run back (from the loader's own report: a lower bound
# on its time that follows from the throttle, never an upper bound, so a
# slow machine cannot fail it), and `cmake --install` installs the loader
# and its manual page.
set -eu
loader=$LOADER_BIN
data=$LOADER_SOURCE_DIR/data
build=$(dirname "$loader")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {
  if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}

# 1. --max-rate 6000 on 8,000 rows in batches of 500: the throttle lets the
#    k-th batch go at (k - 1) * 500 / 6000 s at the earliest, so the last of
#    16 goes at 7500 / 6000 = 1.25 s after the throttle starts, which is
#    just before the run's clock does: the run takes at least 1.25 s less
#    that gap (allowed 0.25 s). Unthrottled, the same run takes ~0.01 s.
"$loader" --dry-run -q --max-rate 6000 --batch-size 500 \
  --report-json "$tmp/r.json" "$data/customers.csv" "$data/products.csv"
check "throttled run succeeds" $?
python3 - "$tmp/r.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
rows = sum(j["processed"] for j in run["jobs"])
least = (rows - 500) / 6000 - 0.25
print(f"--max-rate 6000: {rows} rows in {run['elapsed_s']:.3f} s "
      f"(at least {least:.3f} s)")
sys.exit(0 if rows == 8000 and run["elapsed_s"] >= least else 1)
PY
check "--max-rate holds the run back" $?

# 2. cmake --install puts the loader and loader.1 in place.
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
check "cmake --install" $?
[ -x "$tmp/prefix/bin/loader" ]; check "bin/loader installed" $?
man1=$(find "$tmp/prefix" -name loader.1 | head -1)
[ -n "$man1" ]; check "loader.1 installed" $?
grep -q '^\.TH LOADER 1' "$man1"; check "manual page header" $?
grep -q 'max\\-rate' "$man1"; check "manual lists every option" $?
grep -q 'EXIT STATUS' "$man1"; check "manual has exit status" $?

echo "manual and rate: $pass passed, $fail failed"
[ "$fail" = 0 ]
