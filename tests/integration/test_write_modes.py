#!/usr/bin/python3
"""Issue 14's write-side capabilities behind mongoimport's flags:

  delete    --mode delete removes one document per row, matched by the
            upsert fields (default _id); deleted and matched-nothing rows
            are reported, post - prior = -deleted; a second run deletes
            nothing; --upsert-fields picks another key
  bypass    a collection with a validator: without the flag the invalid
            rows are rejected with their lines (code 121), the rest land;
            with --bypass-document-validation every row lands, in insert
            and upsert mode
  stop      a unique index and duplicates: --stop-on-error (and
            --maintain-insertion-order) land exactly the rows before the
            first duplicate, in file order, reject that one and write
            nothing after it; a --resume that drops --stop-on-error or
            adds --bypass-document-validation is refused (exit 2); without
            the flag every row but the duplicates lands
  retry     --stop-on-error through a lost reply (retryWrites=false, so
            the loader retries itself): the ordered retry goes on past the
            duplicate _ids of what landed, and every row lands once
  mongoimport  where mongoimport is on PATH (or $MONGOIMPORT): the same
            delete, --maintainInsertionOrder and --bypassDocumentValidation
            loads through both leave identical collections (else skipped)
  sql       SQLite: --mode delete, --stop-on-error and
            --bypass-document-validation are refused with exit 2, nothing
            written

    test_write_modes.py delete|bypass|stop|retry|mongoimport|sql

Expected rows come from Python's csv module; what landed is read back with
pymongo (natural order for "in file order") or sqlite3. Uses $MONGODB_URI
when set (a database of its own), else a private mongo-test-server; retry
needs the private server's faults and skips under $MONGODB_URI."""
import csv
import json
import os
import sqlite3

import pymongo

from loadtest import (SKIP, Server, check, inferred, job, main, path, report,
                      require, run)


def write_csv(name, rows):
    p = path(name)
    with open(p, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return p


def read_csv(p):
    """The file's rows as Python's csv module reads them, with the
    physical line each starts on (one line per record in these files)."""
    with open(p, newline="") as f:
        return [(i + 2, r) for i, r in enumerate(csv.DictReader(f))]


def rejects(p):
    with open(p, newline="") as f:
        return list(csv.DictReader(f))


class Target:
    """$MONGODB_URI (with a database of this test's own), else a private
    mongo-test-server."""

    def __init__(self, name, *server_args):
        uri = os.environ.get("MONGODB_URI")
        self.db_name = "wm_%s_%d" % (name, os.getpid())
        self.srv = None
        if uri:
            self.uri = uri
            self.cli = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        else:
            self.srv = Server(*server_args)
            self.uri = self.srv.uri
            self.cli = self.srv.client()
        self.db = self.cli[self.db_name]

    def load(self, *args):
        return run(["--uri", self.uri, "--db", self.db_name, "--report-json",
                    path("r.json")] + list(args))

    def close(self):
        self.cli.drop_database(self.db_name)
        if self.srv:
            self.srv.stop()


def same_doc(d, row, what):
    """d holds exactly the row's fields, typed by the README's rules."""
    want = {k: inferred(v) for k, v in row.items()}
    got = dict(d)
    types = {k: type(v) for k, v in got.items()}
    return check(got == want and
                 types == {k: type(v) for k, v in want.items()},
                 "%s: %r, want %r" % (what, got, want))


def delete():
    n = 40
    base = [["_id", "sku", "qty"]] + [[str(i), "S%03d" % i, str(i * 3)]
                                      for i in range(1, n + 1)]
    src = write_csv("all.csv", base)
    # Delete every third id, a repeat (matches nothing the second time),
    # ids that were never there, across batches of 4.
    keys = [str(i) for i in range(3, n + 1, 3)] + ["6", "1000", "1001"]
    dels = write_csv("del.csv", [["_id"]] + [[k] for k in keys])
    t = Target("delete")
    try:
        rc, out, err = t.load("--drop", "c=" + src)
        require(rc == 0, "the first load")
        rc, out, err = t.load("--mode", "delete", "--batch-size", "4",
                              "c=" + dels)
        check(rc == 0, "delete: exit %d, want 0" % rc)
        j = job(report(path("r.json")))
        gone = {int(k) for k in keys if 1 <= int(k) <= n}
        want = {"processed": len(keys), "deleted": len(gone),
                "unmatched": len(keys) - len(gone), "inserted": 0,
                "rejected": 0, "post": n - len(gone), "prior": n}
        check({k: j.get(k) for k in want} == want,
              "delete report: %r, want %r" % (j, want))
        check(j["post"] - j["prior"] == -j["deleted"], "post - prior")
        check("c=%s: deleted %d, matched nothing %d" % (
            dels, len(gone), len(keys) - len(gone)) in out
              or "%s: deleted %d" % (dels, len(gone)) in out,
              "the text report says what was deleted: %r" % out)
        rows = {int(r["_id"]): r for _, r in read_csv(src)}
        left = {d["_id"]: d for d in t.db.c.find({})}
        check(sorted(left) == sorted(set(rows) - gone),
              "left after delete: %r" % sorted(left))
        for k, d in left.items():
            same_doc(d, rows[k], "left row %d" % k)
        # Deleting again deletes nothing: every row matches nothing.
        rc, out, err = t.load("--mode", "delete", "c=" + dels)
        j = job(report(path("r.json")))
        check(rc == 0 and j.get("deleted", 0) == 0 and
              j.get("unmatched") == len(keys) and t.db.c.count_documents(
                  {}) == n - len(gone), "second delete: %r" % j)
        # --upsert-fields sku: the key is another column.
        skus = write_csv("sku.csv", [["sku"], ["S001"], ["S002"], ["S999"]])
        rc, out, err = t.load("--mode", "delete", "--upsert-fields", "sku",
                              "c=" + skus)
        j = job(report(path("r.json")))
        check(rc == 0 and (j.get("deleted"), j.get("unmatched")) == (2, 1),
              "delete by sku: %r" % j)
        check(t.db.c.count_documents({"sku": {"$in": ["S001", "S002"]}})
              == 0 and t.db.c.count_documents({}) == n - len(gone) - 2,
              "after delete by sku")
        # A row without the key is rejected with its line, not guessed.
        nokey = write_csv("nokey.csv", [["_id", "x"], ["4", "a"], ["", "b"]])
        rc, out, err = t.load("--mode", "delete", "--ignore-blanks",
                              "--rejects", path("rj.csv"), "c=" + nokey)
        j = job(report(path("r.json")))
        rj = rejects(path("rj.csv"))
        check(rc == 1 and j.get("deleted") == 1 and j["rejected"] == 1 and
              [r["line"] for r in rj] == ["3"] and
              "upsert field \"_id\" is missing" in rj[0]["reason"] and
              "server" not in rj[0]["reason"],
              "delete without the key: %r %r" % (j, rj))
        # A delete that deletes nothing still says so: deleted 0 and
        # unmatched 0 are in the JSON and the text report.
        ho = write_csv("ho.csv", [["_id"]])
        rc, out, err = t.load("--mode", "delete", "c=" + ho)
        j = job(report(path("r.json")))
        check(rc == 0 and j.get("deleted") == 0 and j.get("unmatched") == 0
              and "%s: deleted 0, matched nothing 0" % ho in out,
              "delete of a header-only file: %r %r" % (j, out))
    finally:
        t.close()


def bypass():
    rows = [["_id", "name", "age"]] + [
        [str(i), "p%d" % i, str(-1 if i % 4 == 0 else 20 + i)]
        for i in range(1, 21)]
    src = write_csv("people.csv", rows)
    lines = read_csv(src)
    bad = [ln for ln, r in lines if int(r["age"]) < 0]
    t = Target("bypass")
    try:
        for mode in ("insert", "upsert"):
            t.db.drop_collection("p")
            t.db.create_collection("p", validator={"age": {"$gte": 0}})
            rc, out, err = t.load("--mode", mode, "--rejects", path("rj.csv"),
                                  "p=" + src)
            j = job(report(path("r.json")))
            rj = rejects(path("rj.csv"))
            check(rc == 1 and j["rejected"] == len(bad) and
                  j["inserted"] == len(lines) - len(bad),
                  "%s without bypass: exit %d, %r" % (mode, rc, j))
            check([int(r["line"]) for r in rj] == bad and
                  all("code 121" in r["reason"] for r in rj),
                  "%s: rejects %r, want lines %r" % (mode, rj, bad))
            got = {d["_id"]: d for d in t.db.p.find({})}
            check(sorted(got) == [int(r["_id"]) for ln, r in lines
                                  if ln not in bad],
                  "%s: landed %r" % (mode, sorted(got)))
            t.db.drop_collection("p")
            t.db.create_collection("p", validator={"age": {"$gte": 0}})
            rc, out, err = t.load("--mode", mode,
                                  "--bypass-document-validation", "p=" + src)
            j = job(report(path("r.json")))
            check(rc == 0 and j["rejected"] == 0 and
                  j["inserted"] == len(lines),
                  "%s with bypass: exit %d, %r" % (mode, rc, j))
            got = {d["_id"]: d for d in t.db.p.find({})}
            check(len(got) == len(lines), "%s with bypass: %d documents"
                  % (mode, len(got)))
            for _, r in lines:
                d = got.get(int(r["_id"]))
                if check(d is not None, "%s: row %s missing" % (mode,
                                                                r["_id"])):
                    same_doc(d, r, "%s with bypass" % mode)
        # Deletes carry the flag too, and still delete.
        dels = write_csv("pd.csv", [["_id"], ["4"], ["5"]])
        rc, out, err = t.load("--mode", "delete",
                              "--bypass-document-validation", "p=" + dels)
        j = job(report(path("r.json")))
        check(rc == 0 and j.get("deleted") == 2, "delete with bypass: %r" % j)
    finally:
        t.close()
    if not os.environ.get("MONGODB_URI"):
        sent_on_every_command(src)


def sent_on_every_command(src):
    """The flag is on every insert, update and delete command, and on none
    without it: the private server's --verbose log marks commands that
    carry it."""
    import re
    import subprocess
    from loadtest import SERVER
    log = path("verbose.log")
    with open(log, "w") as err:
        p = subprocess.Popen([SERVER, "--port", "0", "--verbose"],
                             stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        port = int(p.stdout.readline().strip().rsplit(":", 1)[1])
        uri = "mongodb://127.0.0.1:%d/" % port
        for bypass in (False, True):
            with open(log, "w"):
                pass  # the server appends: start the log afresh
            for mode in ("insert", "upsert", "merge", "delete"):
                run(["--uri", uri, "--db", "vb", "-q", "--mode", mode,
                     "--batch-size", "7"] +
                    (["--bypass-document-validation"] if bypass else []) +
                    ["p=" + src])
            with open(log) as f:
                writes = [ln.strip() for ln in f
                          if re.search(r"\.(insert|update|delete)", ln)]
            kinds = {re.search(r"\.(insert|update|delete)", ln).group(1)
                     for ln in writes}
            marked = [ln.endswith(" bypassDocumentValidation")
                      for ln in writes]
            check(kinds == {"insert", "update", "delete"} and
                  all(m == bypass for m in marked),
                  "bypass %s: write commands %r" % (bypass, writes))
    finally:
        p.terminate()
        p.wait()


def stop():
    # A unique index on email; the row at index 11 repeats row 2's email,
    # the row at index 19 row 4's.
    emails = ["u%d@x" % i for i in range(30)]
    emails[11], emails[19] = emails[2], emails[4]
    rows = [["_id", "email", "n"]] + [[str(i + 1), e, str(i)]
                                      for i, e in enumerate(emails)]
    src = write_csv("u.csv", rows)
    lines = read_csv(src)
    first_dup = lines[11][0]
    t = Target("stop")
    try:
        for flag in ("--stop-on-error", "--maintain-insertion-order"):
            t.db.drop_collection("u")
            t.db.u.create_index("email", unique=True)
            rc, out, err = t.load(flag, "--batch-size", "5", "--rejects",
                                  path("rj.csv"), "u=" + src)
            j = job(report(path("r.json")))
            rj = rejects(path("rj.csv"))
            check(rc == 1 and not j["ok"], "%s: exit %d" % (flag, rc))
            landed = [d["_id"] for d in t.db.u.find({})]  # natural order
            check(landed == list(range(1, 12)),
                  "%s: landed %r, want 1..11 in order" % (flag, landed))
            for d, (_, r) in zip(t.db.u.find({}), lines):
                same_doc(d, r, flag)
            check([int(r["line"]) for r in rj] == [first_dup] and
                  "11000" in rj[0]["reason"],
                  "%s: rejects %r, want line %d" % (flag, rj, first_dup))
            check(j["inserted"] == 11 and j["rejected"] == 1 and
                  j.get("stopped_at_line") == first_dup and
                  j["processed"] == j["inserted"] + j["rejected"] +
                  j.get("not_written", -1) and j["post"] - j["prior"] == 11,
                  "%s: report %r" % (flag, j))
            check("stopped at line %d" % first_dup in err,
                  "%s: stderr names the stop" % flag)
        # --resume sends the stopped batch again: the rows before the
        # duplicate come back as duplicate _ids (counted, not rejected) and
        # the load stops at the same row, the rejects file unchanged.
        t.db.drop_collection("u")
        t.db.u.create_index("email", unique=True)
        ck = ["--stop-on-error", "--batch-size", "5", "--checkpoint",
              path("cp"), "--rejects", path("rj.csv"), "u=" + src]
        t.load(*ck)
        rc, out, err = t.load("--resume", *ck)
        j = job(report(path("r.json")))
        rj = rejects(path("rj.csv"))
        check(rc == 1 and j["inserted"] == 11 and j["rejected"] == 1 and
              j.get("stopped_at_line") == first_dup and
              [int(r["line"]) for r in rj] == [first_dup] and
              [d["_id"] for d in t.db.u.find({})] == list(range(1, 12)),
              "--resume of a stopped load: %r %r" % (j, rj))
        # Both flags decide which rows land: a --resume that drops or adds
        # one is refused before anything is written.
        n = t.db.u.count_documents({})
        for flags, name in ((ck[1:], "--stop-on-error"),
                            (["--bypass-document-validation"] + ck,
                             "--bypass-document-validation")):
            rc, out, err = t.load("--resume", *flags)
            check(rc == 2 and "%s changed since the checkpoint" % name in err
                  and t.db.u.count_documents({}) == n,
                  "--resume with %s changed: exit %d, %r" % (name, rc, err))
        # A checkpoint written before these settings existed (and before
        # --infer-as and --array-index-fields) resumes with them off.
        old = ["--batch-size", "5", "--checkpoint", path("cp_old"),
               "v=" + src]
        rc, out, err = t.load(*old)
        with open(path("cp_old")) as f:
            cp = json.load(f)
        for k in ("--infer-as", "--array-index-fields", "--stop-on-error",
                  "--bypass-document-validation"):
            cp["plan"]["settings"].pop(k, None)
        with open(path("cp_old"), "w") as f:
            json.dump(cp, f)
        rc, out, err = t.load("--resume", *old)
        check(rc == 0 and t.db.v.count_documents({}) == len(lines),
              "--resume of a checkpoint without the new settings: exit %d, "
              "%r" % (rc, err))
        rc, out, err = t.load("--resume", "--stop-on-error", *old)
        check(rc == 2 and "--stop-on-error changed" in err,
              "--resume of it with --stop-on-error: exit %d" % rc)
        # Without it: unordered, batches in flight side by side; one row
        # of each duplicate pair lands (which one is not fixed), the load
        # goes on.
        t.db.drop_collection("u")
        t.db.u.create_index("email", unique=True)
        rc, out, err = t.load("--batch-size", "5", "--rejects",
                              path("rj.csv"), "u=" + src)
        j = job(report(path("r.json")))
        rj = sorted(int(r["line"]) for r in rejects(path("rj.csv")))
        pairs = ({lines[2][0], lines[11][0]}, {lines[4][0], lines[19][0]})
        check(rc == 1 and j["ok"] and j["inserted"] == 28 and len(rj) == 2
              and all(len(p & set(rj)) == 1 for p in pairs) and
              t.db.u.count_documents({}) == 28,
              "without --stop-on-error: %r %r" % (j, rj))
        # A row without its upsert field stops an ordered upsert at its
        # line, as the loader's own check, not the server's.
        mk = write_csv("mk.csv", [["_id", "x"], ["1", "a"], ["", "b"],
                                  ["3", "c"]])
        rc, out, err = t.load("--mode", "upsert", "--ignore-blanks",
                              "--stop-on-error", "k=" + mk)
        j = job(report(path("r.json")))
        check(rc == 1 and j.get("stopped_at_line") == 3 and
              j["inserted"] == 1 and j["rejected"] == 1 and
              "stopped at line 3 (--stop-on-error): upsert field" in err and
              "code 0" not in err,
              "ordered upsert without its key: %r %r" % (j, err))
        # One writer, in file order: not with --split.
        rc, out, err = t.load("--stop-on-error", "--split", "2", "u=" + src)
        check(rc == 2 and "--split" in err, "--stop-on-error --split: %d"
              % rc)
    finally:
        t.close()


def retry():
    if os.environ.get("MONGODB_URI"):
        print("skipped: needs the private server's faults (MONGODB_URI)")
        return SKIP
    rows = [["_id", "v"]] + [[str(i), "x%d" % i] for i in range(1, 51)]
    src = write_csv("r.csv", rows)
    srv = Server("--fault", "drop-after-apply:3")
    try:
        rc, out, err = run(["--uri", srv.uri + "?retryWrites=false", "--db",
                            "rt", "--stop-on-error", "--batch-size", "10",
                            "--retry-max-wait", "1", "--report-json",
                            path("r.json"), "r=" + src])
        j = job(report(path("r.json")))
        check(rc == 0 and j["retries"] >= 1 and j["inserted"] == 50 and
              j["rejected"] == 0, "ordered retry: exit %d, %r" % (rc, j))
        got = [d["_id"] for d in srv.client().rt.r.find({})]
        check(got == list(range(1, 51)), "ordered retry landed %r" % got)
    finally:
        srv.stop()


def mongoimport_bin():
    """mongoimport from $MONGOIMPORT or PATH, or None."""
    import shutil
    m = os.environ.get("MONGOIMPORT") or shutil.which("mongoimport")
    return m if m and os.access(m, os.X_OK) else None


def differential():
    """The same loads through mongoimport and the loader: the collections
    must end up identical, document by document, in natural order."""
    mi = mongoimport_bin()
    if not mi:
        print("skipped: no mongoimport on PATH or in $MONGOIMPORT")
        return SKIP
    n = 30
    emails = ["u%d@x" % i for i in range(n)]
    emails[11] = emails[2]
    src = write_csv("m.csv", [["_id", "email", "n"]] + [
        [str(i + 1), e, str(i * 7)] for i, e in enumerate(emails)])
    dels = write_csv("md.csv", [["_id"]] + [[k] for k in
                                            ("3", "5", "99", "7", "3")])
    t = Target("mongoimport")
    try:
        db = t.db_name

        def mongoimport(coll, f, *flags):
            import subprocess
            uri = t.uri.rstrip("/") + "/" + db
            if "?" in t.uri:
                uri = t.uri  # a URI with options: --db names the database
            p = subprocess.run([mi, "--uri", uri, "--db", db, "-c", coll,
                                "--type", "csv", "--headerline", "--file",
                                f, "--quiet"] + list(flags),
                               capture_output=True, text=True)
            return p.returncode

        def docs(coll, natural=False):
            """Natural order, or by _id (mongoimport's several workers
            insert in no fixed order)."""
            cur = t.db[coll].find({})
            return list(cur if natural else cur.sort("_id", 1))

        # --mode delete after a plain load.
        for coll, tool in (("mi_del", "mongoimport"), ("ld_del", "loader")):
            if tool == "mongoimport":
                require(mongoimport(coll, src) == 0, "mongoimport load")
                rc = mongoimport(coll, dels, "--mode", "delete")
            else:
                require(t.load("-q", coll + "=" + src)[0] == 0, "load")
                rc = t.load("-q", "--mode", "delete", coll + "=" + dels)[0]
            check(rc == 0, "%s --mode delete: exit %d" % (tool, rc))
        check(docs("mi_del") == docs("ld_del"),
              "delete: mongoimport left %r, the loader %r" % (
                  [d["_id"] for d in docs("mi_del")],
                  [d["_id"] for d in docs("ld_del")]))
        # --maintainInsertionOrder with a unique index and a duplicate.
        for coll in ("mi_ord", "ld_ord"):
            t.db[coll].create_index("email", unique=True)
        rc = mongoimport("mi_ord", src, "--maintainInsertionOrder")
        # (the duplicate mid-batch: an unordered batch would land the rows
        # after it)
        rc2 = t.load("-q", "--maintain-insertion-order", "--batch-size",
                     "5", "ld_ord=" + src)[0]
        check(rc == 1 and rc2 == 1, "ordered: exits %d and %d" % (rc, rc2))
        check(docs("mi_ord", True) == docs("ld_ord", True) and
              len(docs("ld_ord")) == 11,
              "ordered: mongoimport landed %r, the loader %r" % (
                  [d["_id"] for d in docs("mi_ord", True)],
                  [d["_id"] for d in docs("ld_ord", True)]))
        # --bypassDocumentValidation against a validator.
        for coll in ("mi_val", "ld_val"):
            t.db.create_collection(coll, validator={"n": {"$lt": 100}})
        rc = mongoimport("mi_val", src, "--bypassDocumentValidation")
        rc2 = t.load("-q", "--bypass-document-validation", "ld_val=" + src)[0]
        check(rc == rc2 == 0 and docs("mi_val") == docs("ld_val") and
              len(docs("ld_val")) == n,
              "bypass: mongoimport %d docs, the loader %d" % (
                  len(docs("mi_val")), len(docs("ld_val"))))
    finally:
        t.close()


def sql():
    src = write_csv("s.csv", [["_id", "a"], ["1", "x"]])
    db = path("s.db")
    for flags, name in ((["--mode", "delete"], "--mode delete"),
                        (["--stop-on-error"], "--stop-on-error"),
                        (["--maintain-insertion-order"], "--stop-on-error"),
                        (["--bypass-document-validation"],
                         "--bypass-document-validation")):
        rc, out, err = run(["--uri", "sqlite:" + db] + flags + ["s=" + src])
        check(rc == 2 and name in err and "sqlite" in err,
              "sqlite %s: exit %d, %r" % (flags, rc, err))
        if os.path.exists(db):
            c = sqlite3.connect(db)
            n = c.execute("SELECT count(*) FROM sqlite_master WHERE "
                          "name = 's'").fetchone()[0]
            c.close()
            check(n == 0, "sqlite %s wrote a table" % flags)


if __name__ == "__main__":
    import sys
    sys.exit(main("write_modes_", {"delete": delete, "bypass": bypass,
                                   "stop": stop, "retry": retry,
                                   "sql": sql,
                                   "mongoimport": differential}))
