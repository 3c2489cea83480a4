#!/bin/sh
# Figures for doc/sql.md: what more workers do for SQLite and MySQL.
#
#   sh tests/integration/sql/bench-sql.sh BUILD_DIR [ROWS]
#
# Generates two files of ROWS rows (default 200000: customers, products)
# with loader-gen and loads them:
#   1. into one SQLite file with 1 worker, then 2 workers;
#   2. into two SQLite files (sqlite:DIR/, one per table) with 2 workers;
#   3. into MySQL/MariaDB ($MYSQL_URI; else the fixture's URI file in
#      BUILD_DIR, else skipped) with 1 then 2 workers (multi-row INSERT),
#      and, for reference, the same files with the server's own
#      LOAD DATA LOCAL INFILE through the mariadb client.
# Each line is the best of 3 runs. Prints figures; asserts nothing.
set -eu
build=${1:?build dir}
rows=${2:-200000}
build=$(cd "$build" && pwd)
work=$(mktemp -d /tmp/loader-bench-sql-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$build/loader-gen" customers "$rows" --seed 1 -o "$work/customers.csv"
"$build/loader-gen" products "$rows" --seed 2 -o "$work/products.csv"
files="$work/customers.csv $work/products.csv"
total=$((rows * 2))

best() { # best elapsed of 3 runs of: loader ARGS (each run starts empty)
  b=""
  for i in 1 2 3; do
    rm -rf "$work/one.db" "$work/one.db-wal" "$work/one.db-shm" "$work/dir"
    "$build/loader" --drop -q --report-json "$work/r.json" "$@" $files
    t=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["elapsed_s"])' "$work/r.json")
    b=$(python3 -c 'import sys; a=sys.argv[1]; t=float(sys.argv[2]); print(t if not a else min(float(a), t))' "$b" "$t")
  done
  printf '%-46s %8.3f s %10.0f rows/s\n' "$label" "$b" "$(python3 -c "print($total / $b)")"
}

echo "rows: $total ($rows customers + $rows products), $(nproc) CPUs"
label="sqlite, one file, 1 worker"; best --uri "sqlite:$work/one.db" -j 1
label="sqlite, one file, 2 workers"; best --uri "sqlite:$work/one.db" -j 2
label="sqlite, two files (sqlite:DIR/), 2 workers"; best --uri "sqlite:$work/dir/" -j 2
label="dry run (no database), 1 worker"; best --dry-run -j 1
label="dry run (no database), 2 workers"; best --dry-run -j 2

uri=${MYSQL_URI:-}
if [ -z "$uri" ] && [ -f "$build/mysql.uri" ]; then
  uri=$(cat "$build/mysql.uri")
fi
if [ -z "$uri" ]; then
  echo "mysql: skipped (no MYSQL_URI, no fixture URI file)"
  exit 0
fi
db=bench_sql_$$
label="mysql, multi-row INSERT, 1 worker"; best --uri "$uri" --db "$db" -j 1
label="mysql, multi-row INSERT, 2 workers"; best --uri "$uri" --db "$db" -j 2

# The server's own bulk path, for reference: LOAD DATA LOCAL INFILE of the
# same files into the tables the loader made (all columns as the file has
# them), one client per file, one after the other.
hostport=${uri#*@}
hostport=${hostport%%/*}
userpass=${uri#*://}
userpass=${userpass%%@*}
my="mariadb --no-defaults --local-infile=1 -h ${hostport%%:*} -P ${hostport##*:} -u ${userpass%%:*} -p${userpass#*:} $db"
b=""
for i in 1 2 3; do
  t0=$(python3 -c 'import time; print(time.time())')
  for f in customers products; do
    $my -e "TRUNCATE $f; LOAD DATA LOCAL INFILE '$work/$f.csv' INTO TABLE $f CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES"
  done
  t=$(python3 -c "import time; print(time.time() - $t0)")
  b=$(python3 -c 'import sys; a=sys.argv[1]; t=float(sys.argv[2]); print(t if not a else min(float(a), t))' "$b" "$t")
done
printf '%-46s %8.3f s %10.0f rows/s\n' "mysql, LOAD DATA LOCAL INFILE (client), serial" "$b" "$(python3 -c "print($total / $b)")"
$my -e "DROP DATABASE $db"
