#!/usr/bin/python3
"""What --verify costs: the load's rows/s beside the verify phase's, from
the JSON report, per target and method.

    bench/verify.py [--build-dir build] [--rows 200000] [--reps 3]

MongoDB is the project's mongo-test-server (started here, private port):
its find scans the collection for every query (it has no _id index), so
the by-_id figure is only measured on a small file and says little of a
real server. SQLite is a file in a scratch directory. Prints one line per
case with the medians; nothing is asserted."""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile


def median_rates(loader, args, reps, tmp):
    loads, verifies = [], []
    for _ in range(reps):
        rj = os.path.join(tmp, "r.json")
        subprocess.run([loader] + args + ["-q", "--report-json", rj],
                       check=False)
        r = json.load(open(rj))
        job, v = r["runs"][0]["jobs"][0], r["verify"]
        if v["jobs"][0].get("verified") != job["inserted"]:
            raise SystemExit("not verified: %r" % v)
        loads.append(job["processed"] / job["elapsed_s"])
        verifies.append(v["jobs"][0]["rows"] / v["elapsed_s"])
    return statistics.median(loads), statistics.median(verifies)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--reps", type=int, default=3)
    o = ap.parse_args()
    loader = os.path.join(o.build_dir, "loader")
    tmp = tempfile.mkdtemp(prefix="bench-verify-")
    srv = subprocess.Popen([os.path.join(o.build_dir, "mongo-test-server"),
                            "--port", "0"], stdout=subprocess.PIPE)
    try:
        port = re.search(r":(\d+)", srv.stdout.readline().decode()).group(1)
        uri = "mongodb://127.0.0.1:%s/" % port
        big, small = os.path.join(tmp, "c.csv"), os.path.join(tmp, "s.csv")
        gen = os.path.join(o.build_dir, "loader-gen")
        subprocess.run([gen, "customers", str(o.rows), "--seed", "3", "-o",
                        big], check=True)
        subprocess.run([gen, "customers", "20000", "--seed", "3", "-o",
                        small], check=True)
        cases = [
            ("mongodb, digest", o.rows,
             ["--uri", uri, "--db", "bv", "--drop", "--verify", big]),
            ("mongodb, by _id + digest (test server: no _id index)", 20000,
             ["--uri", uri, "--db", "bv", "--drop", "--verify", "--id-from",
              "line", small]),
            ("sqlite, digest", o.rows,
             ["--uri", "sqlite:" + os.path.join(tmp, "b.db"), "--drop",
              "--verify", big]),
        ]
        for name, rows, args in cases:
            load, verify = median_rates(loader, args, o.reps, tmp)
            print("%-55s %8d rows  load %9.0f rows/s  verify %9.0f rows/s"
                  "  (%.2fx the load's time)"
                  % (name, rows, load, verify, load / verify))
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
