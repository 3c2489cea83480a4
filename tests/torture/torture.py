#!/usr/bin/python3
"""Exactness torture harness for the loader (issue 11). See README.md.

    torture.py --target mongo|sql [--seed N] [--seconds S] [--keep DIR]
               [--only SUBSTRING]

Every check reads back what landed (pymongo / sqlite3 / pymysql) and
compares it with the oracle (oracle.py, Python's csv module); a difference
prints one FAIL line with the seed, the mode, the target, the kind of
difference and the first differing record's line. The last line says how
many checks ran and how many failed; the exit status is 0 only when every
check held.
"""
import argparse
import collections
import csv
import gzip
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402
import oracle as orc  # noqa: E402

csv.field_size_limit(sys.maxsize)

LOADER = os.environ.get("LOADER_BIN")
SERVER_BIN = os.environ.get("LOADER_TEST_SERVER_BIN")
ENOSPC_SO = os.environ.get("LOADER_TORTURE_ENOSPC")


# --------------------------------------------------------------------------
# bookkeeping


class Harness:
    def __init__(self, args):
        self.seed = args.seed
        self.target = args.target
        self.only = args.only
        self.deadline = time.monotonic() + args.seconds
        self.seconds = args.seconds
        self.checks = 0
        self.failures = []
        self.kills = 0
        self.failed_checks = 0
        self.tmp = tempfile.mkdtemp(prefix="torture-", dir=args.keep or None)
        self.keep = bool(args.keep)
        self.n = 0

    def time_left(self):
        return self.deadline - time.monotonic()

    def name(self, tag):
        self.n += 1
        return "%s_%d" % (tag, self.n)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def ok(self, mode, target, what):
        self.checks += 1

    def fail(self, seed, mode, target, kind, line, detail, new_check=True):
        if new_check:
            self.checks += 1
            self.failed_checks += 1
        msg = ("FAIL seed=%s mode=%s target=%s kind=%s line=%s: %s" %
               (seed, mode, target, kind, line, detail))
        self.failures.append(msg)
        print(msg, flush=True)

    def say(self, text):
        print(text, flush=True)


def short(v, n=70):
    r = repr(v)
    return r if len(r) <= n else r[:n] + "..."


# --------------------------------------------------------------------------
# running the loader


def run_loader(args, env=None, stdin=None, timeout=180, preload=None):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    if env:
        e.update(env)
    if preload:
        e["LD_PRELOAD"] = preload
        e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") +
                             ":verify_asan_link_order=0").lstrip(":")
    try:
        p = subprocess.run([LOADER] + args, env=e, stdin=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), \
            p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return "timeout", "", "timed out after %ss" % timeout


def read_report(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as ex:
        return {"error": str(ex)}


def report_jobs(rep):
    runs = rep.get("runs") or []
    return runs[-1].get("jobs", []) if runs else []


def read_rejects(path):
    """Rows of the rejects file as dicts, or None if there is none."""
    for p in (path, path + ".partial"):
        if os.path.exists(p):
            with open(p, "rb") as f:
                text = f.read().decode("latin-1")
            rows = list(csv.reader(io.StringIO(text, newline="")))
            if not rows:
                return []
            head = rows[0]
            return [dict(zip(head, r)) for r in rows[1:]]
    return None


# --------------------------------------------------------------------------
# reading back


def tag_value(v):
    from bson.int64 import Int64
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, Int64):
        return ("int64", int(v))
    if isinstance(v, int):
        return ("int32", v)
    if isinstance(v, float):
        return ("double", orc.dbits(v))
    if isinstance(v, str):
        return ("string", v)
    return ("other:" + type(v).__name__, repr(v))


class Mongo:
    kind = "mongo"

    def __init__(self, uri, db):
        import pymongo
        from bson.codec_options import CodecOptions
        self.uri = uri
        self.dbname = db
        self.client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
        self.db = self.client.get_database(
            db, codec_options=CodecOptions(
                unicode_decode_error_handler="surrogateescape"))

    def loader_args(self):
        return ["--uri", self.uri, "--db", self.dbname]

    def count(self, coll):
        try:
            return self.db[coll].count_documents({})
        except Exception:
            return -1

    def read(self, coll, header=None):
        """(docs as tuples of (name, tag, value) without _id, ids)."""
        docs, ids = [], []
        for d in self.db[coll].find({}):
            ids.append(d.get("_id"))
            docs.append(tuple((k,) + tag_value(v) for k, v in d.items()
                              if k != "_id"))
        return docs, ids

    def drop(self):
        try:
            self.client.drop_database(self.dbname)
        except Exception:
            pass


class Sqlite:
    kind = "sqlite"

    def __init__(self, path):
        self.file = path

    def loader_args(self):
        return ["--uri", "sqlite:" + self.file]

    def count(self, table):
        try:
            c = sqlite3.connect("file:%s?mode=ro" % self.file, uri=True,
                                timeout=5)
            n = c.execute('SELECT COUNT(*) FROM "%s"' % table).fetchone()[0]
            c.close()
            return n
        except Exception:
            return -1

    def create_text_table(self, table, header):
        c = sqlite3.connect(self.file)
        c.execute('DROP TABLE IF EXISTS "%s"' % table)
        c.execute('CREATE TABLE "%s" (%s)' % (
            table, ", ".join('"%s" TEXT' % h for h in header)))
        c.commit()
        c.close()

    def read(self, table, header):
        c = sqlite3.connect(self.file)
        c.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        cols = ", ".join('"%s", typeof("%s")' % (h, h) for h in header)
        try:
            rows = c.execute('SELECT %s FROM "%s"' % (cols, table)).fetchall()
        except sqlite3.OperationalError as ex:
            if "no such table" not in str(ex):
                raise
            rows = []  # nothing landed: the table was never made
        c.close()
        docs = []
        for r in rows:
            d = []
            for i, h in enumerate(header):
                v, t = r[2 * i], r[2 * i + 1]
                d.append((h, "sql-" + t, v if t != "real" else orc.dbits(v)))
            docs.append(tuple(d))
        return docs, []

    def drop(self):
        pass


class Mysql:
    kind = "mariadb"

    def __init__(self, uri, db):
        import urllib.parse
        import pymysql
        self.uri = uri
        self.dbname = db
        u = urllib.parse.urlparse(uri)
        self.conn_args = dict(
            host=u.hostname or "127.0.0.1", port=u.port or 3306,
            user=urllib.parse.unquote(u.username or ""),
            password=urllib.parse.unquote(u.password or ""),
            charset="utf8mb4", autocommit=True)
        q = urllib.parse.parse_qs(u.query)
        if "socket" in q:
            self.conn_args["unix_socket"] = q["socket"][0]
        self.pymysql = pymysql
        c = self.connect(None)
        with c.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
            cur.execute("CREATE DATABASE `%s`" % db)
        c.close()

    def connect(self, db):
        return self.pymysql.connect(database=db, **self.conn_args)

    def loader_args(self):
        return ["--uri", self.uri, "--db", self.dbname]

    def count(self, table):
        try:
            c = self.connect(self.dbname)
            with c.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM `%s`" % table)
                n = cur.fetchone()[0]
            c.close()
            return n
        except Exception:
            return -1

    def create_text_table(self, table, header):
        c = self.connect(self.dbname)
        with c.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS `%s`" % table)
            cur.execute("CREATE TABLE `%s` (%s) CHARACTER SET utf8mb4 "
                        "COLLATE utf8mb4_bin" % (table, ", ".join(
                            "`%s` LONGTEXT" % h for h in header)))
        c.close()

    def read(self, table, header):
        c = self.connect(self.dbname)
        with c.cursor() as cur:
            try:
                cur.execute("SELECT %s FROM `%s`" % (
                    ", ".join("`%s`" % h for h in header), table))
                rows = cur.fetchall()
            except self.pymysql.err.ProgrammingError as ex:
                if ex.args[0] != 1146:  # no such table: nothing landed
                    raise
                rows = []
        c.close()
        docs = []
        for r in rows:
            d = []
            for h, v in zip(header, r):
                if isinstance(v, str):
                    d.append((h, "sql-text", v))
                elif isinstance(v, float):
                    d.append((h, "sql-real", orc.dbits(v)))
                elif isinstance(v, int):
                    d.append((h, "sql-integer", v))
                elif v is None:
                    d.append((h, "sql-null", None))
                else:
                    d.append((h, "sql-" + type(v).__name__, repr(v)))
            docs.append(tuple(d))
        return docs, []

    def drop(self):
        try:
            c = self.connect(None)
            with c.cursor() as cur:
                cur.execute("DROP DATABASE IF EXISTS `%s`" % self.dbname)
            c.close()
        except Exception:
            pass


def expected_doc(o, rec, target_kind, infer, text_table):
    """What rec should read back as from this target."""
    d = o.doc(rec, infer)
    if not target_kind.startswith(("sqlite", "mariadb")):
        return d
    # SQL: every column TEXT (--no-infer, or a table made beforehand with
    # TEXT columns): values as text (doc/sql.md).
    return tuple((n, "sql-text", orc.sql_text((t, v))) for n, t, v in d)


def describe_doc(doc):
    return "{" + ", ".join("%s: %s" % (n, short(orc.show((t, v)) if
                                               t == "double" else
                                               "%s(%r)" % (t, v), 50))
                           for n, t, v in doc) + "}"


# --------------------------------------------------------------------------
# the invariant


class Expect:
    """What one check expects: the oracle records that must land (valid)
    and be rejected (with file label), and how the report must look."""

    def __init__(self, o, file_label, infer=True, text_table=False,
                 records=None):
        self.o = o
        self.file = file_label
        self.infer = infer
        self.text_table = text_table
        self.records = o.records if records is None else records


def compare(h, seed, mode, tgt, exp_list, landed, ids, rej_rows, rep, rc,
            want_rc=None, subset_ok=False, check_report=True,
            check_rejects=True, doubled_kind="row-doubled"):
    """The invariant over one load. exp_list: [Expect]. landed: docs read
    back from the target (one collection/table, all of exp_list)."""
    target = tgt.kind
    failed = [False]

    def bad(kind, line, detail):
        h.fail(seed, mode, target, kind, line, detail,
               new_check=not failed[0])
        failed[0] = True

    # 1. Documents: multiset equality, field by field with types.
    want = collections.Counter()
    line_of = {}
    for e in exp_list:
        for rec in e.records:
            if rec.status != "valid":
                continue
            d = expected_doc(e.o, rec, target, e.infer, e.text_table)
            want[d] += 1
            line_of.setdefault(d, (e.file, rec.line))
    got = collections.Counter(landed)
    missing = want - got
    extra = got - want
    if missing and not subset_ok:
        first = min(missing, key=lambda d: line_of[d][1])
        fl, ln = line_of[first]
        # A landed row close to it: same names, most values equal.
        best, score = None, -1
        for x in extra:
            s = sum(1 for a, b in zip(first, x) if a == b)
            if len(x) == len(first) and s > score:
                best, score = x, s
        if best is not None and score >= max(1, len(first) // 2):
            diffs = ["%s: want %s got %s" % (a[0], describe_doc([a])[1:-1],
                                             describe_doc([b])[1:-1])
                     for a, b in zip(first, best) if a != b]
            bad("value-differs", ln, "%s:%d landed as %s (%d rows missing, "
                "%d unexpected)" % (fl, ln, "; ".join(diffs)[:400],
                                    sum(missing.values()),
                                    sum(extra.values())))
        else:
            bad("row-missing", ln, "%s:%d %s did not land (%d rows missing "
                "in all, %d unexpected)" % (fl, ln, describe_doc(first)[:300],
                                           sum(missing.values()),
                                           sum(extra.values())))
    if extra:
        doubled = [d for d in extra if d in want]
        if doubled:
            d = min(doubled, key=lambda x: line_of[x][1])
            fl, ln = line_of[d]
            bad(doubled_kind, ln, "%s:%d landed %d times (want %d); %d "
                "extra copies in all" % (fl, ln, got[d], want[d],
                                         sum(extra[x] for x in doubled)))
        others = [d for d in extra if d not in want]
        if others and not (missing and not subset_ok and len(others) <= 3):
            d = others[0]
            bad("row-unexpected", "?", "landed but is no valid row of the "
                "input: %s (%d such rows)" % (describe_doc(d)[:300],
                                             sum(extra[x] for x in others)))
    if ids:
        if len(set(map(repr, ids))) != len(ids):
            bad("id-duplicate", "?", "an _id appears twice")

    # 2. Rejects: every invalid record once, with its file and line.
    if check_rejects:
        if rej_rows is None:
            bad("rejects-missing-file", "?", "no rejects file")
            rej_rows = []
        rows = [r for r in rej_rows
                if "loaded without" not in r.get("reason", "")]
        seen = collections.Counter((r.get("file"), r.get("line"))
                                   for r in rows)
        by_key = {}
        for r in rows:
            by_key.setdefault((r.get("file"), r.get("line")), r)
        want_rej = {}
        for e in exp_list:
            for rec in e.records:
                if rec.status != "valid":
                    want_rej[(e.file, str(rec.line))] = (e, rec)
        twice = [k for k, n in seen.items() if n > 1]
        if twice:
            k = min(twice, key=lambda k: int(k[1]) if k[1].isdigit() else 0)
            bad("reject-twice", k[1], "%s:%s is in the rejects file %d times"
                " (%d lines repeated)" % (k[0], k[1], seen[k], len(twice)))
        miss = [k for k in want_rej if k not in seen]
        if miss and not subset_ok:
            k = min(miss, key=lambda k: int(k[1]))
            e, rec = want_rej[k]
            bad("reject-missing", k[1], "%s:%s (%s, %s) is not in the rejects"
                " file (%d missing)" % (k[0], k[1], rec.why, short(rec.raw),
                                        len(miss)))
        unexp = [k for k in seen if k not in want_rej]
        if unexp:
            k = min(unexp, key=lambda k: int(k[1]) if k[1].isdigit() else 0)
            r = by_key[k]
            bad("reject-unexpected", k[1], "rejects file has %s:%s (%s) %s "
                "which the oracle does not reject (%d such)" % (
                    k[0], k[1], r.get("reason"), short(r.get("record")),
                    len(unexp)))
        # Offsets, raw text and reasons of the rejects that match.
        bad_off = bad_raw = bad_why = None
        for k, (e, rec) in sorted(want_rej.items(),
                                  key=lambda kv: kv[1][1].line):
            r = by_key.get(k)
            if not r:
                continue
            if bad_off is None and r.get("offset") != str(rec.offset):
                bad_off = (rec, r)
            if bad_raw is None and r.get("record") != rec.raw and \
                    "exceeds 16 MiB" not in r.get("reason", ""):
                bad_raw = (rec, r)
            reason = r.get("reason", "")
            if bad_why is None and (
                    (rec.why == "fields" and "fields" not in reason) or
                    (rec.why == "utf8" and "utf-8" not in reason.lower())):
                bad_why = (rec, r)
        if bad_off:
            rec, r = bad_off
            bad("reject-offset", rec.line, "offset %s, want %d" %
                (r.get("offset"), rec.offset))
        if bad_raw:
            rec, r = bad_raw
            bad("reject-record", rec.line, "record %s, want %s" %
                (short(r.get("record")), short(rec.raw)))
        if bad_why:
            rec, r = bad_why
            bad("reject-reason", rec.line, "reason %r for a %s record" %
                (r.get("reason"), rec.why))

    # 3. The report and the exit code.
    n_valid = sum(1 for e in exp_list for r in e.records
                  if r.status == "valid")
    n_rej = sum(1 for e in exp_list for r in e.records
                if r.status != "valid")
    if check_report and rep is not None:
        jobs = report_jobs(rep)
        if not jobs:
            bad("report-missing", "-", "no jobs in the JSON report (%s)" %
                short(rep, 200))
        else:
            P = sum(j.get("processed", 0) for j in jobs)
            I = sum(j.get("inserted", 0) for j in jobs)
            R = sum(j.get("rejected", 0) for j in jobs)
            for j in jobs:
                if j.get("processed") != j.get("inserted", 0) + \
                        j.get("updated", 0) + j.get("rejected", 0):
                    bad("report-tuple", "-", "processed %s != inserted %s + "
                        "updated %s + rejected %s (%s)" % (
                            j.get("processed"), j.get("inserted"),
                            j.get("updated"), j.get("rejected"),
                            j.get("file")))
                    break
            if len(jobs) == 1 and jobs[0].get("post", -1) >= 0 and \
                    jobs[0].get("post") - jobs[0].get("prior", 0) != I:
                bad("report-tuple", "-", "post %s - prior %s != inserted %s" %
                    (jobs[0].get("post"), jobs[0].get("prior"), I))
            if not subset_ok:
                if P != n_valid + n_rej:
                    bad("report-processed", "-", "processed %d, the oracle "
                        "has %d records" % (P, n_valid + n_rej))
                if I != n_valid:
                    bad("report-inserted", "-", "inserted %d, the oracle has "
                        "%d valid rows" % (I, n_valid))
                if R != n_rej:
                    bad("report-rejected", "-", "rejected %d, the oracle has "
                        "%d invalid records" % (R, n_rej))
            if I != len(landed) and not subset_ok:
                bad("report-vs-target", "-", "report says %d inserted, the "
                    "target holds %d" % (I, len(landed)))
    if want_rc is None:
        want_rc = 1 if n_rej else 0
    if want_rc != "any" and rc != want_rc:
        bad("exit-code", "-", "exit %s, want %s" % (rc, want_rc))
    if not failed[0]:
        h.ok(mode, target, "")
    return not failed[0]


# --------------------------------------------------------------------------
# one load, checked


def load_and_check(h, seed, mode, tgt, inputs, extra_args=(), infer=True,
                   text_table=False, stdin_data=None, want_rc=None,
                   env=None, pre=None, settle=0):
    """inputs: [(collection, path_for_loader, file_label, oracle)]. Loads
    them in one loader run (one collection each) and checks each."""
    for c, _, _, o in inputs:
        if text_table:
            tgt.create_text_table(c, o.header)
    if pre:
        pre()
    rej = h.path(h.name("rej") + ".csv")
    rep = h.path(h.name("rep") + ".json")
    args = tgt.loader_args() + ["--progress", "never", "--rejects", rej,
                                "--report-json", rep]
    if not infer:
        args.append("--no-infer")
    args += list(extra_args)
    args += ["%s=%s" % (c, p) for c, p, _, _ in inputs]
    stdin = None
    if stdin_data is not None:
        sp = h.path(h.name("stdin"))
        with open(sp, "wb") as f:
            f.write(stdin_data)
        stdin = open(sp, "rb")
    rc, out, err = run_loader(args, stdin=stdin, env=env)
    if stdin:
        stdin.close()
    if rc == "timeout":
        h.fail(seed, mode, tgt.kind, "hang", "-", "loader did not finish: " +
               " ".join(args))
        return False
    if settle:
        time.sleep(settle)  # writes a delayed server still applies
    rep_doc = read_report(rep)
    rej_rows = read_rejects(rej)
    all_ok = True
    for c, p, label, o in inputs:
        landed, ids = tgt.read(c, o.header)
        e = Expect(o, label, infer, text_table)
        rows = [r for r in (rej_rows or []) if r.get("file") == label]
        jobs = [j for j in report_jobs(rep_doc) if j.get("collection") == c]
        one_rep = {"runs": [{"jobs": jobs}]}
        all_ok &= compare(h, seed, mode, tgt, [e], landed, ids,
                          rows if rej_rows is not None else None, one_rep,
                          rc, want_rc=want_rc if want_rc is not None else
                          (1 if any(x.rejected for _, _, _, x in inputs)
                           else 0))
        if not all_ok and os.environ.get("LOADER_TORTURE_VERBOSE"):
            h.say("  command: %s\n  stderr: %s" % (" ".join(args), err[-2000:]))
    return all_ok


# --------------------------------------------------------------------------
# inputs


class Input:
    """One generated file and its oracle, in the forms the modes need."""

    def __init__(self, h, seed, tag, data):
        self.seed = seed
        self.tag = tag
        self.data = data
        self.o = orc.Oracle(data)
        self.path = h.path("%s_%s.csv" % (tag, seed))
        with open(self.path, "wb") as f:
            f.write(data)
        self._gz = None

    @property
    def gz(self):
        if self._gz is None:
            self._gz = gzip.compress(self.data, compresslevel=6, mtime=0)
        return self._gz

    def write(self, h, suffix, data):
        p = h.path("%s_%s%s" % (self.tag, self.seed, suffix))
        with open(p, "wb") as f:
            f.write(data)
        return p

    def part_records(self, k, n):
        """Records of part k of n: those starting at or after size*(k-1)/n
        and before size*k/n (the documented cut rule)."""
        lo = self.o.size * (k - 1) // n
        hi = self.o.size * k // n if k < n else float("inf")
        return [r for r in self.o.records if lo <= r.offset < hi]

    def json_lines(self, ensure_ascii):
        out = []
        for rec in self.o.valid:
            obj = collections.OrderedDict()
            for name, tag, v in self.o.doc(rec, True):
                if tag == "double":
                    v = struct.unpack("<d", v)[0]
                obj[name] = v
            out.append(json.dumps(obj, ensure_ascii=ensure_ascii))
        return ("\n".join(out) + "\n").encode("utf-8") if out else b""


# --------------------------------------------------------------------------
# modes


def modes_basic(h, tgt, a, b, sql=False):
    """The mode matrix over inputs a (full profile) and b (well-formed)."""
    seed = a.seed
    infer = not sql
    name = lambda t: h.name(t)  # noqa: E731

    def one(mode, inp, extra=(), **kw):
        if h.only and h.only not in mode:
            return
        c = name("c")
        load_and_check(h, seed, mode + "/" + inp.tag, tgt,
                       [(c, inp.path, inp.path, inp.o)], extra,
                       infer=kw.pop("infer", infer), **kw)

    for inp in (a, b):
        one("linear", inp, ["--linear"])
        one("split2", inp, ["-j", "2", "--split", "2"])
        one("split3", inp, ["-j", "2", "--split", "3"])
        one("batch7", inp, ["--linear", "--batch-size", "7"])
    if sql:
        for inp in (a, b):
            one("text-table-infer", inp, ["--linear"], infer=True,
                text_table=True)
            one("text-table-infer-split3", inp, ["-j", "2", "--split", "3"],
                infer=True, text_table=True)
    else:
        one("no-infer", a, ["--linear"], infer=False)
        one("no-infer-split2", b, ["-j", "2", "--split", "2"], infer=False)
    if not h.only or "parallel" in h.only:
        c1, c2 = name("c"), name("c")
        load_and_check(h, seed, "parallel-j2", tgt,
                       [(c1, a.path, a.path, a.o), (c2, b.path, b.path, b.o)],
                       ["-j", "2", "--parallel"], infer=infer)
    for inp in (a, b):
        parts_check(h, tgt, inp, 3, infer)
    for inp in (a, b):
        if not h.only or "gzip" in h.only:
            gzp = inp.write(h, ".csv.gz", inp.gz)
            c = name("c")
            load_and_check(h, seed, "gzip/" + inp.tag, tgt,
                           [(c, gzp, gzp, inp.o)], ["--linear"], infer=infer)
        if not h.only or "stdin" in h.only:
            c = name("c")
            load_and_check(h, seed, "stdin/" + inp.tag, tgt,
                           [(c, "-", "-", inp.o)], [], infer=infer,
                           stdin_data=inp.data)
            c = name("c")
            load_and_check(h, seed, "stdin-gzip/" + inp.tag, tgt,
                           [(c, "-", "-", inp.o)], [], infer=infer,
                           stdin_data=inp.gz)
        for frac in (0.4, 0.7):
            truncated_gzip(h, tgt, inp, frac, infer, stdin=False)
        truncated_gzip(h, tgt, inp, 0.55, infer, stdin=True)
        corrupt_gzip(h, tgt, inp, infer)
    for inp, asc in ((a, True), (b, False)):
        json_check(h, tgt, inp, asc, sql)


def parts_check(h, tgt, inp, n, infer):
    """--part k/n in n separate processes at once; each part exact by the
    documented cut rule, the union exact."""
    mode = "part-of-%d/%s" % (n, inp.tag)
    if h.only and h.only not in mode:
        return
    seed = inp.seed
    c = h.name("c")
    procs = []
    for k in range(1, n + 1):
        rej = h.path(h.name("rej") + ".csv")
        rep = h.path(h.name("rep") + ".json")
        args = tgt.loader_args() + ["--progress", "never", "--rejects", rej,
                                    "--report-json", rep, "--part",
                                    "%d/%d" % (k, n)]
        if not infer:
            args.append("--no-infer")
        args.append("%s=%s" % (c, inp.path))
        e = dict(os.environ)
        p = subprocess.Popen([LOADER] + args, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=e)
        procs.append((k, p, rej, rep))
    results = []
    for k, p, rej, rep in procs:
        try:
            _, err = p.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            h.fail(seed, mode, tgt.kind, "hang", "-", "part %d hung" % k)
            return
        results.append((k, p.returncode, read_rejects(rej), read_report(rep)))
    landed, ids = tgt.read(c, inp.o.header)
    # The union: documents exact, rejects exact (no report/exit here).
    all_rej = []
    for k, rc, rows, rep in results:
        all_rej += rows or []
    compare(h, seed, mode + "/union", tgt, [Expect(inp.o, inp.path, infer)],
            landed, ids, all_rej, None, 0, want_rc="any", check_report=False)
    # Each part by itself: its rejects, its report, its exit code.
    for k, rc, rows, rep in results:
        recs = inp.part_records(k, n)
        e = Expect(inp.o, inp.path, infer, records=recs)
        jobs = report_jobs(rep)
        P = sum(j.get("processed", 0) for j in jobs)
        I = sum(j.get("inserted", 0) for j in jobs)
        R = sum(j.get("rejected", 0) for j in jobs)
        nv = sum(1 for r in recs if r.status == "valid")
        nr = len(recs) - nv
        if (P, I, R) != (nv + nr, nv, nr):
            first = recs[0].line if recs else "-"
            h.fail(seed, "%s/part%d" % (mode, k), tgt.kind, "part-report",
                   first, "processed/inserted/rejected %d/%d/%d, want "
                   "%d/%d/%d (part starts at byte %d, line %s)" % (
                       P, I, R, nv + nr, nv, nr,
                       inp.o.size * (k - 1) // n, first))
        else:
            h.ok(mode, tgt.kind, "")
        want_rc = 1 if nr else 0
        if rc != want_rc:
            h.fail(seed, "%s/part%d" % (mode, k), tgt.kind, "exit-code", "-",
                   "exit %s, want %s" % (rc, want_rc))
        lines = set(str(r.line) for r in recs if r.status != "valid")
        got = set(r.get("line") for r in rows or [])
        if lines != got:
            d = sorted((lines ^ got), key=lambda s: int(s) if s.isdigit()
                       else 0)
            h.fail(seed, "%s/part%d" % (mode, k), tgt.kind, "part-rejects",
                   d[0], "rejects of this part differ at line %s (%d lines "
                   "differ)" % (d[0], len(d)))


def gz_prefix_len(trunc):
    d = zlib.decompressobj(31)
    try:
        out = d.decompress(trunc)
    except zlib.error:
        return None
    return len(out)


def truncated_gzip(h, tgt, inp, frac, infer, stdin):
    mode = "%sgzip-truncated-%d%%/%s" % ("stdin-" if stdin else "",
                                          int(frac * 100), inp.tag)
    if h.only and h.only not in mode:
        return
    seed = inp.seed
    cut = inp.gz[:int(len(inp.gz) * frac)]
    P = gz_prefix_len(cut)
    path = inp.write(h, ".trunc%d.csv.gz" % int(frac * 100), cut)
    c = h.name("c")
    rej = h.path(h.name("rej") + ".csv")
    rep = h.path(h.name("rep") + ".json")
    args = tgt.loader_args() + ["--progress", "never", "--rejects", rej,
                                "--report-json", rep, "--linear",
                                "%s=%s" % (c, "-" if stdin else path)]
    if not infer:
        args.append("--no-infer")
    f = open(path, "rb") if stdin else None
    rc, out, err = run_loader(args, stdin=f)
    if f:
        f.close()
    label = "-" if stdin else path
    # Documents: only valid rows that end before the break, none twice.
    before = [r for r in inp.o.records if r.end_offset <= P]
    straddle = [r for r in inp.o.records if r.offset < P < r.end_offset]
    landed, ids = tgt.read(c, inp.o.header)
    rows = read_rejects(rej) or []
    e = Expect(inp.o, label, infer, records=before)
    # (A row equal to one before the break but landing once more than the
    # rows before the break hold is a row from after the break: typically
    # the cut-short last row.)
    compare(h, seed, mode, tgt, [e], landed, ids, None, None, rc,
            want_rc="any", subset_ok=True, check_report=False,
            check_rejects=False, doubled_kind="row-past-break")
    allowed = set(str(r.line) for r in before if r.status != "valid") | \
        set(str(r.line) for r in straddle)
    seen = collections.Counter(r.get("line") for r in rows)
    for line, n in sorted(seen.items(), key=lambda kv: int(kv[0] or 0)):
        if line not in allowed or n > 1:
            h.fail(seed, mode, tgt.kind, "reject-unexpected", line,
                   "rejects file has line %s %d times; the stream broke at "
                   "uncompressed byte %d" % (line, n, P))
            break
    rep_doc = read_report(rep)
    jobs = report_jobs(rep_doc)
    job_ok = all(j.get("ok", True) for j in jobs) if jobs else None
    errtext = " ".join(str(j.get("error", "")) for j in jobs) + " " + err
    problems = []
    if rc != 1:
        problems.append("exit %s (want 1)" % rc)
    if job_ok is not False:
        problems.append("report says ok=%s" % job_ok)
    if os.path.basename(label) not in errtext and label != "-":
        problems.append("error does not name the file")
    if "offset" not in errtext:
        problems.append("error does not say the offset")
    if problems:
        h.fail(seed, mode, tgt.kind, "truncation-not-reported",
               straddle[0].line if straddle else "-",
               "stream cut at %d of %d compressed bytes (%d uncompressed "
               "readable of %d): %s; stderr: %s" % (
                   len(cut), len(inp.gz), P, len(inp.data),
                   "; ".join(problems), short(err.strip(), 160)))
    else:
        h.ok(mode, tgt.kind, "")


def corrupt_gzip(h, tgt, inp, infer):
    mode = "gzip-corrupt/" + inp.tag
    if h.only and h.only not in mode:
        return
    data = bytearray(inp.gz)
    r = random.Random(inp.seed)
    pos = len(data) // 2 + r.randrange(len(data) // 4)
    data[pos] ^= 0x55
    # Make sure it is detectably corrupt (zlib refuses it).
    try:
        got = gzip.decompress(bytes(data))
        if got == inp.data:
            return
    except Exception:
        pass
    path = inp.write(h, ".corrupt.csv.gz", bytes(data))
    c = h.name("c")
    rep = h.path(h.name("rep") + ".json")
    args = tgt.loader_args() + ["--progress", "never", "--report-json", rep,
                                "--linear", "%s=%s" % (c, path)]
    if not infer:
        args.append("--no-infer")
    rc, out, err = run_loader(args)
    jobs = report_jobs(read_report(rep))
    if rc != 1 or not jobs or jobs[0].get("ok", True):
        h.fail(inp.seed, mode, tgt.kind, "corruption-not-reported", "-",
               "byte %d of %d flipped: exit %s, report ok=%s; stderr: %s" % (
                   pos, len(data), rc, jobs[0].get("ok") if jobs else None,
                   short(err.strip(), 160)))
    else:
        h.ok(mode, tgt.kind, "")


def json_check(h, tgt, inp, ensure_ascii, sql):
    mode = "json%s/%s" % ("-ascii" if ensure_ascii else "-utf8", inp.tag)
    if h.only and h.only not in mode:
        return
    if sql:
        # SQL: strings only (the table's types come from its first batch).
        lines = []
        for rec in inp.o.valid:
            obj = collections.OrderedDict(
                (n, v) for n, t, v in inp.o.doc(rec, False))
            lines.append(json.dumps(obj, ensure_ascii=ensure_ascii))
        data = ("\n".join(lines) + "\n").encode()
    else:
        data = inp.json_lines(ensure_ascii)
    path = inp.write(h, ".ndjson", data)
    c = h.name("c")
    load_and_check(h, inp.seed, mode, tgt,
                   [(c, path, path, JsonView(inp.o))], ["--linear"],
                   infer=not sql, want_rc=0)


class JsonView:
    """The oracle seen through its NDJSON rendering: only the valid rows,
    one line each."""

    def __init__(self, o):
        self.o = o
        self.header = o.header
        self.records = o.valid
        self.size = None

    @property
    def valid(self):
        return self.records

    @property
    def rejected(self):
        return []

    def doc(self, rec, infer=True):
        return self.o.doc(rec, infer)


# --------------------------------------------------------------------------
# faults


class PrivateServer:
    """A mongo-test-server of our own with fault switches (as
    tests/common/test_server.c does)."""

    def __init__(self, h, faults):
        pf = h.path(h.name("port"))
        args = [SERVER_BIN, "--port", "0", "--port-file", pf]
        for f in faults:
            args += ["--fault", f]
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while not (os.path.exists(pf) and open(pf).read().strip()):
            if self.p.poll() is not None or time.monotonic() - t0 > 10:
                raise RuntimeError("mongo-test-server did not start: %s" %
                                   " ".join(args))
            time.sleep(0.02)
        self.uri = "mongodb://127.0.0.1:%s/" % open(pf).read().strip()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def can_fault():
    return SERVER_BIN and not os.environ.get("MONGODB_URI")


FAULTS = [
    ("drop-before-apply:2", "", 0),
    ("drop-after-apply:3", "", 0),
    ("drop-after-apply:every:4", "", 0),
    ("error:2:91", "", 0),
    ("error:3:189", "", 0),
    ("error:every:5:189", "", 0),
    ("delay:2:1500", "?socketTimeoutMS=400", 2.0),
]


def faults_check(h, inputs):
    if not can_fault():
        h.say("faults: skipped (MONGODB_URI is set or no test server binary)")
        return
    r = random.Random(inputs[0].seed)
    for i, (spec, suffix, settle) in enumerate(FAULTS):
        inp = inputs[i % len(inputs)]
        mode_args = r.choice([["--linear"], ["-j", "2", "--split", "2"],
                              ["--linear", "--batch-size", "50"]])
        mode = "fault[%s]%s/%s" % (spec, "".join(mode_args), inp.tag)
        if h.only and h.only not in mode:
            continue
        srv = PrivateServer(h, [spec])
        try:
            tgt = Mongo(srv.uri + suffix, "t_torture_fault")
            tgt.kind = "mongo-private"
            c = h.name("c")
            load_and_check(h, inp.seed, mode, tgt,
                           [(c, inp.path, inp.path, inp.o)],
                           mode_args + ["--batch-size", "300"]
                           if "--batch-size" not in mode_args else mode_args,
                           settle=settle)
        finally:
            srv.stop()


def unique_check(h, seed, faults):
    """A unique index on customer_id (index name customer_id_1, which holds
    "_id_") with real duplicates in the input, optionally with dropped
    connections: every duplicate is a rejected row with its line, never
    counted as inserted."""
    mode = "unique-index%s" % ("[%s]" % ",".join(faults) if faults else "")
    if h.only and h.only not in mode:
        return
    if faults and not can_fault():
        return
    data = gen.generate_keyed(seed)
    o = orc.Oracle(data)
    path = h.path("keyed_%d.csv" % seed)
    with open(path, "wb") as f:
        f.write(data)
    srv = PrivateServer(h, faults) if faults else None
    try:
        tgt = Mongo(srv.uri if srv else h.mongo_uri, "t_torture_uniq_%d" %
                    os.getpid())
        for args in (["--linear", "--batch-size", "100"],
                     ["-j", "2", "--split", "2", "--batch-size", "100"]):
            m = mode + "".join(args[:3])
            c = h.name("c")
            tgt.db[c].create_index("customer_id", unique=True)
            rej = h.path(h.name("rej") + ".csv")
            rep = h.path(h.name("rep") + ".json")
            rc, out, err = run_loader(tgt.loader_args() + [
                "--progress", "never", "--rejects", rej, "--report-json",
                rep] + args + ["%s=%s" % (c, path)])
            landed, ids = tgt.read(c)
            by_doc = {}
            for rec in o.valid:
                by_doc[o.doc(rec)] = rec
            keys = collections.Counter()
            landed_lines = set()
            problems = []
            for d in landed:
                rec = by_doc.get(d)
                if rec is None:
                    problems.append(("row-unexpected", "?", "landed but no "
                                     "valid row: " + describe_doc(d)))
                    continue
                if rec.line in landed_lines:
                    problems.append(("row-doubled", rec.line, "landed twice"))
                landed_lines.add(rec.line)
                keys[dict((n, v) for n, t, v in d)["customer_id"]] += 1
            want_keys = set(int(r.fields[0]) for r in o.valid)
            for k, n in keys.items():
                if n > 1:
                    problems.append(("unique-violated", "?",
                                     "customer_id %s landed %d times" % (k, n)))
            if set(keys) != want_keys:
                problems.append(("key-missing", "?", "%d keys of the input "
                                 "did not land" % len(want_keys - set(keys))))
            want_rej = set(str(r.line) for r in o.records
                           if r.line not in landed_lines)
            rows = read_rejects(rej) or []
            seen = collections.Counter(r.get("line") for r in rows)
            for line, n in seen.items():
                if n > 1:
                    problems.append(("reject-twice", line, "%d times" % n))
            miss = sorted(want_rej - set(seen), key=int)
            if miss:
                rec = next(r for r in o.records if str(r.line) == miss[0])
                problems.append(("reject-missing", miss[0], "duplicate row "
                                 "%s neither landed nor rejected (%d such)" %
                                 (short(rec.raw), len(miss))))
            jobs = report_jobs(read_report(rep))
            I = sum(j.get("inserted", 0) for j in jobs)
            R = sum(j.get("rejected", 0) for j in jobs)
            P = sum(j.get("processed", 0) for j in jobs)
            if (P, I, R) != (len(o.records), len(landed),
                             len(o.records) - len(landed)):
                problems.append(("report-counts", "-", "processed/inserted/"
                                 "rejected %d/%d/%d, want %d/%d/%d" % (
                                     P, I, R, len(o.records), len(landed),
                                     len(o.records) - len(landed))))
            if rc != 1:
                problems.append(("exit-code", "-", "exit %s, want 1" % rc))
            for kind, line, detail in problems[:3]:
                h.fail(seed, m, tgt.kind, kind, line, detail)
            if not problems:
                h.ok(m, tgt.kind, "")
        tgt.drop()
    finally:
        if srv:
            srv.stop()


# --------------------------------------------------------------------------
# kill -9 and --resume


def resumable_load(h, tgt, inp, extra, infer=True):
    """A collection name, checkpoint, rejects and report paths, and the
    loader's arguments for a checkpointed load of inp with extra options
    (the input last, as the loader takes it)."""
    c = h.name("c")
    cp = h.path(h.name("cp") + ".json")
    rej = h.path(h.name("rej") + ".csv")
    rep = h.path(h.name("rep") + ".json")
    base = tgt.loader_args() + ["--progress", "never", "--checkpoint", cp,
                                "--rejects", rej, "--report-json", rep] + \
        list(extra) + ([] if infer else ["--no-infer"]) + \
        ["%s=%s" % (c, inp.path)]
    return c, cp, rej, rep, base


def kill_resume(h, tgt, inp, mode_args, kills_wanted, rate, infer=True,
                env=None):
    mode = "kill9x%d%s/%s" % (kills_wanted, "".join(mode_args), inp.tag)
    if h.only and h.only not in mode:
        return
    seed = inp.seed
    r = random.Random(seed * 31 + kills_wanted)
    c, cp, rej, rep, base = resumable_load(
        h, tgt, inp, ["--batch-size", "200", "--max-rate", str(rate)] +
        mode_args, infer)
    total = len(inp.o.valid)
    kills, runs, resume = 0, 0, False
    e = dict(os.environ)
    if env:
        e.update(env)
    proofs = []
    rc = None
    while True:
        runs += 1
        if runs > kills_wanted + 4:
            h.fail(seed, mode, tgt.kind, "resume-never-done", "-",
                   "%d runs and still not done" % runs)
            return
        p = subprocess.Popen([LOADER] + base + (["--resume"] if resume
                                                 else []),
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=e)
        killed = False
        if kills < kills_wanted:
            wait = r.uniform(0.0, 0.6)
            t0 = time.monotonic()
            proven_at = None
            while p.poll() is None and time.monotonic() - t0 < 120:
                n = tgt.count(c)
                if os.path.exists(cp) and 0 < n < total:
                    if proven_at is None:
                        proven_at = time.monotonic()
                    if time.monotonic() - proven_at >= wait and \
                            p.poll() is None:
                        os.kill(p.pid, signal.SIGKILL)
                        p.wait()
                        killed = True
                        proofs.append("%d/%d" % (n, total))
                        break
                time.sleep(0.005)
        if killed:
            p.stderr.close()
            kills += 1
            h.kills += 1
            resume = True
            continue
        try:
            _, err = p.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            h.fail(seed, mode, tgt.kind, "hang", "-", "loader hung")
            return
        rc = p.returncode
        if kills < kills_wanted:
            if runs > kills_wanted + 3:
                h.fail(seed, mode, tgt.kind, "no-kill", "-",
                       "load finished before a kill could be proven")
                return
            # Finished too fast to be killed mid-load: start over.
            h.say("  %s: run finished before the kill; again" % mode)
            return kill_resume(h, tgt, inp, mode_args, kills_wanted,
                               max(1000, rate // 2), infer, env)
        break
    h.say("  %s: killed %d times mid-load (target count at each kill: %s)" %
          (mode, kills, ", ".join(proofs)))
    landed, ids = tgt.read(c, inp.o.header)
    compare(h, seed, mode, tgt, [Expect(inp.o, inp.path, infer)], landed,
            ids, read_rejects(rej), read_report(rep), rc)


def resume_other_plan(h, tgt, inp):
    """A checkpoint made for one plan (a whole-file linear load, killed
    mid-load) resumed with another (--split 2, --no-infer): a usage error
    (exit 2) that writes nothing; the original command then finishes
    exactly."""
    mode = "resume-other-plan/" + inp.tag
    if h.only and h.only not in mode:
        return
    seed = inp.seed
    c, cp, rej, rep, base = resumable_load(
        h, tgt, inp, ["--batch-size", "200", "--max-rate", "20000"])
    p = subprocess.Popen([LOADER] + base + ["--linear"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    total = len(inp.o.valid)
    while p.poll() is None and time.monotonic() - t0 < 60:
        if os.path.exists(cp) and 0 < tgt.count(c) < total:
            os.kill(p.pid, signal.SIGKILL)
            h.kills += 1
            break
        time.sleep(0.005)
    p.wait()
    if p.returncode != -signal.SIGKILL:
        h.say("  %s: finished before the kill; skipped" % mode)
        return
    for other in (["-j", "2", "--split", "2"], ["--linear", "--no-infer"]):
        before = tgt.count(c)
        rc, out, err = run_loader(base + other + ["--resume"])
        after = tgt.count(c)
        if rc != 2 or after != before:
            h.fail(seed, mode + "".join(other), tgt.kind, "resume-plan", "-",
                   "--resume %s on a checkpoint of a linear load: exit %s "
                   "(want 2), target %d -> %d rows; stderr: %s" % (
                       " ".join(other), rc, before, after,
                       short(err.strip(), 200)))
        else:
            h.ok(mode, tgt.kind, "")
    rc, out, err = run_loader(base + ["--linear", "--resume"])
    landed, ids = tgt.read(c, inp.o.header)
    compare(h, seed, mode + "/same-plan", tgt,
            [Expect(inp.o, inp.path, True)], landed, ids, read_rejects(rej),
            read_report(rep), rc)


# --------------------------------------------------------------------------
# disk full


def enospc_check(h, tgt, inp, which, infer=True):
    mode = "enospc-%s/%s" % (which, inp.tag)
    if h.only and h.only not in mode:
        return
    if not ENOSPC_SO or not os.path.exists(ENOSPC_SO):
        h.say("enospc: skipped (no shim: LOADER_TORTURE_ENOSPC)")
        return
    seed = inp.seed
    c, cp, rej, rep, base = resumable_load(
        h, tgt, inp, ["--batch-size", "500", "--linear"], infer)
    target_file = rej if which == "rejects" else cp
    after = 6000 if which == "rejects" else 2500
    log = h.path(h.name("enospc") + ".log")
    rc, out, err = run_loader(base, preload=ENOSPC_SO, env={
        "LOADER_ENOSPC_PATTERN": target_file + "*",
        "LOADER_ENOSPC_AFTER": str(after), "LOADER_ENOSPC_LOG": log})
    problems = []
    if not os.path.exists(log):
        problems.append("the shim refused nothing (file never reached %d "
                        "bytes?)" % after)
    if rc in (0, "timeout"):
        problems.append("exit %s after a write failed with ENOSPC" % rc)
    if os.path.basename(target_file) not in err:
        problems.append("the error does not name %s" %
                        os.path.basename(target_file))
    if "No space left on device" not in err:
        problems.append("the error does not say 'No space left on device'")
    if which == "rejects":
        sizes = [os.path.getsize(p) for p in (rej, rej + ".partial")
                 if os.path.exists(p)]
        if not sizes or max(sizes) < after:
            problems.append("rejects already written were deleted (%s "
                            "bytes left of %d written)" % (
                                max(sizes) if sizes else "no file, 0",
                                after))
    else:
        try:
            json.load(open(cp))
        except (OSError, ValueError) as ex:
            problems.append("the last good checkpoint is gone: %s" % ex)
    # What the failed run says it inserted is what the target holds: a
    # batch the target committed stays counted, a SQL batch whose commit
    # did not happen was rolled back (issue 15's review: a checkpoint that
    # could not be written after MongoDB had the batch took it back).
    landed_now, _ = tgt.read(c, inp.o.header)
    jobs = report_jobs(read_report(rep))
    if len(jobs) == 1 and jobs[0].get("inserted") != len(landed_now):
        problems.append("the report says inserted %s, the target holds %d "
                        "rows" % (jobs[0].get("inserted"), len(landed_now)))
    if problems:
        h.fail(seed, mode, tgt.kind, "disk-full", "-", "; ".join(problems) +
               "; stderr: " + short(err.strip()[-300:], 300))
    else:
        h.ok(mode, tgt.kind, "")
    # Without the shim, --resume completes the load exactly.
    rc2, out2, err2 = run_loader(base + ["--resume"])
    landed, ids = tgt.read(c, inp.o.header)
    compare(h, seed, mode + "/resumed", tgt, [Expect(inp.o, inp.path, infer)],
            landed, ids, read_rejects(rej), read_report(rep), rc2)


# --------------------------------------------------------------------------
# main


def mongo_uri():
    env = os.environ.get("MONGODB_URI")
    if env:
        return env
    f = os.environ.get("LOADER_TEST_URI_FILE")
    if f and os.path.exists(f):
        return open(f).read().strip()
    return None


def mysql_uri():
    env = os.environ.get("MYSQL_URI")
    if env:
        return env
    f = os.environ.get("LOADER_TEST_MYSQL_URI_FILE")
    if f and os.path.exists(f):
        u = open(f).read().strip()
        return u or None
    return None


def make_inputs(h, seed, size):
    a = Input(h, seed, "full", gen.generate(seed, size, "full")[0])
    b = Input(h, seed, "wellformed",
              gen.generate(seed + 1, size, "wellformed")[0])
    return a, b


def run_mongo(h, size):
    uri = mongo_uri()
    if not uri:
        h.fail(h.seed, "-", "mongo", "setup", "-", "no MongoDB URI "
               "(MONGODB_URI or LOADER_TEST_URI_FILE)")
        return
    h.mongo_uri = uri
    tgt = Mongo(uri, "t_torture_%d" % os.getpid())
    try:
        seed = h.seed
        a, b = make_inputs(h, seed, size)
        h.say("seed %d: %d+%d records (%d+%d rejected by the oracle), %d "
              "bytes each" % (seed, len(a.o.records), len(b.o.records),
                              len(a.o.rejected), len(b.o.rejected), a.o.size))
        modes_basic(h, tgt, a, b)
        faults_check(h, [b, a])
        unique_check(h, seed, [])
        unique_check(h, seed, ["drop-after-apply:every:3"])
        big = Input(h, seed, "big", gen.generate_big(seed))
        kill_resume(h, tgt, big, ["--linear"], 3, 20000)
        kill_resume(h, tgt, big, ["-j", "2", "--split", "2"], 3, 20000)
        kill_resume(h, tgt, a, ["--linear"], 2, 3000)
        kill_resume(h, tgt, b, ["-j", "2", "--split", "3"], 2, 3000)
        enospc_check(h, tgt, big, "rejects")
        enospc_check(h, tgt, big, "checkpoint")
        resume_other_plan(h, tgt, big)
        while h.time_left() > 40:
            seed += 2
            a, b = make_inputs(h, seed, size)
            h.say("seed %d (more time left: %.0f s)" % (seed, h.time_left()))
            more_seeds(h, tgt, a, b, infer=True)
    finally:
        tgt.drop()


def more_seeds(h, tgt, a, b, infer, text_table=False):
    for inp in (a, b):
        for mode, extra in (("linear", ["--linear"]),
                            ("split2", ["-j", "2", "--split", "2"]),
                            ("split3", ["-j", "2", "--split", "3"])):
            if h.only and h.only not in mode:
                continue
            c = h.name("c")
            load_and_check(h, inp.seed, mode + "/" + inp.tag, tgt,
                           [(c, inp.path, inp.path, inp.o)], extra,
                           infer=infer, text_table=text_table)
        parts_check(h, tgt, inp, 2, infer)


def run_sql(h, size):
    seed = h.seed
    a, b = make_inputs(h, seed, size)
    h.say("seed %d: %d+%d records (%d+%d rejected by the oracle), %d bytes "
          "each" % (seed, len(a.o.records), len(b.o.records),
                    len(a.o.rejected), len(b.o.rejected), a.o.size))
    sq = Sqlite(h.path("torture.db"))
    modes_basic(h, sq, a, b, sql=True)
    big = Input(h, seed, "big", gen.generate_big(seed))
    kill_resume(h, sq, big, ["--linear"], 3, 20000, infer=False)
    kill_resume(h, sq, big, ["-j", "2", "--split", "2"], 2, 20000,
                infer=False)
    enospc_check(h, sq, big, "rejects", infer=False)
    enospc_check(h, sq, big, "checkpoint", infer=False)
    my_uri = mysql_uri()
    my = None
    if my_uri:
        try:
            my = Mysql(my_uri, "t_torture_%d" % os.getpid())
        except Exception as ex:
            h.fail(seed, "-", "mariadb", "setup", "-", "cannot use %s: %s" %
                   (my_uri.split("@")[-1], ex))
    else:
        h.say("mariadb: skipped (no MYSQL_URI and no fixture URI file)")
    if my:
        try:
            for inp in (a, b):
                for mode, extra, infer, tt in (
                        ("linear", ["--linear"], False, False),
                        ("split3", ["-j", "2", "--split", "3"], False, False),
                        ("text-table-infer", ["--linear"], True, True)):
                    if h.only and h.only not in mode:
                        continue
                    c = h.name("c")
                    load_and_check(h, seed, mode + "/" + inp.tag, my,
                                   [(c, inp.path, inp.path, inp.o)], extra,
                                   infer=infer, text_table=tt)
                parts_check(h, my, inp, 2, False)
            kill_resume(h, my, big, ["--linear"], 2, 15000, infer=False)
        finally:
            my.drop()
    while h.time_left() > 30:
        seed += 2
        a, b = make_inputs(h, seed, size)
        h.say("seed %d (more time left: %.0f s)" % (seed, h.time_left()))
        more_seeds(h, sq, a, b, infer=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", choices=["mongo", "sql"], required=True)
    ap.add_argument("--seed", type=int, default=int(
        os.environ.get("LOADER_TORTURE_SEED") or random.randrange(1 << 30)))
    ap.add_argument("--seconds", type=float, default=float(
        os.environ.get("LOADER_TORTURE_SECONDS") or 75))
    ap.add_argument("--size", type=int, default=int(
        os.environ.get("LOADER_TORTURE_SIZE") or 400_000),
        help="approximate bytes of each generated file")
    ap.add_argument("--keep", help="keep the files in this directory")
    ap.add_argument("--only", help="only modes whose name holds this")
    args = ap.parse_args()
    if not LOADER:
        print("torture: LOADER_BIN is not set; run through ctest")
        return 2
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    h = Harness(args)
    t0 = time.monotonic()
    h.say("torture: target %s, seed %d (LOADER_TORTURE_SEED=%d to repeat), "
          "budget %.0f s, files in %s" % (args.target, args.seed, args.seed,
                                          args.seconds, h.tmp))
    try:
        if args.target == "mongo":
            run_mongo(h, args.size)
        else:
            run_sql(h, args.size)
    except Exception as ex:
        import traceback
        traceback.print_exc()
        h.fail(h.seed, "-", args.target, "harness-error", "-", repr(ex))
    finally:
        if not h.keep:
            shutil.rmtree(h.tmp, ignore_errors=True)
    elapsed = time.monotonic() - t0
    if h.checks == 0:
        h.fail(h.seed, "-", args.target, "nothing-checked", "-",
               "no check ran")
    if h.failures:
        h.say("failures by mode and kind:")
        by = collections.Counter()
        for f in h.failures:
            parts = dict(p.split("=", 1) for p in f.split(" ")[1:5])
            fam = parts["mode"].split("/")[0]
            by[(fam, parts["target"], parts["kind"])] += 1
        for (fam, t, k), n in sorted(by.items()):
            h.say("  %-44s %-14s %-26s %d" % (fam, t, k, n))
    status = "FAILED" if h.failures else "PASSED"
    h.say("torture %s: %s: %d checks, %d failed (%d difference lines), %d "
          "kill -9 mid-load, seed %d, %.0f s" % (
              args.target, status, h.checks, h.failed_checks,
              len(h.failures), h.kills, args.seed, elapsed))
    return 1 if h.failures else 0


if __name__ == "__main__":
    sys.exit(main())
