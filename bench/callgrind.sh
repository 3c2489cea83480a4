#!/bin/sh
# bench/callgrind.sh: instruction counts (valgrind --tool=callgrind) of the
# libcsv ceiling and of the loader's 1-worker dry run on the same files, and
# their ratio: exact and repeatable where wall time on a shared machine is
# not. Needs valgrind.
#
#   bench/callgrind.sh BUILD_DIR FILE...
#
# Prints one line per file: file, ceiling Ir, dry run Ir, ceiling/dry run
# (the share of the ceiling the pipeline would keep if every instruction cost
# the same).
set -eu
[ $# -ge 2 ] || {
  echo "usage: bench/callgrind.sh BUILD_DIR FILE..." >&2
  exit 2
}
bdir=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$@" \
    >/dev/null 2>"$tmp/err" || {
    cat "$tmp/err" >&2
    exit 1
  }
  sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/out"
}
printf '%-40s %15s %15s %8s\n' file ceiling_Ir dry_run_Ir ratio
for f in "$@"; do
  c=$(ir "$bdir/bench/csv-ceiling" "$f")
  d=$(ir "$bdir/loader" --dry-run -q -j1 "$f")
  printf '%-40s %15s %15s %8.3f\n' "$(basename "$f")" "$c" "$d" \
    "$(echo "$c $d" | awk '{print $1 / $2}')"
done
