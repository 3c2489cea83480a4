#!/usr/bin/python3
"""--index: a load then the indexes (--index) against the same indexes
created before the load, on the test server and SQLite. Prints figures;
asserts nothing about time.

    bench/index_after.py [--build-dir build] [--rows N] [--reps N]

Indexes: email:1, customer_id:1, last_name:1,first_name:-1 and
zip:1,city:1 on loader-gen's customers. Each repetition starts from an
empty collection (table); "before" creates the indexes first (pymongo
create_index / sqlite3 CREATE INDEX), then loads; "after" loads with
--index. Wall time of the whole command, best of --reps, and the index
phase's own time from the JSON report. The test server keeps only unique
indexes (hash tables): its other indexes cost nothing either way, so its
figures measure the load alone."""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time

import pymongo

INDEXES = [[("email", 1)], [("customer_id", 1)],
           [("last_name", 1), ("first_name", -1)], [("zip", 1), ("city", 1)]]


def spec(keys):
    return ",".join("%s:%d" % k for k in keys)


def timed(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rows", type=int, default=300000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    b = a.build_dir
    loader = os.path.join(b, "loader")
    tmp = tempfile.mkdtemp(prefix="index-bench-")
    data = os.path.join(tmp, "customers.csv")
    subprocess.run([os.path.join(b, "loader-gen"), "customers", str(a.rows),
                    "--seed", "7", "-o", data], check=True,
                   stdout=subprocess.DEVNULL)
    report = os.path.join(tmp, "r.json")
    idx_args = sum((["--index", spec(k)] for k in INDEXES), []) + [
        "--report-json", report]
    phase = {}

    def index_phase(name):
        with open(report) as f:
            phase.setdefault(name, []).append(
                json.load(f)["indexes"]["elapsed_s"])
    base = ["-q", "--no-infer", "customers=" + data]

    srv = subprocess.Popen([os.path.join(b, "mongo-test-server"), "--port",
                            "0"], stdout=subprocess.PIPE)
    port = re.match(r"listening 127\.0\.0\.1:(\d+)",
                    srv.stdout.readline().decode()).group(1)
    uri = "mongodb://127.0.0.1:%s/" % port
    cli = pymongo.MongoClient(uri, directConnection=True)
    res = {}
    try:
        for _ in range(a.reps):
            cli.bench.customers.drop()
            t = timed([loader, "--uri", uri, "--db", "bench"] + idx_args +
                      base)
            res.setdefault("mongo after", []).append(t)
            index_phase("mongo after")
            cli.bench.customers.drop()
            t0 = time.monotonic()
            for k in INDEXES:
                cli.bench.customers.create_index(k)
            t = time.monotonic() - t0 + timed(
                [loader, "--uri", uri, "--db", "bench"] + base)
            res.setdefault("mongo before", []).append(t)
    finally:
        cli.close()
        srv.terminate()
        srv.wait()

    db = os.path.join(tmp, "b.db")
    for _ in range(a.reps):
        for f in (db, db + "-wal", db + "-shm"):
            if os.path.exists(f):
                os.remove(f)
        t = timed([loader, "--uri", "sqlite:" + db] + idx_args + base)
        res.setdefault("sqlite after", []).append(t)
        index_phase("sqlite after")
        os.remove(db)
        t0 = time.monotonic()
        c = sqlite3.connect(db)
        # The table as the loader makes it (every column text: --no-infer).
        c.execute("CREATE TABLE customers (%s)" % ", ".join(
            '"%s" TEXT' % h for h in open(data).readline().strip().split(",")))
        for i, k in enumerate(INDEXES):
            c.execute("CREATE INDEX i%d ON customers (%s)" % (i, ", ".join(
                '"%s" %s' % (f, "DESC" if d < 0 else "ASC") for f, d in k)))
        c.commit()
        c.close()
        t = time.monotonic() - t0 + timed([loader, "--uri", "sqlite:" + db] +
                                          base)
        res.setdefault("sqlite before", []).append(t)
    print("%d rows, %d indexes, best of %d (wall s, whole command)"
          % (a.rows, len(INDEXES), a.reps))
    for k in ("mongo before", "mongo after", "sqlite before", "sqlite after"):
        print("%-14s %8.3f%s" % (k, min(res[k]), "  (index phase %.3f)"
                                 % min(phase[k]) if k in phase else ""))
    for t in ("mongo", "sqlite"):
        print("%s: indexes after the load %.2fx faster" % (
            t, min(res[t + " before"]) / min(res[t + " after"])))
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
