#!/usr/bin/python3
"""--max-errors P% (issue 14: an error budget as a ratio): a job stops once
more than P% of the rows it has read are rejected, judged from the 1,000th
row on and at its end; under the budget every good row lands. Checked
against MongoDB (a private test server, read back with pymongo) and SQLite
(Python's sqlite3), with the good rows taken from Python's csv module."""
import csv
import os
import shutil
import sqlite3
import sys

from loadtest import (SKIP, TMP, Server, check, finish, job, path, report,
                      run)


def bad_rows_file(name, total, every):
    """id,name with every `every`-th row ragged. Returns the path and the
    good ids, as Python's csv module reads them."""
    p = path(name)
    with open(p, "w") as f:
        f.write("id,name\n")
        for k in range(1, total + 1):
            f.write("%d\n" % k if k % every == 0 else "%d,n%d\n" % (k, k))
    with open(p, newline="") as f:
        good = [int(r["id"]) for r in csv.DictReader(f) if r["name"]]
    return p, good


def check_stopped(rc, err, j, want_max_processed, what):
    check(rc == 1, "%s: exit %d, want 1" % (what, rc))
    check(not j["ok"] and "more than --max-errors" in j.get("error", ""),
          "%s: the job did not stop for the budget: %r" % (what, j))
    check(j["processed"] <= want_max_processed, "%s: read %d rows, want at "
          "most %d" % (what, j["processed"], want_max_processed))
    check(j["rejected"] > 0 and j["rejected"] * 100 > 5 * j["processed"],
          "%s: %d of %d rejected is within 5%%" % (what, j["rejected"],
                                                   j["processed"]))
    check("more than --max-errors" in err, "%s: stderr does not say why: %r"
          % (what, err[-300:]))


def main():
    if os.environ.get("MONGODB_URI"):
        print("skipped: uses a private test server (MONGODB_URI is set)")
        return SKIP
    big, big_good = bad_rows_file("big.csv", 5000, 10)      # 10% bad
    small, small_good = bad_rows_file("small.csv", 50, 5)    # 20% bad
    srv = Server()
    try:
        cli = srv.client()
        rj = path("r.json")
        base = ["--uri", srv.uri, "--db", "budget", "--batch-size", "100",
                "--report-json", rj, "-q"]
        # Over the budget: stops soon after the 1,000th row, not at the end.
        rc, out, err = run(base + ["--max-errors", "5%", "a=" + big])
        j = job(report(rj))
        check_stopped(rc, err, j, 1100, "10% bad, --max-errors 5%")
        ids = sorted(d["id"] for d in cli.budget.a.find({}))
        check(len(ids) == j["inserted"] and ids == sorted(set(ids)) and
              set(ids) <= set(big_good), "10%% bad, 5%%: %d documents, "
              "report says %d inserted" % (len(ids), j["inserted"]))
        # Within the budget: the whole file, every good row once.
        rc, out, err = run(base + ["--max-errors", "12.5%", "b=" + big])
        j = job(report(rj))
        check(rc == 1 and j["ok"] and j["processed"] == 5000 and
              j["rejected"] == 500, "10%% bad, --max-errors 12.5%%: exit %d, "
              "%r" % (rc, j))
        ids = sorted(d["id"] for d in cli.budget.b.find({}))
        check(ids == big_good, "12.5%%: %d documents, want the %d good rows "
              "once" % (len(ids), len(big_good)))
        # A file smaller than 1,000 rows is judged at its end.
        rc, out, err = run(base + ["--max-errors", "10%", "c=" + small])
        j = job(report(rj))
        check_stopped(rc, err, j, 50, "20% bad in 50 rows, --max-errors 10%")
        check(j["processed"] == 50 and j["rejected"] == 10,
              "50 rows: processed %d, rejected %d; want 50 and 10" % (
                  j["processed"], j["rejected"]))
        # Bad values are refused before anything is written.
        for bad in ("101%", "-1%", "%", "x%", "5 %"):
            rc, out, err = run(base + ["--max-errors", bad, "d=" + small])
            check(rc == 2 and "--max-errors" in err,
                  "--max-errors %s: exit %d, want 2" % (bad, rc))
        check(cli.budget.d.count_documents({}) == 0, "a refused command "
              "wrote rows")
    finally:
        srv.stop()
    # SQLite: the same budget, read back with Python's sqlite3.
    db = path("b.db")
    rc, out, err = run(["--uri", "sqlite:" + db, "--batch-size", "100",
                        "--report-json", rj, "-q", "--max-errors", "5%",
                        "t=" + big])
    j = job(report(rj))
    check_stopped(rc, err, j, 1100, "SQLite, 10% bad, --max-errors 5%")
    c = sqlite3.connect(db)
    ids = [r[0] for r in c.execute("SELECT id FROM t ORDER BY id")]
    c.close()
    check(len(ids) == j["inserted"] and set(ids) <= set(big_good),
          "SQLite: %d rows, report says %d inserted"
          % (len(ids), j["inserted"]))
    return 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(code if code == SKIP else finish("integration_max_errors_ratio"))
