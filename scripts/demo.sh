#!/bin/sh
# The first command of the README: install, build, and load the sample data.
#
# Loads data/customers.csv and data/products.csv with --compare (a linear
# run, then a parallel one, side by side). Against $MONGODB_URI when it is
# set; otherwise against the project's MongoDB wire-protocol test server,
# started here on a free loopback port and stopped afterwards.
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

uri="${MONGODB_URI:-}"
if [ -z "$uri" ]; then
  port_file=$(mktemp)
  build/mongo-test-server --port 0 --port-file "$port_file" >/dev/null &
  server_pid=$!
  i=0
  while [ ! -s "$port_file" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$port_file" ] || { echo "demo: the test server did not start" >&2; exit 1; }
  uri="mongodb://127.0.0.1:$(cat "$port_file")/"
  rm -f "$port_file"
  echo "demo: MONGODB_URI is not set, so this demo loads into the project's"
  echo "demo: in-memory MongoDB test server at $uri (data is gone when it stops)."
  echo
fi

set +e
build/loader --uri "$uri" --db demo --drop --compare \
  data/customers.csv data/products.csv
status=$?
set -e
exit $status
