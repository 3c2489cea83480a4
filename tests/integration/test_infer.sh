#!/bin/sh
# --infer: a schema preview of the sample files, and its suggested --types
# fed back to a dry run that must accept every row.
set -eu
loader=$LOADER_BIN
data=$LOADER_SOURCE_DIR/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {
  if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}

"$loader" --infer "$data/customers.csv" "$data/products.csv" >"$tmp/out"
check "exit 0" $?
grep -Eq '^  zip +string .*kept as text \(leading zero' "$tmp/out"; check "zip: leading zeros" $?
grep -Eq '^  customer_id +int32 ' "$tmp/out"; check "customer_id int32" $?
grep -Eq '^  signup_date +date\(2006-01-02\) ' "$tmp/out"; check "signup_date a date" $?
grep -Eq '^  active +boolean ' "$tmp/out"; check "active boolean" $?
grep -Eq '^  balance +double ' "$tmp/out"; check "balance double" $?
grep -Eq '^  description +string +416 ' "$tmp/out"; check "416 empty descriptions" $?
grep -q "^data" "$tmp/out" || grep -q "customers.csv (customers): 5000 rows sampled" "$tmp/out"
check "rows sampled" $?

# --sample-rows bounds the sample.
"$loader" --infer --sample-rows 100 "$data/customers.csv" | grep -q ": 100 rows sampled (the first ones)"
check "--sample-rows" $?

# The suggestion loads every row as the types it names.
types=$(sed -n "s/^  suggested: --types '\(.*\)'$/\1/p" "$tmp/out" | head -1)
[ -n "$types" ]; check "a --types suggestion" $?
"$loader" --dry-run -q --types "$types" "$data/customers.csv"; check "suggestion accepted by a dry run" $?

echo "infer: $pass passed, $fail failed"
[ "$fail" = 0 ]
