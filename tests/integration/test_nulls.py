#!/usr/bin/python3
"""--null-values (issue 14, null tokens): fields whose text is exactly one
of the tokens are stored as null, in untyped and typed columns alike;
other texts keep their types; without the option the same file keeps the
tokens as text and a typed column refuses them.

    test_nulls.py mongo|sqlite|mysql

Expected values come from Python's csv module and the README's rules,
restated here; what landed is read back with pymongo, Python's sqlite3 or
pymysql."""
import csv
import os
import sqlite3
import sys

from loadtest import (SKIP, Server, check, inferred, job, main,
                      mysql_connect, mysql_target, path, report, require,
                      run)

TOKENS = ["NULL", "\\N", "n/a"]
ROWS = [
    ["id", "name", "score", "note"],
    ["1", "NULL", "5", "plain"],
    ["2", "\\N", "NULL", ""],
    ["3", "n/a", "7", "n/a"],
    ["4", "NULL", "", "null"],      # quoted below: still the text NULL
    ["5", "Null", "8", "N/A"],      # not a token: case matters
    ["6", "x", "\\N", "NULL "],     # a space makes it another text
]


def write_file():
    p = path("n.csv")
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        for i, r in enumerate(ROWS):
            if i == 4:
                f.write('4,"NULL",,null\r\n')
            else:
                w.writerow(r)
    with open(p, newline="") as f:
        rows = list(csv.DictReader(f))
    require(rows[3]["name"] == "NULL" and len(rows) == 6, "the test file")
    return p, rows


def expected(row, nulls):
    """The document a row becomes: score is typed int32 (blank: null)."""
    out = {}
    for k, v in row.items():
        if nulls and v in TOKENS:
            out[k] = None
        elif k == "score":
            out[k] = int(v) if v else None
        else:
            out[k] = inferred(v)
    return out


def compare(got, rows, what):
    """got: {id: {field: value}} as read back."""
    check(len(got) == len(rows), "%s: %d rows, want %d" % (what, len(got),
                                                           len(rows)))
    for r in rows:
        want = expected(r, True)
        d = got.get(want["id"])
        if d is None:
            check(False, "%s: row %s missing" % (what, r["id"]))
            continue
        for k, v in want.items():
            check(type(d.get(k)) is type(v) and d.get(k) == v,
                  "%s: row %s field %s: %r, want %r" % (what, r["id"], k,
                                                        d.get(k), v))


def args(src, nulls=True):
    a = ["--types", "score:int32", "--report-json", path("r.json"), "-q"]
    if nulls:
        a += ["--null-values", ",".join(TOKENS)]
    return a + ["n=" + src]


def mongo(src, rows):
    srv = Server()
    try:
        cli = srv.client()
        rc, out, err = run(["--uri", srv.uri, "--db", "nv"] + args(src))
        check(rc == 0, "mongo: exit %d, want 0" % rc)
        got = {d["id"]: d for d in cli.nv.n.find({}, {"_id": 0})}
        compare(got, rows, "mongo")
        # Without --null-values: the tokens stay text, and the typed
        # column refuses them (rows 2 and 6).
        rc, out, err = run(["--uri", srv.uri, "--db", "nv", "--drop"] +
                           args(src, nulls=False))
        j = job(report(path("r.json")))
        check(rc == 1 and j["rejected"] == 2 and j["inserted"] == 4,
              "mongo without --null-values: exit %d, %r" % (rc, j))
        d = cli.nv.n.find_one({"id": 1})
        check(d and d["name"] == "NULL", "mongo without --null-values: %r"
              % d)
    finally:
        srv.stop()


def sqlite(src, rows):
    db = path("n.db")
    rc, out, err = run(["--uri", "sqlite:" + db] + args(src))
    check(rc == 0, "sqlite: exit %d, want 0" % rc)
    c = sqlite3.connect(db)
    c.row_factory = sqlite3.Row
    got = {r["id"]: dict(r) for r in c.execute("SELECT * FROM n")}
    c.close()
    compare(got, rows, "sqlite")


def mysql(src, rows):
    target = mysql_target()
    if not target:
        print("no MariaDB fixture: skipped", file=sys.stderr)
        return SKIP
    uri = target[0]
    db = "nulls_%d" % os.getpid()
    rc, out, err = run(["--uri", uri, "--db", db] + args(src))
    check(rc == 0, "mysql: exit %d, want 0" % rc)
    conn = mysql_connect(target, db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM n")
            got = {r["id"]: r for r in cur.fetchall()}
            cur.execute("DROP DATABASE %s" % db)
    finally:
        conn.close()
    compare(got, rows, "mysql")


TARGETS = {"mongo": mongo, "sqlite": sqlite, "mysql": mysql}


if __name__ == "__main__":
    if sys.argv[1:] == ["mongo"] and os.environ.get("MONGODB_URI"):
        print("skipped: uses a private test server (MONGODB_URI is set)")
        sys.exit(SKIP)
    sys.exit(main("nulls_", {t: (lambda t=t: TARGETS[t](*write_file()))
                             for t in TARGETS}))
