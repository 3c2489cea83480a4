#!/usr/bin/python3
"""MariaDB's bulk path (issue 15): batches go through LOAD DATA LOCAL
INFILE from memory, and nothing about what lands or what is refused
changes.

    test_sql_bulk.py values|refusals|prepared|max_errors|later_field

values: awkward text (tabs, newlines, backslashes, the text \\N, quotes,
4-byte UTF-8), doubles that are hard to print, the int64 ends and booleans,
in batches of 7; read back with pymysql and compared with Python's csv
value by value, with types; the server's Com_load counter shows the batches
went by LOAD DATA. refusals: a table made beforehand with a PRIMARY KEY and
a VARCHAR(5); duplicate keys and a too-long value inside batches are
rejected with their lines (1062, 1406), nothing is truncated, every other
row of those batches lands, and the accounting closes. prepared: the
server fails a batch (a trigger's SIGNAL) while the next one is prepared
on the job's second connection: nothing after the failed batch lands, and
--resume, once the trigger is gone, lands every row once, with the row
refused while preparing a later batch (a value that does not fit its
column) rejected once at its line. max_errors: the server refuses rows of
the second batch past --max-errors: the job stops, that batch is rolled
back, and the report counts as inserted exactly the rows that are in the
table. later_field: a field first seen after the first batch (an NDJSON
object of the second batch, which the job's second connection writes) is
refused with its line, as with one connection, and every other row lands:
only the first batch is checked against the table's columns."""
import contextlib
import csv
import json
import os
import sys

from loadtest import (SKIP, check, job, main, mysql_target, path, report,
                      require, run)

TEXTS = ["plain", "tab\there", "two\nlines", "cr\r\nlf", "back\\slash",
         "\\N", "\\t not a tab", "ends with \\", '"quoted", comma', "",
         "Zoë Ólafur", "emoji \U0001F600", "NULL", " spaces "]
DOUBLES = ["0.1", "-2.5", "1e-7", "6.02e23", "123456789.123456",
           "0.30000000000000004", "1.7976931348623157e308", "5e-324",
           "-0.001", "100.0", "2.5e-10", "3.141592653589793"]
INTS = ["9223372036854775807", "-9223372036854775808", "0", "-1", "42"]


def connect(db=None):
    import pymysql
    uri, user, pw, host, port, sock = mysql_target()
    return pymysql.connect(user=user, password=pw or "", host=host,
                           port=int(port or 3306), database=db,
                           unix_socket=sock, autocommit=True)


def query(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def com_load(conn):
    return int(query(conn, "SHOW GLOBAL STATUS LIKE 'Com_load'")[0][1])


@contextlib.contextmanager
def scratch_db(name):
    """An admin connection and a database name of this test's own
    (bulk_NAME_PID), dropped if it was made and the connection closed when
    the block ends."""
    db = "bulk_%s_%d" % (name, os.getpid())
    admin = connect()
    try:
        yield admin, db
    finally:
        try:
            query(admin, "DROP DATABASE IF EXISTS `%s`" % db)
        finally:
            admin.close()


def refused_lines(rejects):
    """The rejects file's rows as (line, reason), in file order."""
    with open(rejects, newline="", encoding="utf-8") as f:
        return [(int(r["line"]), r["reason"]) for r in csv.DictReader(f)]


def values():
    uri = mysql_target()[0]
    src = path("v.csv")
    n = 40
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "t", "d", "n", "b"])
        for i in range(n):
            w.writerow([i, TEXTS[i % len(TEXTS)], DOUBLES[i % len(DOUBLES)],
                        INTS[i % len(INTS)], "true" if i % 3 else "false"])
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    require(len(rows) == n and rows[1]["t"] == "tab\there", "the test file")
    with scratch_db("values") as (admin, db):
        before = com_load(admin)
        rc, out, err = run(["--uri", uri, "--db", db, "--batch-size", "7",
                            "-q", "--report-json", path("r.json"),
                            "v=" + src])
        after = com_load(admin)
        check(rc == 0, "exit %d, want 0: %s" % (rc, err))
        j = job(report(path("r.json")))
        check(j["inserted"] == n and j["rejected"] == 0,
              "inserted %r rejected %r, want %d, 0"
              % (j["inserted"], j["rejected"], n))
        # 6 batches of 7 or fewer rows; other tests may add to the counter
        check(after - before >= 6, "Com_load went from %d to %d: the "
              "batches did not go through LOAD DATA" % (before, after))
        got = {r[0]: r for r in query(admin, "SELECT id, t, d, n, b FROM "
                                      "`%s`.v" % db)}
    check(len(got) == n, "%d rows landed, want %d" % (len(got), n))
    for r in rows:
        want = (int(r["id"]), r["t"], float(r["d"]), int(r["n"]),
                1 if r["b"] == "true" else 0)
        g = got.get(want[0])
        check(g is not None and len(g) == 5 and all(
            type(a) is type(b) and a == b for a, b in zip(g, want)),
            "row %s: %r, want %r" % (r["id"], g, want))
    return 0


def refusals():
    uri = mysql_target()[0]
    src = path("r.csv")
    n = 30
    dup = {7: 3, 20: 11}     # data row index -> the earlier id it repeats
    long_code = {13}         # a code longer than VARCHAR(5)
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "code", "note"])
        for i in range(n):
            w.writerow([dup.get(i, i), "toolong" if i in long_code else
                        "c%d" % i, "note\t%d" % i])
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with scratch_db("refusals") as (admin, db):
        query(admin, "CREATE DATABASE `%s`" % db)
        query(admin, "CREATE TABLE `%s`.r (id BIGINT PRIMARY KEY, code "
              "VARCHAR(5), note LONGTEXT)" % db)
        rej = path("rejects.csv")
        rc, out, err = run(["--uri", uri, "--db", db, "--batch-size", "10",
                            "-q", "--rejects", rej, "--report-json",
                            path("r.json"), "r=" + src])
        got = {r[0]: r for r in query(admin, "SELECT id, code, note FROM "
                                      "`%s`.r" % db)}
    check(rc == 1, "exit %d, want 1: %s" % (rc, err))
    j = job(report(path("r.json")))
    bad = set(dup) | long_code
    check(j["inserted"] == n - len(bad) and j["rejected"] == len(bad) and
          j["post"] - j["prior"] == j["inserted"],
          "accounting: %r" % {k: j.get(k) for k in
                              ("processed", "inserted", "rejected", "prior",
                               "post")})
    refused = dict(refused_lines(rej))
    want_lines = {i + 2 for i in bad}  # the header is line 1
    check(set(refused) == want_lines, "rejected lines %s, want %s"
          % (sorted(refused), sorted(want_lines)))
    for i in dup:
        check("1062" in refused.get(i + 2, ""), "line %d: %r, want 1062"
              % (i + 2, refused.get(i + 2)))
    for i in long_code:
        check("1406" in refused.get(i + 2, ""), "line %d: %r, want 1406"
              % (i + 2, refused.get(i + 2)))
    check(len(got) == n - len(bad), "%d rows landed, want %d"
          % (len(got), n - len(bad)))
    for i, r in enumerate(rows):
        if i in bad:
            continue
        want = (int(r["id"]), r["code"], r["note"])
        check(got.get(want[0]) == want, "row %d: %r, want %r"
              % (i, got.get(want[0]), want))
    return 0


def prepared():
    uri = mysql_target()[0]
    src = path("p.csv")
    n, boom, misfit = 100, 35, 57  # batches of 10: boom in the 4th
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "v", "note"])
        for i in range(n):
            w.writerow([i, "x%d" % i if i == misfit else i * 3,
                        "note %d" % i])
    cp, rej = path("p.checkpoint"), path("p.rejects.csv")
    rj1, rj2 = path("p1.json"), path("p2.json")
    with scratch_db("prepared") as (admin, db):
        base = ["--uri", uri, "--db", db, "--batch-size", "10", "-q",
                "--checkpoint", cp, "--rejects", rej]
        query(admin, "CREATE DATABASE `%s`" % db)
        query(admin, "CREATE TABLE `%s`.r (id BIGINT PRIMARY KEY, v BIGINT, "
              "note LONGTEXT)" % db)
        # Every row the server is sent, kept even when its transaction is
        # rolled back (Aria does not take part in transactions).
        query(admin, "CREATE TABLE `%s`.sent (id BIGINT) ENGINE=Aria "
              "TRANSACTIONAL=0" % db)
        query(admin, "CREATE TRIGGER `%s`.boom BEFORE INSERT ON `%s`.r FOR "
              "EACH ROW BEGIN INSERT INTO `%s`.sent VALUES (NEW.id); IF "
              "NEW.id = %d THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
              "'boom'; END IF; END" % (db, db, db, boom))
        rc1, _, err1 = run(base + ["--report-json", rj1, "r=" + src])
        first = [r[0] for r in query(admin, "SELECT id FROM `%s`.r ORDER BY "
                                     "id" % db)]
        sent = query(admin, "SELECT MAX(id) FROM `%s`.sent" % db)[0][0]
        query(admin, "DROP TRIGGER `%s`.boom" % db)
        rc2, _, err2 = run(base + ["--resume", "--report-json", rj2,
                                   "r=" + src])
        got = query(admin, "SELECT id, v, note FROM `%s`.r ORDER BY id" % db)
    check(rc1 == 1 and "boom" in err1, "first run: exit %d, want 1 with the "
          "trigger's message: %s" % (rc1, err1))
    check(first == list(range(30)), "after the 4th batch failed: ids %s, "
          "want 0-29 (the 3 batches before it, nothing after)" % first)
    check(sent == boom, "the server was sent rows up to id %s, want up to "
          "%d: nothing after the failed batch" % (sent, boom))
    check(rc2 == 1, "resume: exit %d, want 1 (a row rejected): %s"
          % (rc2, err2))
    j = job(report(rj2))
    check((j["processed"], j["inserted"], j["rejected"]) == (n, n - 1, 1),
          "resume report: processed/inserted/rejected = %d/%d/%d, want "
          "%d/%d/1" % (j["processed"], j["inserted"], j["rejected"], n,
                       n - 1))
    refused = refused_lines(rej)
    check(len(refused) == 1 and refused[0][0] == misfit + 2 and
          "does not fit" in refused[0][1], "rejects %r, want line %d once "
          "(does not fit)" % (refused, misfit + 2))
    want = [(i, i * 3, "note %d" % i) for i in range(n) if i != misfit]
    check(list(got) == want, "table after resume: %d rows, want the %d good "
          "ones once, values unchanged" % (len(got), len(want)))
    return 0


def max_errors():
    uri = mysql_target()[0]
    src = path("m.csv")
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "v"])
        for i in range(50):  # 13, 15 and 17 repeat 11: batch 2 of 10
            w.writerow([11 if i in (13, 15, 17) else i, i])
    rj = path("m.json")
    with scratch_db("max_errors") as (admin, db):
        query(admin, "CREATE DATABASE `%s`" % db)
        query(admin, "CREATE TABLE `%s`.r (id BIGINT PRIMARY KEY, v BIGINT)"
              % db)
        rc, _, err = run(["--uri", uri, "--db", db, "--batch-size", "10",
                          "--max-errors", "1", "-q", "--report-json", rj,
                          "r=" + src])
        got = [r[0] for r in query(admin, "SELECT id FROM `%s`.r ORDER BY id"
                                   % db)]
    check(rc == 1 and "--max-errors 1" in err, "exit %d, want 1 (stopped "
          "past --max-errors): %s" % (rc, err))
    check(got == list(range(10)), "table: ids %s, want 0-9 (the second "
          "batch rolled back)" % got)
    j = job(report(rj))
    check(j["inserted"] == len(got) and j["post"] - j["prior"] == len(got),
          "report: inserted %d, post - prior %d; %d rows are in the table"
          % (j["inserted"], j["post"] - j["prior"], len(got)))
    return 0


def later_field():
    uri = mysql_target()[0]
    src = path("l.json")
    docs = [{"id": i, "v": i * 3} for i in range(30)]
    docs[15]["w"] = 1  # line 16, the second batch of 10
    with open(src, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    rj, rej = path("l.json.report"), path("l.rejects.csv")
    with scratch_db("later_field") as (admin, db):
        query(admin, "CREATE DATABASE `%s`" % db)
        rc, _, err = run(["--uri", uri, "--db", db, "--batch-size", "10",
                          "-q", "--rejects", rej, "--report-json", rj,
                          "r=" + src])
        got = list(query(admin, "SELECT id, v FROM `%s`.r ORDER BY id" % db))
    check(rc == 1 and "columns do not match" not in err, "exit %d, want 1 "
          "(a row rejected), the job not failed: %s" % (rc, err))
    want = [(d["id"], d["v"]) for i, d in enumerate(docs) if i != 15]
    check([tuple(r) for r in got] == want, "table: %d rows, want the %d "
          "without the field w" % (len(got), len(want)))
    j = job(report(rj))
    check(j.get("ok") and (j["processed"], j["inserted"], j["rejected"]) ==
          (30, 29, 1) and j["post"] - j["prior"] == 29,
          "report: %r, want ok, processed 30 = 29 inserted + 1 rejected, "
          "post - prior 29" % {k: j.get(k) for k in
                               ("ok", "processed", "inserted", "rejected",
                                "prior", "post")})
    refused = refused_lines(rej)
    check(len(refused) == 1 and refused[0][0] == 16 and
          "not a column" in refused[0][1], "rejects %r, want line 16 once "
          "(not a column)" % refused)
    return 0


def needs_mysql(fn):
    def wrapped():
        if not mysql_target():
            print("no MariaDB fixture: skipped", file=sys.stderr)
            return SKIP
        return fn()
    return wrapped


if __name__ == "__main__":
    sys.exit(main("sql_bulk_", {"values": needs_mysql(values),
                                "refusals": needs_mysql(refusals),
                                "prepared": needs_mysql(prepared),
                                "max_errors": needs_mysql(max_errors),
                                "later_field": needs_mysql(later_field)}))
