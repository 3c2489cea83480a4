#!/bin/sh
# The README's options table is the loader's own option table: compare the
# block between the "options" markers with `loader --help-markdown`.
set -eu
loader=$1
readme=$2
expected=$("$loader" --help-markdown)
actual=$(sed -n '/<!-- options:begin/,/<!-- options:end/p' "$readme" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
  echo "README.md's options table differs from loader --help-markdown:" >&2
  printf '%s\n' "$expected" > /tmp/readme-options.expected.$$
  printf '%s\n' "$actual" | diff -u - /tmp/readme-options.expected.$$ >&2 || true
  rm -f /tmp/readme-options.expected.$$
  echo "regenerate it with: build/loader --help-markdown" >&2
  exit 1
fi
echo "README options table matches --help (1 passed, 0 failed)"
