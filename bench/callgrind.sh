#!/bin/sh
# bench/callgrind.sh: instruction counts (valgrind --tool=callgrind) of the
# libcsv ceiling and of the loader's 1-worker dry run on the same files, and
# their ratio: exact and repeatable where wall time on a shared machine is
# not. Needs valgrind. bench/bench.py runs it and reads its output.
#
#   bench/callgrind.sh BUILD_DIR FILE...
#
# Prints one line per file: file, ceiling Ir, dry run Ir, ceiling/dry run
# (the share of the ceiling the pipeline would keep if every instruction cost
# the same); then the same two programs on the file's header line alone
# (their start-up: the loader's is ~28M instructions, libmongoc's
# constructor initialising OpenSSL and SASL and the dynamic linker binding
# six libraries; the ceiling's ~0.2M), and the ratio without it — what a
# row costs, the figure a large file converges to.
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
printf '%-28s %13s %13s %7s %11s %11s %7s\n' file ceiling_Ir dry_run_Ir \
  ratio start_ceil start_dry per_row
for f in "$@"; do
  head -n 1 "$f" >"$tmp/header.csv"
  c=$(ir "$bdir/bench/csv-ceiling" "$f")
  d=$(ir "$bdir/loader" --dry-run -q -j1 "$f")
  c0=$(ir "$bdir/bench/csv-ceiling" "$tmp/header.csv")
  d0=$(ir "$bdir/loader" --dry-run -q -j1 "$tmp/header.csv")
  printf '%-28s %13s %13s %7.3f %11s %11s %7.3f\n' "$(basename "$f")" \
    "$c" "$d" "$(echo "$c $d" | awk '{print $1 / $2}')" "$c0" "$d0" \
    "$(echo "$c $d $c0 $d0" | awk '{print ($1 - $3) / ($2 - $4)}')"
done
