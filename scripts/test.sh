#!/bin/sh
# The second command of the README: install, build, and pass the whole
# test suite.
#
# 1. a warnings-as-errors build and every ctest (unit tests, the MongoDB test
#    server's own tests, integration tests against live servers);
# 2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
# 3. the fuzz target for record -> BSON, for a bounded time;
# 4. the pool, parallel-load, writer (unit_job), SQLite checkpointer and
#    SQL prepare-ahead tests and the SQL torture harness, built with
#    ThreadSanitizer.
# Set MONGODB_URI to run the integration tests against a real mongod.
# LOADER_TEST_QUICK=1 skips the sanitizer builds.
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh
jobs=$(nproc)

run_suite() { # build-dir, cmake args..., then ctest -R filter in $FILTER
  dir=$1
  shift
  cmake -S . -B "$dir" -DLOADER_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  (cd "$dir" && ctest --output-on-failure -j"$jobs" ${FILTER:+-R "$FILTER"})
}

echo "== build and test (warnings are errors)"
FILTER="" run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ "${LOADER_TEST_QUICK:-0}" != 1 ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    FILTER="" run_suite build-asan -DLOADER_SANITIZE=address \
    -DCMAKE_BUILD_TYPE=Debug

  echo "== fuzz: record -> BSON and JSON -> BSON (libFuzzer + ASan, ${LOADER_FUZZ_SECONDS:-60} s each)"
  CC=clang cmake -S . -B build-fuzz -DLOADER_FUZZ=ON -DLOADER_WERROR=ON \
    -DLOADER_SANITIZE=address -DLOADER_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz_record fuzz_json >/dev/null
  for target in record json; do
    corpus=tests/fuzz/corpus
    [ "$target" = json ] && corpus=tests/fuzz/corpus-json
    mkdir -p "build-fuzz/corpus-$target"
    build-fuzz/tests/fuzz/fuzz_$target \
      -max_total_time="${LOADER_FUZZ_SECONDS:-60}" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      "build-fuzz/corpus-$target" "$corpus" 2>"build-fuzz/fuzz-$target.log" ||
      { tail -50 "build-fuzz/fuzz-$target.log"; exit 1; }
    printf 'fuzz_%s: ' "$target"
    grep -E "^stat::number_of_executed_units" "build-fuzz/fuzz-$target.log" || true
  done

  echo "== ThreadSanitizer"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    FILTER="unit_pool|unit_run|unit_job|integration_load_mongo|server|holes_9|sqlite_wal_[br]|sql_bulk_mysql|torture_sql" \
    run_suite build-tsan -DLOADER_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
fi
echo "== all tests passed"
