#!/usr/bin/python3
"""--index (issue 14, indexes after the load): the indexes exist afterwards
with their keys and options; an index already there is left as it is; a
unique index refused on duplicates names the duplicate keys with their
file lines, exits 1, and the report says the data loaded and the index
did not.

    test_indexes.py mongo|sqlite|mysql

The duplicate keys and their physical lines are computed here from
Python's csv module (line = the reader's line_num after the row); the
indexes are read back with pymongo's index_information(), sqlite3's
PRAGMA index_list/index_info and MariaDB's SHOW INDEX. MongoDB honours
MONGODB_URI (else a private test server)."""
import csv
import json
import os
import sqlite3
import sys

from loadtest import (SKIP, Server, check, main, mysql_connect, mysql_target,
                      path, report, run)

HEADER = ["email", "customer_id", "last", "first", "city"]


def write_file():
    """people.csv: unique emails, customer ids 7 and 12 repeated, one
    record spanning two lines (so lines are not row numbers), and the
    pair (last, first) repeated once."""
    rows = [
        ["a@x.org", "1", "Doe", "John", "Oslo"],
        ["b@x.org", "7", "Roe", "Jane", "Rome"],
        ["c@x.org", "3", "Poe", "Edgar", "Bergen\nsentrum"],
        ["d@x.org", "7", "Doe", "Jim", "Oslo"],
        ["e@x.org", "12", "Moe", "Al", "Lima"],
        ["f@x.org", "5", "Doe", "John", "Oslo"],
        ["g@x.org", "12", "Lu", "Ann", "Kyiv"],
        ["h@x.org", "7", "Ng", "Bo", "Hue"],
    ]
    p = path("people.csv")
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return p


def lines_of(p, fields):
    """{key tuple: [physical line where its record starts, ...]} for the
    keys held more than once, from Python's csv module."""
    seen = {}
    with open(p, newline="") as f:
        r = csv.reader(f)
        next(r)
        start = r.line_num + 1
        for row in r:
            d = dict(zip(HEADER, row))
            seen.setdefault(tuple(d[k] for k in fields), []).append(start)
            start = r.line_num + 1
    return {k: v for k, v in seen.items() if len(v) > 1}


def check_failure(rc, err, rep, coll, name, p, fields, what):
    """The unique index on fields failed: exit 1, the data is loaded, and
    each duplicate key is named with its lines, on stderr and in the
    JSON report."""
    check(rc == 1, "%s: exit %d, want 1" % (what, rc))
    jobs = rep["runs"][-1]["jobs"]
    check(all(j["ok"] and j["rejected"] == 0 for j in jobs) and
          sum(j["inserted"] for j in jobs) == 8,
          "%s: the load itself: %r" % (what, jobs))
    items = [i for i in rep["indexes"]["items"] if i["name"] == name]
    check(len(items) == 1, "%s: %s in the report: %r" % (what, name, rep))
    if not items:
        return
    it = items[0]
    check(it["status"] == "failed", "%s: %s status %r" % (what, name, it))
    check("not built" in err and "the data is loaded" in err,
          "%s: stderr says the data loaded, not the index: %r" % (what, err))
    want = lines_of(p, fields)
    got = {}
    for d in it["duplicates"]:
        key = tuple(str(d["key"][f]) for f in fields)
        got[key] = [ln["line"] for ln in d["lines"]]
        check(all(ln["file"] == p for ln in d["lines"]),
              "%s: files of %r" % (what, d))
        check(d["count"] == len(want.get(key, [])),
              "%s: count of %r: %r" % (what, key, d))
    check(got == want, "%s: duplicate keys and lines %r, want %r"
          % (what, got, want))
    for key, lines in want.items():
        text = ", ".join("%s:%d" % (p, n) for n in lines)
        check(text in err, "%s: stderr names %r at %s" % (what, key, text))


def args(p, extra=()):
    return ["--index", "email:1",
            "--index", "customer_id:1,unique",
            "--index", "last:1,first:-1,name=by_name",
            "--index", "city:1,sparse,on=people",
            "--report-json", path("r.json"), "-q"] + list(extra) + [
                "people=" + p]


def mongo():
    p = write_file()
    uri = os.environ.get("MONGODB_URI")
    srv = None if uri else Server()
    uri = uri or srv.uri
    db = "indexes_%d" % os.getpid()
    import pymongo
    cli = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        rc, out, err = run(["--uri", uri, "--db", db, "--drop"] + args(p))
        rep = report(path("r.json"))
        info = cli[db].people.index_information()
        check(info.get("email_1", {}).get("key") == [("email", 1)] and
              not info["email_1"].get("unique"),
              "mongo: email_1: %r" % info.get("email_1"))
        check(info.get("by_name", {}).get("key") ==
              [("last", 1), ("first", -1)], "mongo: by_name: %r" % info)
        check(info.get("city_1", {}).get("sparse") is True,
              "mongo: city_1 sparse: %r" % info.get("city_1"))
        check("customer_id_1" not in info, "mongo: customer_id_1 was built")
        check(cli[db].people.count_documents({}) == 8, "mongo: rows")
        check_failure(rc, err, rep, "people", "customer_id_1", p,
                      ["customer_id"], "mongo")
        compound(cli, db, uri, p)
    finally:
        cli.drop_database(db)
        cli.close()
        if srv:
            srv.stop()


def compound(cli, db, uri, p):
    """A compound unique index failing, then a load of the same index
    already there: status exists, nothing changed."""
    # --split 2: the file is read again once, not once per part.
    rc, out, err = run(["--uri", uri, "--db", db, "--drop", "--split", "2",
                        "--index", "last:1,first:1,unique",
                        "--report-json", path("c.json"), "-q",
                        "people=" + p])
    check_failure(rc, err, report(path("c.json")), "people",
                  "last_1_first_1", p, ["last", "first"], "mongo compound")
    rc, out, err = run(["--uri", uri, "--db", db, "--drop",
                        "--index", "email:1,unique",
                        "--report-json", path("e.json"), "-q",
                        "people=" + p])
    check(rc == 0, "mongo: unique email: exit %d" % rc)
    rc, out, err = run(["--uri", uri, "--db", db, "--index", "email:1,unique",
                        "--report-json", path("e.json"), "-q",
                        "--mode", "upsert", "--upsert-fields", "email",
                        "people=" + p])
    it = report(path("e.json"))["indexes"]["items"][0]
    check(rc == 0 and it["status"] == "exists",
          "mongo: index already there: exit %d, %r" % (rc, it))
    info = cli[db].people.index_information()
    check(info.get("email_1", {}).get("unique") is True,
          "mongo: email_1 unique: %r" % info)
    # A missing field is null to a unique index: two objects without
    # "code" clash, and their lines are found (a sparse one would not).
    j = path("codes.ndjson")
    objs = [{"code": 1}, {"x": 1}, {"code": 2}, {"x": 2}, {"code": 3}]
    with open(j, "w") as f:
        f.write("".join(json.dumps(o) + "\n" for o in objs))
    want = [n for n, o in enumerate(objs, 1) if "code" not in o]
    rc, out, err = run(["--uri", uri, "--db", db, "--drop",
                        "--index", "code:1,unique", "--report-json",
                        path("m.json"), "-q", "codes=" + j])
    it = report(path("m.json"))["indexes"]["items"][0]
    dups = it.get("duplicates", [])
    check(rc == 1 and len(dups) == 1 and dups[0]["key"] == {"code": None}
          and [ln["line"] for ln in dups[0]["lines"]] == want,
          "mongo missing keys: exit %d, %r, want lines %r" % (rc, it, want))
    rc, out, err = run(["--uri", uri, "--db", db, "--drop",
                        "--index", "code:1,unique,sparse", "-q",
                        "codes=" + j])
    check(rc == 0 and cli[db].codes.index_information().get(
        "code_1", {}).get("sparse") is True,
        "mongo: unique sparse over missing keys: exit %d" % rc)
    mixed_types(cli, db, uri)


def mixed_types(cli, db, uri):
    """MongoDB's index tells 1, true and "1" apart (and counts 1 and 1.0
    as one key): each duplicate key is traced to the lines holding that
    key, not to those holding an equal number of another type."""
    objs = [{"code": 1}, {"code": True}, {"code": "1"}, {"code": 1.0},
            {"code": True}, {"code": "1"}, {"code": 2},
            {"code": {"$numberLong": "1"}}, {"code": "2"}]

    def kind(v):  # the index's view of a value
        if isinstance(v, bool):
            return ("bool", v)
        if isinstance(v, dict):
            return ("number", float(v["$numberLong"]))
        if isinstance(v, (int, float)):
            return ("number", float(v))
        return ("text", v)
    want = {}
    for n, o in enumerate(objs, 1):
        want.setdefault(kind(o["code"]), []).append(n)
    want = {k: v for k, v in want.items() if len(v) > 1}
    j = path("mixed.ndjson")
    with open(j, "w") as f:
        f.write("".join(json.dumps(o) + "\n" for o in objs))
    rc, out, err = run(["--uri", uri, "--db", db, "--drop",
                        "--index", "code:1,unique", "--report-json",
                        path("x.json"), "-q", "codes=" + j])
    it = report(path("x.json"))["indexes"]["items"][0]
    got = {kind(d["key"]["code"]): [ln["line"] for ln in d["lines"]]
           for d in it.get("duplicates", [])}
    check(rc == 1 and got == want,
          "mongo mixed types: exit %d, lines %r, want %r" % (rc, got, want))


def sqlite():
    p = write_file()
    db = path("i.db")
    rc, out, err = run(["--uri", "sqlite:" + db] + args(p))
    rep = report(path("r.json"))
    c = sqlite3.connect(db)
    idx = {r[1]: bool(r[2]) for r in
           c.execute("PRAGMA index_list(people)")}

    def keys(name):
        # index_xinfo: (seqno, cid, name, desc, coll, key)
        return [(r[2], -1 if r[3] else 1) for r in
                c.execute("PRAGMA index_xinfo(%s)" % name) if r[5]]
    check(idx.get("people_email_1") is False and
          keys("people_email_1") == [("email", 1)],
          "sqlite: people_email_1: %r %r" % (idx, keys("people_email_1")))
    check(keys("by_name") == [("last", 1), ("first", -1)],
          "sqlite: by_name: %r" % keys("by_name"))
    check("people_customer_id_1" not in idx,
          "sqlite: people_customer_id_1 built: %r" % idx)
    check(c.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 8,
          "sqlite: rows")
    c.close()
    check_failure(rc, err, rep, "people", "people_customer_id_1", p,
                  ["customer_id"], "sqlite")
    # Again on the same table: left as they are; a column that is not one;
    # on= scopes an index to one table of two; the text report's table.
    rc, out, err = run(["--uri", "sqlite:" + db, "--index", "email:1",
                        "--index", "emial:1", "--index", "first:1,on=more",
                        "--report-json", path("r.json"), "people=" + p,
                        "more=" + p])
    items = report(path("r.json"))["indexes"]["items"]
    st = [(i["collection"], i["name"], i["status"]) for i in items]
    check(rc == 1 and st == [
        ("people", "people_email_1", "exists"),
        ("more", "more_email_1", "built"),
        ("people", "people_emial_1", "failed"),
        ("more", "more_emial_1", "failed"),
        ("more", "more_first_1", "built")] and
        'no column "emial"' in items[2]["error"],
        "sqlite: again: exit %d, %r" % (rc, st))
    rows = [ln.split() for ln in out.splitlines()]
    check(["indexes:", "5", "in"] == (rows[rows.index([]) + 1][:3]
                                      if [] in rows else None) and
          ["people", "people_email_1", "exists"] in [r[:3] for r in rows] and
          ["more", "more_emial_1", "FAILED"] in [r[:3] for r in rows],
          "sqlite: the text report: %r" % out)
    c = sqlite3.connect(db)
    check([r[1] for r in c.execute("PRAGMA index_list(people)")
           if r[1] == "people_first_1"] == [],
          "sqlite: on=more built on people")
    c.close()
    rc, out, err = run(["--uri", "sqlite:" + db, "--index", "a:1,on=nope",
                        "people=" + p])
    check(rc == 2 and "on=nope" in err, "sqlite: on=nope: exit %d" % rc)
    # Standard input cannot be read again: its lines are unknown, which
    # is not the same as no line holding the key.
    with open(p, "rb") as f:
        rc, out, err = run(["--uri", "sqlite:" + path("s.db"), "--index",
                            "customer_id:1,unique", "-q", "people=-"],
                           stdin=f)
    check(rc == 1 and "lines of some duplicate keys are unknown" in err and
          "no line of the input holds it" not in err,
          "sqlite: standard input: exit %d, %r" % (rc, err))
    sqlite_json_and_skipped()
    sqlite_text_column()


def sqlite_text_column():
    """A column of mixed values is TEXT: true is stored as "true", not
    "1", so the lines of the key "1" are those of 1, "1" and 1.0, and the
    lines of "true" those of true. The oracle is what sqlite3 reads back,
    row by row (one object per line, loaded in file order)."""
    db = path("t.db")
    p = path("mixed.ndjson")
    objs = [{"k": 1}, {"k": True}, {"k": "1"}, {"k": 1}, {"k": True},
            {"k": "1"}, {"k": "01"}, {"k": 1.0}, {"k": "x"}]
    with open(p, "w") as f:
        f.write("".join(json.dumps(o) + "\n" for o in objs))
    rc, out, err = run(["--uri", "sqlite:" + db, "--index", "k:1,unique",
                        "--report-json", path("t.json"), "-q", "t=" + p])
    c = sqlite3.connect(db)
    want = {}
    for line, k in c.execute("SELECT rowid, k FROM t ORDER BY rowid"):
        want.setdefault(k, []).append(line)
    c.close()
    want = {k: v for k, v in want.items() if len(v) > 1}
    it = report(path("t.json"))["indexes"]["items"][0]
    got = {d["key"]["k"]: [ln["line"] for ln in d["lines"]]
           for d in it.get("duplicates", [])}
    check(rc == 1 and len(want) == 2 and got == want,
          "sqlite text column: exit %d, lines %r, want %r" % (rc, got, want))


def sqlite_json_and_skipped():
    """NDJSON input: lines are the objects' lines (one per line here,
    after a blank line). A load that fails (--max-errors 0 on a ragged
    row) builds no index: each is skipped, exit 1, nothing created."""
    db = path("j.db")
    p = path("people.ndjson")
    rows = [{"email": "a", "n": 4}, {"email": "b", "n": 9},
            {"email": "c", "n": 4}, {"email": "d", "n": 9},
            {"email": "e", "n": 4}]
    with open(p, "w") as f:
        f.write("\n")
        for r in rows:
            f.write(json.dumps(r) + "\n")
    want = {}
    with open(p) as f:
        for n, text in enumerate(f, 1):
            if text.strip():
                want.setdefault(json.loads(text)["n"], []).append(n)
    rc, out, err = run(["--uri", "sqlite:" + db, "--index", "n:1,unique",
                        "--report-json", path("j.json"), "-q", "pj=" + p])
    it = report(path("j.json"))["indexes"]["items"][0]
    got = {d["key"]["n"]: [ln["line"] for ln in d["lines"]]
           for d in it["duplicates"]}
    check(rc == 1 and got == want, "sqlite json: exit %d, lines %r, want %r"
          % (rc, got, want))

    bad = path("bad.csv")
    with open(bad, "w", newline="") as f:
        csv.writer(f).writerows([["email", "n"], ["a", "1"], ["b"]])
    rc, out, err = run(["--uri", "sqlite:" + db, "--index", "email:1",
                        "--max-errors", "0", "--report-json",
                        path("b.json"), "-q", "bad=" + bad])
    items = report(path("b.json"))["indexes"]["items"]
    c = sqlite3.connect(db)
    idx = list(c.execute("PRAGMA index_list(bad)"))
    c.close()
    check(rc == 1 and [i["status"] for i in items] == ["skipped"] and
          not idx and "no index built" in err,
          "sqlite failed load: exit %d, %r, %r" % (rc, items, idx))


def mysql():
    target = mysql_target()
    if not target:
        print("no MariaDB fixture: skipped", file=sys.stderr)
        return SKIP
    uri = target[0]
    p = write_file()
    db = "indexes_%d" % os.getpid()
    rc, out, err = run(["--uri", uri, "--db", db] + args(p))
    rep = report(path("r.json"))
    conn = mysql_connect(target, db)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW INDEX FROM people")
            idx = {}
            for r in cur.fetchall():
                idx.setdefault(r["Key_name"], []).append(
                    (r["Column_name"], -1 if r["Collation"] == "D" else 1,
                     r["Non_unique"]))
            cur.execute("SELECT COUNT(*) AS n FROM people")
            n = cur.fetchone()["n"]
            cur.execute("DROP DATABASE %s" % db)
    finally:
        conn.close()
    check(idx.get("people_email_1") == [("email", 1, 1)],
          "mysql: people_email_1: %r" % idx)
    check([k[:2] for k in idx.get("by_name", [])] ==
          [("last", 1), ("first", -1)], "mysql: by_name: %r" % idx)
    check("people_customer_id_1" not in idx, "mysql: built: %r" % idx)
    check(n == 8, "mysql: rows %d" % n)
    check_failure(rc, err, rep, "people", "people_customer_id_1", p,
                  ["customer_id"], "mysql")


TARGETS = {"mongo": mongo, "sqlite": sqlite, "mysql": mysql}


if __name__ == "__main__":
    sys.exit(main("indexes_", TARGETS))
