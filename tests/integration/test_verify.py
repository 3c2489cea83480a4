#!/usr/bin/python3
"""--verify and --verify-only (issue 14, a load that verifies itself): a
clean load verifies N of N; a document changed, one deleted and one doubled
behind the loader's back (with pymongo, Python's sqlite3 or pymysql) are
each reported with their file and line by --verify-only, with exit 1;
what cannot be verified says so; standard input and upsert are refused.

    test_verify.py mongo|sqlite|mysql

The rows and their lines come from Python's csv module; what landed is
counted with the target's own client, never by the loader."""
import csv
import os
import sqlite3
import sys

from loadtest import (SKIP, Server, check, gen, main, mysql_target, path,
                      report, require, run, spawn, wait_mid_load)

ROWS = 2000
CHANGED, DELETED, DOUBLED = 5, 77, 9  # customer_id of the rows touched


def write_file():
    """The input, and each customer_id's physical line (from csv)."""
    p = path("c.csv")
    gen("customers", ROWS, 7, p)
    lines = {}
    with open(p, newline="") as f:
        r = csv.reader(f)
        next(r)
        start = r.line_num + 1
        for row in r:
            lines[int(row[0])] = start
            start = r.line_num + 1
    require(len(lines) == ROWS, "the test file has %d rows" % len(lines))
    return p, lines


def verify_job(rj):
    return report(rj)["verify"]["jobs"][0]


def clean(what, rc, out, rj, method):
    """A load that verified everything."""
    check(rc == 0, "%s: exit %d, want 0" % (what, rc))
    check("verified: %d of %d rows" % (ROWS, ROWS) in out,
          "%s: no 'verified: %d of %d rows' in %r" % (what, ROWS, ROWS, out))
    v = verify_job(rj)
    check(v.get("method") == method and v["rows"] == ROWS and
          v["verified"] == ROWS and v["differences"] == 0 and
          v["extra"] == 0 and v["first"] == [],
          "%s: verify report %r" % (what, v))


def tampered(what, rc, out, err, rj, lines, src, method):
    """What --verify-only says once CHANGED was changed, DELETED deleted and
    DOUBLED inserted a second time."""
    check(rc == 1, "%s: exit %d, want 1" % (what, rc))
    v = verify_job(rj)
    check(v.get("method") == method and v["rows"] == ROWS and
          v["verified"] == ROWS - 3 and v["differences"] == 3,
          "%s: verify report %r" % (what, v))
    first = {d["line"]: d["what"] for d in v.get("first", [])}
    for cid, word in ((CHANGED, "changed" if method == "digest" else
                       "differs"),
                      (DELETED, "missing"), (DOUBLED, "doubled")):
        ln = lines[cid]
        check(word in first.get(ln, ""),
              "%s: line %d (customer %d) not reported as %s: %r"
              % (what, ln, cid, word, first))
        check("%s:%d: verify:" % (src, ln) in err,
              "%s: stderr does not name %s:%d: %r" % (what, src, ln, err))
    others = [ln for ln in first if ln and ln not in
              (lines[CHANGED], lines[DELETED], lines[DOUBLED])]
    check(not others, "%s: lines reported that were not touched: %r"
          % (what, others))
    want = "verified: %d of %d rows" % (ROWS - 3, ROWS)
    check(want in out, "%s: no %r in %r" % (what, want, out))


def refusals(args, what):
    """--verify refuses standard input and upsert (exit 2, nothing read)."""
    rc, out, err = run(args + ["--verify", "c=-"])
    check(rc == 2 and "standard input" in err,
          "%s: --verify with stdin: exit %d, %r" % (what, rc, err))
    rc, out, err = run(args + ["--verify", "--mode", "upsert",
                               "c=" + path("c.csv")])
    check(rc == 2 and "upsert" in err,
          "%s: --verify with upsert: exit %d, %r" % (what, rc, err))


def refused_rows(what, rc, out, rj):
    """A load whose row 3 (line 4) the target refused: that row is not
    expected, the others verify (exit 1 for the rejected row alone)."""
    v = verify_job(rj)
    check(rc == 1 and v.get("verified") == 3 and v["rows"] == 3 and
          v["refused"] == 1 and v["differences"] == 0 and v["first"] == [],
          "%s: a row refused by the target: exit %d, %r" % (what, rc, v))
    check("verified: 3 of 3 rows" in out and "1 refused by the target" in out,
          "%s: a row refused by the target: %r" % (what, out))


def write_refused(name, rows):
    p = path(name)
    with open(p, "w", newline="") as f:
        csv.writer(f).writerows([["id", "n"]] + rows)
    return p


def mongo(src, lines):
    srv = None
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        srv = Server()
        uri = srv.uri
    import pymongo
    cli = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    db = "verify_%d" % os.getpid()
    coll = cli[db].c
    rj = path("r.json")
    base = ["--uri", uri, "--db", db, "--report-json", rj]
    try:
        refusals(base, "mongo")
        for ids, method in ((["--id-from", "line"], "id+digest"),
                            ([], "digest")):
            what = "mongo %s" % method
            rc, out, err = run(base + ids + ["--drop", "--verify",
                                             "c=" + src])
            clean(what, rc, out, rj, method)
            check(coll.count_documents({}) == ROWS,
                  "%s: %d documents" % (what, coll.count_documents({})))
            city = coll.find_one({"customer_id": CHANGED})["city"]
            require(city.upper() != city, "a city with lower case: %r" % city)
            coll.update_one({"customer_id": CHANGED},
                            {"$set": {"city": city.upper()}})
            coll.delete_one({"customer_id": DELETED})
            d = coll.find_one({"customer_id": DOUBLED}, {"_id": 0})
            coll.insert_one(d)
            rc, out, err = run(base + ids + ["--verify-only", "c=" + src])
            tampered(what, rc, out, err, rj, lines, src, method)
        # Appending with ids of their own: by _id alone (the collection
        # held documents before); with new ObjectIds: nothing tells this
        # load's documents apart, which is said, with exit 1.
        rc, out, err = run(base + ["--id-from", "line", "--part", "1/2",
                                   "d=" + src])
        require(rc == 0, "mongo --part 1/2: exit %d" % rc)
        rc, out, err = run(base + ["--id-from", "line", "--verify",
                                   "--part", "2/2", "d=" + src])
        v = verify_job(rj)
        part2 = report(rj)["runs"][0]["jobs"][0]
        check(rc == 0 and v.get("method") == "id" and
              v["rows"] == part2["inserted"] and v["verified"] == v["rows"] and
              part2["prior"] > 0 and cli[db].d.count_documents({}) == ROWS,
              "mongo --part 2/2 after 1/2, by _id: exit %d, %r" % (rc, v))
        rc, out, err = run(base + ["--verify", "d=" + src])
        v = verify_job(rj)
        check(rc == 1 and v["verified"] is None and "--drop" in v["why"] and
              "not verified" in out,
              "mongo append with new ObjectIds: exit %d, %r" % (rc, v))
        # kill -9 mid-load, then --resume --verify: the whole file is
        # verified against the counts of the whole load.
        cp = path("cp.json")
        p = spawn(base + ["--drop", "--checkpoint", cp, "--batch-size",
                          "100", "--max-rate", "2000", "-q", "r=" + src])
        n = wait_mid_load(p, cp, lambda: cli[db].r.count_documents({}), ROWS,
                          "mongo resume")
        rc, out, err = run(base + ["--checkpoint", cp, "--resume", "--verify",
                                   "r=" + src])
        v = verify_job(rj)
        check(rc == 0 and v.get("method") == "id+digest" and
              v["rows"] == ROWS and v["verified"] == ROWS and
              cli[db].r.count_documents({}) == ROWS,
              "mongo --resume --verify after kill -9 at %d rows: exit %d, %r"
              % (n, rc, v))
        # Once more on the finished checkpoint: nothing is loaded again, all
        # is verified; a document deleted since is named.
        cli[db].r.delete_one({"customer_id": DELETED})
        rc, out, err = run(base + ["--checkpoint", cp, "--resume", "--verify",
                                   "r=" + src])
        v = verify_job(rj)
        check(rc == 1 and v["verified"] == ROWS - 1 and
              [d["line"] for d in v["first"]] == [lines[DELETED]] and
              cli[db].r.count_documents({}) == ROWS - 1,
              "mongo --resume --verify on a finished checkpoint: exit %d, %r"
              % (rc, v))
        # A unique index refuses row 3 (line 4): not expected there.
        cli[db].u.create_index("n", unique=True)
        u = write_refused("u.csv", [[1, 5], [2, 6], [3, 5], [4, 7]])
        rc, out, err = run(base + ["--verify", "u=" + u])
        refused_rows("mongo", rc, out, rj)
    finally:
        cli.drop_database(db)
        cli.close()
        if srv:
            srv.stop()


def sql_tamper(cur, ph):
    """Changes (the same length: the city upper-cased), deletes and doubles
    rows through a DB-API cursor."""
    cur.execute("UPDATE c SET city = UPPER(city) WHERE customer_id = " + ph,
                (CHANGED,))
    require(cur.rowcount == 1, "the change")
    cur.execute("DELETE FROM c WHERE customer_id = " + ph, (DELETED,))
    cur.execute("INSERT INTO c SELECT * FROM c WHERE customer_id = " + ph,
                (DOUBLED,))


def sqlite(src, lines):
    db = path("v.db")
    rj = path("r.json")
    base = ["--uri", "sqlite:" + db, "--report-json", rj]
    refusals(base, "sqlite")
    rc, out, err = run(base + ["--verify", "c=" + src])
    clean("sqlite", rc, out, rj, "digest")
    c = sqlite3.connect(db)
    check(c.execute("SELECT COUNT(*) FROM c").fetchone()[0] == ROWS,
          "sqlite: row count")
    sql_tamper(c.cursor(), "?")
    c.commit()
    c.close()
    rc, out, err = run(base + ["--verify-only", "c=" + src])
    tampered("sqlite", rc, out, err, rj, lines, src, "digest")
    # Nothing loaded into another file: every row is named missing.
    rc, out, err = run(["--uri", "sqlite:" + path("empty.db"),
                        "--report-json", rj, "--verify-only", "c=" + src])
    v = verify_job(rj)
    check(rc == 1 and v.get("verified") == 0 and v["rows"] == ROWS and
          v["differences"] == ROWS and v["first"] and
          v["first"][0]["line"] == 2 and "missing" in v["first"][0]["what"],
          "sqlite --verify-only on an empty target: exit %d, %r" % (rc, v))
    # The table's n is INTEGER (from the first batch): "x" does not fit.
    u = write_refused("u.csv", [[1, 5], [2, 6], [3, "x"], [4, 7]])
    rc, out, err = run(base + ["--verify", "--batch-size", "2", "u=" + u])
    refused_rows("sqlite", rc, out, rj)


def mysql(src, lines):
    import pymysql
    target = mysql_target()
    if not target:
        print("no MariaDB fixture: skipped", file=sys.stderr)
        return SKIP
    uri, user, pw, host, port, sock = target
    db = "verify_%d" % os.getpid()
    rj = path("r.json")
    base = ["--uri", uri, "--db", db, "--report-json", rj]
    refusals(base, "mysql")
    rc, out, err = run(base + ["--verify", "c=" + src])
    clean("mysql", rc, out, rj, "digest")
    conn = pymysql.connect(user=user, password=pw or "", host=host,
                           port=int(port or 3306), database=db,
                           unix_socket=sock, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM c")
            check(cur.fetchone()[0] == ROWS, "mysql: row count")
            sql_tamper(cur, "%s")
        rc, out, err = run(base + ["--verify-only", "c=" + src])
        tampered("mysql", rc, out, err, rj, lines, src, "digest")
        u = write_refused("u.csv", [[1, 5], [2, 6], [3, "x"], [4, 7]])
        rc, out, err = run(base + ["--verify", "--batch-size", "2",
                                   "u=" + u])
        refused_rows("mysql", rc, out, rj)
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS %s" % db)
        conn.close()


TARGETS = {"mongo": mongo, "sqlite": sqlite, "mysql": mysql}


if __name__ == "__main__":
    sys.exit(main("verify_", {t: (lambda t=t: TARGETS[t](*write_file()))
                              for t in TARGETS}))
