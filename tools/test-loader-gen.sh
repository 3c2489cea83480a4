#!/bin/sh
# Tests for loader-gen, run by ctest (registered in tools/CMakeLists.txt).
#
#   test-loader-gen.sh reproduce   GEN SRC_DIR WORK_DIR
#       Regenerates data/customers.csv and data/products.csv with the exact
#       commands of data/README.md and compares them byte for byte, so the
#       committed samples never drift from the generator.
#   test-loader-gen.sh determinism GEN SRC_DIR WORK_DIR PYTHON
#       Same seed twice gives the same bytes, another seed other bytes, fewer
#       rows a prefix of more rows, -o and stdout the same bytes; the record
#       count is exact by a real CSV parse (products have multi-line fields,
#       so counting lines would be wrong) and quoting is minimal.
#   test-loader-gen.sh usage       GEN WORK_DIR
#       --help exits 0; bad arguments exit 2 with "loader-gen: ..." on
#       stderr; an unwritable output exits 1.
set -eu

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

CUSTOMERS_HEADER=customer_id,first_name,last_name,email,phone,city,zip,country,signup_date,active,balance
PRODUCTS_HEADER=sku,name,category,price,stock,weight_kg,description,created_at
MIXED_HEADER=customer_id,first_name,last_name,company,email,phone,address,city,zip,country,signup_date,active,balance,notes

mode=$1
gen=$2

case $mode in
reproduce)
  src=$3
  work=$4/reproduce
  rm -rf "$work" && mkdir -p "$work"
  # keep these two commands in step with data/README.md
  "$gen" customers 5000 --seed 1 -o "$work/customers.csv"
  "$gen" products 3000 --seed 2 -o "$work/products.csv"
  for f in customers.csv products.csv; do
    cmp "$src/data/$f" "$work/$f" ||
      fail "data/$f differs from the generator's output; regenerate it" \
        "with the commands in data/README.md"
  done
  echo "data/customers.csv and data/products.csv reproduce byte for byte"
  ;;

determinism)
  src=$3
  work=$4/determinism
  python=$5
  check="$src/tools/check-csv.py"
  rm -rf "$work" && mkdir -p "$work"
  for t in customers products mixed; do
    "$gen" $t 2000 --seed 7 -o "$work/$t.a"
    "$gen" $t 2000 --seed 7 -o "$work/$t.b"
    "$gen" $t 2000 --seed 8 -o "$work/$t.c"
    "$gen" $t 2000 -s 7 >"$work/$t.stdout"
    "$gen" $t 300 --seed 7 -o "$work/$t.short"
    cmp "$work/$t.a" "$work/$t.b" || fail "$t: same seed, different bytes"
    if cmp -s "$work/$t.a" "$work/$t.c"; then
      fail "$t: seeds 7 and 8 give the same bytes"
    fi
    cmp "$work/$t.a" "$work/$t.stdout" || fail "$t: -o FILE and stdout differ"
    size=$(wc -c <"$work/$t.short")
    head -c "$size" "$work/$t.a" | cmp - "$work/$t.short" ||
      fail "$t: 300 rows are not a prefix of 2000 rows"
  done
  for n in 0 1 2 1000; do
    "$gen" customers $n --seed 3 -o "$work/c$n.csv"
    "$gen" products $n --seed 3 -o "$work/p$n.csv"
    "$python" "$check" "$work/c$n.csv" $n $CUSTOMERS_HEADER
    "$python" "$check" "$work/p$n.csv" $n $PRODUCTS_HEADER
    "$gen" mixed $n --seed 3 -o "$work/m$n.csv"
    "$python" "$check" "$work/m$n.csv" $n $MIXED_HEADER
  done
  "$python" "$check" "$src/data/customers.csv" 5000 $CUSTOMERS_HEADER
  "$python" "$check" "$src/data/products.csv" 3000 $PRODUCTS_HEADER
  ;;

usage)
  work=$3/usage
  rm -rf "$work" && mkdir -p "$work"
  "$gen" --help >"$work/help" || fail "--help did not exit 0"
  grep -q '^Usage: loader-gen' "$work/help" || fail "--help prints no usage"
  # each line: arguments that must be rejected with exit 2
  while IFS= read -r args; do
    rc=0
    # shellcheck disable=SC2086 # word splitting wanted
    "$gen" $args >"$work/out" 2>"$work/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "'$args' exited $rc, want 2"
    grep -q '^loader-gen: ' "$work/err" || fail "'$args': no 'loader-gen:' message"
    if [ -s "$work/out" ]; then
      fail "'$args' wrote to stdout"
    fi
  done <<ARGS

customers
customers 10 extra
orders 10
customers ten
customers -5
customers 10x
customers 99999999999999999999
customers 10 --seed
customers 10 --seed abc
customers 10 --seed -1
customers 10 --bogus
customers 10 -q
ARGS
  if [ -w /dev/full ]; then
    rc=0
    "$gen" customers 100000 -o /dev/full 2>"$work/err" || rc=$?
    [ "$rc" -eq 1 ] || fail "writing to /dev/full exited $rc, want 1"
    grep -q '^loader-gen: cannot write' "$work/err" || fail "no write error message"
  fi
  echo "usage errors exit 2, write errors exit 1"
  ;;

*)
  fail "unknown mode '$mode'"
  ;;
esac
