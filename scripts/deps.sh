#!/bin/sh
# Installs what loader needs to build and test, from Debian's packages.
# Does nothing when everything is already there; otherwise runs
# `apt-get update` once and installs the missing packages (as root, or
# through sudo).
set -eu

PACKAGES="build-essential cmake pkg-config git python3 time
libmongoc-dev libbson-dev libcsv-dev libcmocka-dev zlib1g-dev libzstd-dev libsnappy-dev
libssl-dev openssl libsqlite3-dev libmariadb-dev mariadb-server mariadb-client valgrind
clang libclang-rt-14-dev python3-pymongo python3-pymysql"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
