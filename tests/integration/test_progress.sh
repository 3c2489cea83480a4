#!/bin/sh
# The progress display: drawn on a terminal (a pseudo-terminal made by
# script(1)), absent when stderr is not a terminal, plain lines on request,
# and replaced by the report at the end.
# Not set -e: every check runs and a failing one says which it was.
set -u
loader=$LOADER_BIN
data=$LOADER_SOURCE_DIR/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}

# 1. On a terminal: lines with rows/s and the cursor moves that redraw them.
rc=0
script -q -e -c "$loader --dry-run --max-rate 20000 $data/customers.csv $data/products.csv" \
  "$tmp/tty.log" >/dev/null 2>&1 || rc=$?
check "loader on a tty exits 0 (got $rc)" $rc
grep -q "rows/s" "$tmp/tty.log"; check "progress drawn on a tty" $?
grep -q "$(printf '\033')\[K" "$tmp/tty.log"; check "lines redrawn in place" $?
grep -q "customers  $data/customers.csv" "$tmp/tty.log"; check "job label shown" $?
grep -q "total " "$tmp/tty.log"; check "report follows" $?

# 2. Piped: no progress at all, only the report.
rc=0
"$loader" --dry-run "$data/customers.csv" >"$tmp/out" 2>"$tmp/err" || rc=$?
check "piped loader exits 0 (got $rc)" $rc
[ ! -s "$tmp/err" ]; check "no progress when stderr is not a tty: $(head -c 300 "$tmp/err")" $?
grep -q "^total" "$tmp/out"; check "report still printed" $?

# 3. --progress plain: plain lines, no escape sequences.
rc=0
"$loader" --dry-run --progress plain "$data/products.csv" >/dev/null 2>"$tmp/plain" || rc=$?
check "plain loader exits 0 (got $rc)" $rc
grep -q "^loader: progress: products" "$tmp/plain"; check "plain lines" $?
! grep -q "$(printf '\033')" "$tmp/plain"; check "plain has no escapes" $?

# 4. --quiet on a terminal: nothing drawn.
rc=0
script -q -e -c "$loader --dry-run -q $data/products.csv" "$tmp/quiet.log" >/dev/null 2>&1 || rc=$?
check "quiet loader on a tty exits 0 (got $rc)" $rc
! grep -q "rows/s" "$tmp/quiet.log"; check "quiet draws nothing" $?

# 5. Thousands separators on a terminal only.
grep -q "5,000" "$tmp/tty.log"; check "grouped digits on a tty" $?
grep -q " 5000 " "$tmp/out"; check "plain digits when piped" $?

echo "progress: $pass passed, $fail failed"
[ "$fail" = 0 ]
