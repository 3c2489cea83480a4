#!/usr/bin/python3
"""Regression tests for the holes of issue 11 ("Exactly once, proven").

One test per hole, each run as its own ctest (holes_<n>_<what>):

    test_holes.py HOLE        HOLE is one of the names in TESTS below

Every test reads back what landed through an independent client (pymongo,
Python's sqlite3, the mariadb command-line client), and takes the expected
rows from Python's csv module, never from the loader. Counts and lines are
asserted exactly; no test asserts on wall time. Where a test kills the
loader, it first proves the kill landed mid-load (the checkpoint exists and
the target holds strictly between 0 and all rows).

Environment (set by ctest): LOADER_BIN, LOADER_GEN_BIN,
LOADER_TEST_SERVER_BIN, LOADER_TEST_URI_FILE (or MONGODB_URI),
LOADER_ENOSPC_SHIM (hole 6), LOADER_TEST_MYSQL_URI_FILE (hole 7, MariaDB).
"""
import csv
import gzip
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zlib

import pymongo

from loadtest import (SKIP, Server, check, gen, job, main, mysql_target,
                      path, report, require, run, spawn, sqlite_count,
                      wait_mid_load)


# ---------------------------------------------------------------- helpers

def shared_uri():
    uri = os.environ.get("MONGODB_URI")
    if uri:
        return uri
    with open(os.environ["LOADER_TEST_URI_FILE"]) as f:
        return f.readline().strip()


def rejects_rows(p):
    """The data rows of a rejects file (PATH, else PATH.partial)."""
    for cand in (p, p + ".partial"):
        if os.path.exists(cand):
            with open(cand, newline="") as f:
                rows = list(csv.reader(f))
            return rows[1:] if rows and rows[0][:2] == ["file", "line"] else rows
    return None


def ints_in(text):
    """The integers in text (thousands separators allowed)."""
    return [int(x.replace(",", "")) for x in
            re.findall(r"\d{1,3}(?:,\d{3})+|\d+", text)]


def value_matches(v, text):
    """Whether a stored value is a faithful rendering of the CSV text."""
    if isinstance(v, bool):
        return text.lower() in (("true", "1", "t") if v else ("false", "0", "f"))
    if isinstance(v, int):
        try:
            return int(text) == v
        except ValueError:
            return False
    if isinstance(v, float):
        try:
            return float(text) == v
        except ValueError:
            return False
    return str(v) == text


def doc_key(d):
    return tuple(sorted((k, repr(v)) for k, v in d.items() if k != "_id"))


# ------------------------------------------------------------------ hole 1

def hole1_gzip_truncated():
    """A truncated .csv.gz (file and stdin): exit 1, an error naming the
    file and the uncompressed offset where the stream broke (also in the
    report), and no record ending after the break is inserted."""
    uri = shared_uri()
    db = "holes1_%d" % os.getpid()
    cli = pymongo.MongoClient(uri)
    plain = path("c50k.csv")
    gen("customers", 50000, 1, plain)
    with open(plain, "rb") as f:
        data = f.read()
    whole = gzip.compress(data)
    for pct in (40, 70):
        cut = whole[:len(whole) * pct // 100]
        gz = path("cut%d.csv.gz" % pct)
        with open(gz, "wb") as f:
            f.write(cut)
        prefix = zlib.decompressobj(31).decompress(cut)
        complete = prefix[:prefix.rfind(b"\n") + 1]
        broke_lo, broke_hi = len(complete), len(prefix)
        oracle = list(csv.reader(io.StringIO(complete.decode("utf-8"))))
        header, rows = oracle[0], oracle[1:]
        by_id = {r[0]: r for r in rows}
        for src, name, stdin, label in (
                ("file", "cut%d=%s" % (pct, gz), None, os.path.basename(gz)),
                ("stdin", "cutin%d=-" % pct, open(gz, "rb"), None)):
            coll = name.split("=")[0]
            rj = path("r1_%s.json" % coll)
            rc, out, err = run(["--uri", uri, "--db", db, "--drop",
                                "--report-json", rj, name], stdin=stdin)
            tag = "gzip cut at %d%% (%s)" % (pct, src)
            check(rc == 1, "%s: exit %d, want 1 (a truncated stream is an "
                  "error)" % (tag, rc))
            # The error names the input and where the stream broke.
            lines = [l for l in err.splitlines()
                     if (label and label in l) or
                     (not label and re.search(r"stdin|standard input|-:", l))]
            where = [l for l in lines
                     if any(broke_lo <= x <= broke_hi for x in ints_in(l))]
            check(where, "%s: no error line names the %s and an uncompressed "
                  "offset in [%d, %d]; stderr: %r"
                  % (tag, label or "standard input", broke_lo, broke_hi,
                     err[-400:]))
            if os.path.exists(rj):
                j = job(report(rj))
                check(j.get("ok") is False, "%s: report says ok=%r"
                      % (tag, j.get("ok")))
                check(any(broke_lo <= x <= broke_hi
                          for x in ints_in(j.get("error", ""))),
                      "%s: the report's error %r does not say where (offset "
                      "in [%d, %d])" % (tag, j.get("error"), broke_lo,
                                        broke_hi))
            # Nothing past the break landed, and what landed is whole.
            bad = []
            for d in cli[db][coll].find({}):
                r = by_id.get(str(d.get("customer_id")))
                if r is None:
                    bad.append("customer_id %s ends after the break"
                               % d.get("customer_id"))
                    continue
                for k, text in zip(header, r):
                    if not value_matches(d.get(k), text):
                        bad.append("customer_id %s: %s=%r, file has %r"
                                   % (r[0], k, d.get(k), text))
            check(not bad, "%s: %d landed documents are not complete records "
                  "before the break, e.g. %s" % (tag, len(bad), bad[:3]))
    cli.drop_database(db)


# ------------------------------------------------------------------ hole 2

def hole2_split_stray_quote():
    """--split 2 and --linear of a file with a stray quote in an unquoted
    field (before the midpoint) and a multi-line quoted field (after it):
    the same rows, rejects, lines and exit code -- or the split refuses
    (exit 2, nothing written)."""
    uri = shared_uri()
    db = "holes2_%d" % os.getpid()
    cli = pymongo.MongoClient(uri)
    src = path("stray.csv")
    out = ["id,name,height,note\n"]
    for k in range(1, 1001):
        h, note = "180cm", "plain note %d" % k
        if k == 200:
            h = "5'11\" tall"
        if k == 700:
            note = '"first line of %d\nsecond line of %d"' % (k, k)
        out.append("%d,name%d,%s,%s\n" % (k, k, h, note))
    with open(src, "w") as f:
        f.write("".join(out))
    with open(src, newline="") as f:
        oracle = list(csv.reader(f))
    require(len(oracle) == 1001, "oracle: %d records" % len(oracle))

    res = {}
    for mode, extra in (("linear", ["--linear"]), ("split", ["--split", "2"])):
        rej = path("r2_%s.csv" % mode)
        rj = path("r2_%s.json" % mode)
        rc, o, e = run(["--uri", uri, "--db", db, "--drop", "--rejects", rej,
                        "--report-json", rj] + extra + ["%s=%s" % (mode, src)])
        docs = sorted(doc_key(d) for d in cli[db][mode].find({}))
        processed = (sum(j["processed"] for j in report(rj)["runs"][0]["jobs"])
                     if os.path.exists(rj) else None)
        res[mode] = (rc, docs, rejects_rows(rej) or [], processed, e)
    lrc, ldocs, lrej, lproc, _ = res["linear"]
    src_rc, sdocs, srej, sproc, serr = res["split"]
    check(lrc == 0 and len(ldocs) == 1000 and lrej == [],
          "linear load (the reference) is not 1000 rows, 0 rejects: exit %d, "
          "%d rows, %d rejects" % (lrc, len(ldocs), len(lrej)))
    if src_rc == 2:
        check(not sdocs, "split refused (exit 2) but wrote %d rows"
              % len(sdocs))
        check(serr.strip(), "split refused without saying why")
        return
    check(src_rc == lrc, "exit: split %d, linear %d" % (src_rc, lrc))
    check(len(sdocs) == len(ldocs), "rows: split %d, linear %d"
          % (len(sdocs), len(ldocs)))
    check(sdocs == ldocs, "split rows differ from linear rows: %d not in "
          "linear, e.g. %s" % (len(set(sdocs) - set(ldocs)),
                               sorted(set(sdocs) - set(ldocs))[:2]))
    check(sproc == lproc, "processed: split %s, linear %s" % (sproc, lproc))
    check(srej == lrej, "rejects: split %s, linear %s" % (srej[:3], lrej[:3]))
    cli.drop_database(db)


# ------------------------------------------------------------------ hole 3

def hole3_dupkey_unique_index_after_retry():
    """A real duplicate on a unique index named customer_id_1, in a batch
    that is retried after a dropped connection, is a rejected row with its
    line -- not counted as inserted."""
    src = path("dup.csv")
    rows = ["customer_id,name\n"]
    for k in range(1, 301):
        rows.append("%d,n%d\n" % (20 if k == 150 else k, k))
    with open(src, "w") as f:
        f.write("".join(rows))
    for fault in ("drop-after-apply:1", "drop-before-apply:1"):
        srv = Server("--fault", fault)
        try:
            cli = srv.client()
            cli.h3.c.create_index("customer_id", unique=True)
            require("customer_id_1" in cli.h3.c.index_information(),
                    "index name")
            rej, rj = path("r3.csv"), path("r3.json")
            for p in (rej, rj):
                if os.path.exists(p):
                    os.unlink(p)
            rc, o, e = run(["--uri", srv.uri, "--db", "h3", "--batch-size",
                            "1000", "--retry-max-wait", "1", "--rejects", rej,
                            "--report-json", rj, "c=" + src])
            tag = "fault %s" % fault
            j = job(report(rj))
            check(j["retries"] >= 1, "%s: the batch was not retried (the "
                  "test needs a retry)" % tag)
            check(rc == 1, "%s: exit %d, want 1 (a row was rejected)"
                  % (tag, rc))
            check((j["processed"], j["inserted"], j["rejected"], j["post"]) ==
                  (300, 299, 1, 299),
                  "%s: processed/inserted/rejected/post = %d/%d/%d/%d, want "
                  "300/299/1/299" % (tag, j["processed"], j["inserted"],
                                     j["rejected"], j["post"]))
            rr = rejects_rows(rej) or []
            check([(r[1], r[5]) for r in rr] == [("151", "20,n150")],
                  "%s: rejects file holds %s, want line 151 '20,n150' once"
                  % (tag, [(r[1], r[4], r[5]) for r in rr]))
            docs = list(cli.h3.c.find({}))
            ids = sorted(d["customer_id"] for d in docs)
            check(ids == [k for k in range(1, 301) if k != 150],
                "%s: landed customer_ids are not 1..300 without 150's "
                "duplicate" % tag)
            check(not any(d["name"] == "n150" for d in docs),
                  "%s: the duplicate row n150 landed" % tag)
        finally:
            srv.stop()


# ------------------------------------------------------------------ hole 4

def hole4_resume_other_plan():
    """A whole-file checkpoint, the load killed mid-way, then --resume with
    a different plan (--split 2, --types, --id-from, --delimiter, another
    database, another collection): exit 2 naming what changed, nothing
    written. The same plan resumes to exactly every row once."""
    total = 20000
    src = path("c20k.csv")
    gen("customers", total, 7, src)
    srv = Server("--delay-ms", "5")
    try:
        cli = srv.client()
        cp = path("h4.checkpoint")
        base = ["--uri", srv.uri, "--db", "h4", "--batch-size", "200", "-q"]
        p = spawn(base + ["--checkpoint", cp, "c=" + src])
        wait_mid_load(p, cp, lambda: cli.h4.c.count_documents({}), total,
                      "hole 4")
        saved = path("h4.checkpoint.saved")
        shutil.copy(cp, saved)
        variants = [
            ("--split 2", ["--split", "2"], "c=" + src, ("h4", "c"),
             r"split|part|range"),
            ("--types", ["--types", "customer_id:string"], "c=" + src,
             ("h4", "c"), r"type"),
            ("--id-from", ["--id-from", "customer_id"], "c=" + src,
             ("h4", "c"), r"id-from|_id|\bid\b"),
            ("--delimiter", ["--delimiter", ";"], "c=" + src, ("h4", "c"),
             r"delimiter|dialect"),
            ("--db", ["--db", "h4other"], "c=" + src, ("h4other", "c"),
             r"h4other|database|\bdb\b"),
            ("collection", [], "c2=" + src, ("h4", "c2"),
             r"c2|collection"),
        ]
        for what, extra, spec, (d, c), word in variants:
            shutil.copy(saved, cp)
            before = cli[d][c].count_documents({})
            rc, o, e = run(base + extra + ["--checkpoint", cp, "--resume",
                                           spec])
            check(rc == 2, "resume with a different %s: exit %d, want 2"
                  % (what, rc))
            check(re.search(word, e, re.I),
                  "resume with a different %s: stderr does not name it: %r"
                  % (what, e[-300:]))
            after = cli[d][c].count_documents({})
            check(after == before, "resume with a different %s wrote %d rows "
                  "(a refused resume writes nothing)" % (what, after - before))
        # The same plan still resumes, exactly once.
        shutil.copy(saved, cp)
        cli.h4.c2.drop()
        cli.drop_database("h4other")
        rj = path("h4.json")
        rc, o, e = run(base + ["--checkpoint", cp, "--resume",
                               "--report-json", rj, "c=" + src])
        check(rc == 0, "resume with the same plan: exit %d" % rc)
        ids = [d["customer_id"] for d in cli.h4.c.find({}, {"customer_id": 1})]
        check(len(ids) == total and len(set(ids)) == total,
              "same-plan resume: %d rows, %d distinct, want %d"
              % (len(ids), len(set(ids)), total))
        j = job(report(rj))
        check(j["processed"] == total, "same-plan resume: processed %d, "
              "want %d" % (j["processed"], total))
    finally:
        srv.stop()


# ------------------------------------------------------------------ hole 5

def make_bad_rows_file(p, total, every):
    """customer_id,name,city with every `every`-th row ragged (2 fields).
    Returns (good ids, {physical line: record text} of the bad rows)."""
    out = ["customer_id,name,city\n"]
    good, bad = [], {}
    for k in range(1, total + 1):
        if k % every == 0:
            rec = "%d,bad%d" % (k, k)
            bad[k + 1] = rec
        else:
            rec = "%d,name%d,city%d" % (k, k, k % 97)
            good.append(k)
        out.append(rec + "\n")
    with open(p, "w") as f:
        f.write("".join(out))
    return good, bad


def check_rejects_exact(rej, bad, tag):
    rows = rejects_rows(rej)
    check(rows is not None, "%s: no rejects file" % tag)
    rows = rows or []
    lines = [int(r[1]) for r in rows]
    dups = sorted({l for l in lines if lines.count(l) > 1}) if \
        len(lines) != len(set(lines)) else []
    check(not dups, "%s: %d rejects lines written more than once, e.g. "
          "lines %s" % (tag, len(dups), dups[:5]))
    missing = sorted(set(bad) - set(lines))
    extra = sorted(set(lines) - set(bad))
    check(not missing and not extra,
          "%s: rejects file misses lines %s, has unexpected lines %s"
          % (tag, missing[:5], extra[:5]))
    wrong = [r for r in rows if int(r[1]) in bad and r[5] != bad[int(r[1])]]
    check(not wrong, "%s: rejects records differ from the file: %s"
          % (tag, wrong[:2]))


def hole5_rejects_after_kill_resume():
    """kill -9 mid-load with many bad rows and small batches, then
    --resume: every bad line exactly once in the rejects file, the
    rejected count exact, every good row once."""
    total, every = 30000, 7
    src = path("bad5.csv")
    good, bad = make_bad_rows_file(src, total, every)
    srv = Server("--delay-ms", "3")
    try:
        cli = srv.client()
        cp, rej, rj = path("h5.checkpoint"), path("h5.rejects.csv"), \
            path("h5.json")
        base = ["--uri", srv.uri, "--db", "h5", "--batch-size", "50", "-q",
                "--checkpoint", cp, "--rejects", rej]
        p = spawn(base + ["c=" + src])
        wait_mid_load(p, cp, lambda: cli.h5.c.count_documents({}), len(good),
                      "hole 5")
        rc, o, e = run(base + ["--resume", "--report-json", rj, "c=" + src])
        check(rc == 1, "resume: exit %d, want 1 (rows were rejected)" % rc)
        j = job(report(rj))
        check((j["processed"], j["inserted"], j["rejected"]) ==
              (total, len(good), len(bad)),
              "resume report: processed/inserted/rejected = %d/%d/%d, want "
              "%d/%d/%d" % (j["processed"], j["inserted"], j["rejected"],
                            total, len(good), len(bad)))
        check_rejects_exact(rej, bad, "after kill -9 and resume")
        ids = [d["customer_id"] for d in cli.h5.c.find({}, {"customer_id": 1})]
        check(sorted(ids) == good, "collection: %d rows (%d distinct), want "
              "the %d good rows once" % (len(ids), len(set(ids)), len(good)))
    finally:
        srv.stop()


def hole10_first_batch_before_its_mark():
    """Found by the torture harness: a job whose first batch landed before
    it could record any mark (here: the connection drops after the server
    applied it, and --retries 0 stops the job) is resumed from nothing; that
    batch comes back as duplicate _ids, which must count as inserted, never
    as rejected rows."""
    total = 2000
    src = path("c10.csv")
    gen("customers", total, 10, src)
    # Two parts, one batch each, one after the other: job 2's first insert
    # is the server's second.
    srv = Server("--fault", "drop-after-apply:2")
    try:
        cli = srv.client()
        cp, rej, rj = path("h10.checkpoint"), path("h10.rejects.csv"), \
            path("h10.json")
        base = ["--uri", srv.uri, "--db", "h10", "--split", "2", "--linear",
                "--batch-size", "5000", "-q", "--checkpoint", cp,
                "--rejects", rej, "--retries", "0"]
        rc, o, e = run(base + ["c=" + src])
        n = cli.h10.c.count_documents({})
        require(rc == 1 and n == total,
                "setup: the second part's batch must land and its job fail "
                "(exit %d, %d of %d rows)" % (rc, n, total))
        rc, o, e = run(base + ["--resume", "--report-json", rj, "c=" + src])
        check(rc == 0, "resume: exit %d, want 0" % rc)
        jobs = report(rj)["runs"][0]["jobs"]
        check(sum(j["inserted"] for j in jobs) == total and
              sum(j["rejected"] for j in jobs) == 0,
              "resume: inserted %d, rejected %d, want %d and 0" % (
                  sum(j["inserted"] for j in jobs),
                  sum(j["rejected"] for j in jobs), total))
        check(not rejects_rows(rej), "rejects file holds %r, want nothing"
              % (rejects_rows(rej) or [])[:2])
        check(cli.h10.c.count_documents({}) == total, "collection: %d rows, "
              "want %d" % (cli.h10.c.count_documents({}), total))
    finally:
        srv.stop()


# ------------------------------------------------------------------ hole 6

def preload(shim):
    """The environment that preloads shim; a sanitizer build of the loader
    is told not to insist on coming first (the shim only wraps libc)."""
    env = {"LD_PRELOAD": shim}
    for var in ("ASAN_OPTIONS", "TSAN_OPTIONS"):
        opts = os.environ.get(var, "")
        env[var] = (opts + ":" if opts else "") + "verify_asan_link_order=0"
    return env


def shim_env(match, after):
    shim = os.environ.get("LOADER_ENOSPC_SHIM", "")
    require(shim and os.path.exists(shim), "LOADER_ENOSPC_SHIM not built")
    env = preload(shim)
    env.update({"LOADER_ENOSPC_PATTERN": "*" + match + "*",
                "LOADER_ENOSPC_AFTER": str(after)})
    return env


def on_disk(rej):
    """Bytes of the rejects file, wherever it is (PATH or PATH.partial)."""
    out = b""
    for cand in (rej, rej + ".partial"):
        if os.path.exists(cand):
            with open(cand, "rb") as f:
                out += f.read()
    return out


def hole6_rejects_enospc():
    """A rejects file that cannot be written (ENOSPC, from an LD_PRELOAD
    shim): an error naming the file and 'No space left on device', exit
    nonzero, and nothing already written deleted -- neither this run's
    first lines nor, on --resume, the previous run's rejects."""
    uri = shared_uri()
    cli = pymongo.MongoClient(uri)
    db = "holes6_%d" % os.getpid()
    total, every = 3000, 5
    src = path("bad6.csv")
    good, bad = make_bad_rows_file(src, total, every)

    # a. A fresh run: the disk fills after 300 bytes of rejects.
    rej = path("h6a-rejects.csv")
    rc, o, e = run(["--uri", uri, "--db", db, "--drop", "-q", "--rejects",
                    rej, "c=" + src], env=shim_env("h6a-rejects", 300))
    check(rc != 0, "ENOSPC on the rejects file: exit 0")
    check("h6a-rejects" in e and "No space left on device" in e,
          "ENOSPC on the rejects file: stderr does not name the file and "
          "the OS error: %r" % e[-300:])
    got = on_disk(rej)
    check(got.startswith(b"file,line,offset,column,reason,record\n") and
          len(got) >= 200,
          "ENOSPC on the rejects file: what was written (300 bytes) is gone: "
          "%d bytes left on disk" % len(got))

    # b. --resume: the previous run's rejects survive a failing append.
    srv = Server("--delay-ms", "3")
    try:
        mc = srv.client()
        cp, rej = path("h6b.checkpoint"), path("h6b-rejects.csv")
        total_b = 30000
        src_b = path("bad6b.csv")
        good_b, bad_b = make_bad_rows_file(src_b, total_b, 7)
        base = ["--uri", srv.uri, "--db", "h6", "--batch-size", "50", "-q",
                "--checkpoint", cp, "--rejects", rej]
        p = spawn(base + ["c=" + src_b])
        # Rows land before their batch is settled and its rejects written:
        # wait for both (a kill between the two left no rejects under ASan).
        wait_mid_load(p, cp, lambda: mc.h6.c.count_documents({})
                      if on_disk(rej).count(b"\n") > 1 else 0,
                      len(good_b), "hole 6b")
        before = on_disk(rej)
        require(before.count(b"\n") > 1, "the first run wrote no rejects "
                "(%d bytes)" % len(before))
        rc, o, e = run(base + ["--resume", "c=" + src_b],
                       env=shim_env("h6b-rejects", 0))
        check(rc != 0, "ENOSPC on resume: exit 0")
        check("h6b-rejects" in e and "No space left on device" in e,
              "ENOSPC on resume: stderr does not name the file and the OS "
              "error: %r" % e[-300:])
        after = on_disk(rej)
        keep = before[:before.rfind(b"\n") + 1]
        check(after.startswith(keep),
              "ENOSPC on resume deleted the previous run's rejects: %d bytes "
              "(%d lines) before, %d bytes after"
              % (len(keep), keep.count(b"\n"), len(after)))
    finally:
        srv.stop()
    cli.drop_database(db)


# ------------------------------------------------------------------ hole 7

KILLS = 10  # kill -9 cycles per SQL test


def kill_resume_cycles(target_args, count_fn, src, total, cp, what):
    """Starts the load, then KILLS times: wait until it is under way,
    kill -9 it (proved mid-load), --resume it; then lets the last resume
    finish. Returns the final resume's exit code."""
    base = target_args + ["--batch-size", "20", "-q", "--checkpoint", cp]
    p = spawn(base + ["t=" + src])
    kills = 0
    for i in range(KILLS):
        start = count_fn()
        deadline = time.monotonic() + 30
        # Let it write some batches past where it started.
        while time.monotonic() < deadline and p.poll() is None and \
                count_fn() < start + 400 * (1 + i % 4):
            time.sleep(0.01)
        if p.poll() is not None:
            break
        p.send_signal(signal.SIGKILL)
        p.wait()
        n = count_fn()
        require(os.path.exists(cp) and 0 < n < total,
                "%s kill %d not mid-load: %d of %d rows" % (what, i + 1, n,
                                                            total))
        kills += 1
        p = spawn(base + ["--resume", "t=" + src])
    require(kills >= 3, "%s: only %d kills landed mid-load" % (what, kills))
    p.wait()
    return p.returncode, kills


def check_each_key_once(rows, total, what, kills):
    ids = [r[0] for r in rows]
    dup = len(ids) - len(set(ids))
    check(len(ids) == total and dup == 0,
          "%s after %d kill -9 + --resume: %d rows, %d doubled keys, want "
          "%d rows each once" % (what, kills, len(ids), dup, total))
    check(set(ids) == set(range(1, total + 1)),
          "%s: keys are not exactly 1..%d" % (what, total))


def hole7_sqlite_kill_resume():
    """SQLite: many small batches, kill -9 mid-load repeatedly, --resume:
    every customer_id exactly once (read back with Python's sqlite3)."""
    total = 200000
    src = path("c200k.csv")
    gen("customers", total, 3, src)
    db = path("h7.db")
    cp = path("h7.checkpoint")

    def count():
        return sqlite_count(db)
    rc, kills = kill_resume_cycles(["--uri", "sqlite:" + db], count, src,
                                   total, cp, "SQLite")
    check(rc == 0, "SQLite final resume: exit %d" % rc)
    c = sqlite3.connect(db)
    rows = c.execute("SELECT customer_id FROM t").fetchall()
    c.close()
    check_each_key_once(rows, total, "SQLite", kills)


def hole7_mysql_kill_resume():
    """MariaDB: as for SQLite, read back with the mariadb client."""
    target = mysql_target()
    if not target:
        print("no MariaDB fixture: skipped", file=sys.stderr)
        raise SystemExit(SKIP)
    uri, user, pw, host, port, sock = target
    dbname = "holes7_%d" % os.getpid()
    cmd = ["mariadb", "-N", "-B", "-u", user, "-h", host]
    if port:
        cmd += ["-P", port, "--protocol=TCP"]
    if pw:
        cmd += ["-p" + pw]
    if sock:
        cmd += ["-S", sock]

    def sql(stmt):
        p = subprocess.run(cmd + ["-e", stmt], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        return p.returncode, p.stdout.decode()

    def count():
        rc, out = sql("SELECT COUNT(*) FROM %s.t" % dbname)
        return int(out.split()[0]) if rc == 0 and out.strip() else 0
    sql("DROP DATABASE IF EXISTS %s" % dbname)
    total = 100000
    src = path("c100k.csv")
    gen("customers", total, 3, src)
    cp = path("h7m.checkpoint")
    rc, kills = kill_resume_cycles(["--uri", uri, "--db", dbname], count, src,
                                   total, cp, "MariaDB")
    check(rc == 0, "MariaDB final resume: exit %d" % rc)
    _, out = sql("SELECT customer_id FROM %s.t" % dbname)
    rows = [(int(x),) for x in out.split()]
    check_each_key_once(rows, total, "MariaDB", kills)
    sql("DROP DATABASE IF EXISTS %s" % dbname)


# ------------------------------------------------------------------ hole 8

def hole8_password_never_printed():
    """The loader run with URIs whose password util_redact_uri misses, or
    that libmongoc cannot parse: the password appears nowhere in stdout,
    stderr or the JSON report."""
    src = path("tiny.csv")
    with open(src, "w") as f:
        f.write("a,b\n1,2\n")
    cases = [
        ("mongodb://alice:pa/ss@127.0.0.1:1/db", "pa/ss"),
        ("mongodb://alice:p?sswd@127.0.0.1:1/db", "p?sswd"),
        ("mongodb://alice:Hunter2Secret@127.0.0.1:notaport/db",
         "Hunter2Secret"),
        ("mongodb://alice:Hunter3Secret@/db", "Hunter3Secret"),
        ("mongodb://alice:Hunter4Secret@127.0.0.1:1/db?w=bogus&"
         "connectTimeoutMS=-5", "Hunter4Secret"),
        ("mongodb://a:b@127.0.0.1:1/?tlsCertificateKeyFilePassword="
         "KeyPassw0rd&serverSelectionTimeoutMS=300", "KeyPassw0rd"),
        ("mysql://alice:my/Secret@127.0.0.1:1/db", "my/Secret"),
    ]
    for uri, secret in cases:
        rj = path("h8.json")
        if os.path.exists(rj):
            os.unlink(rj)
        rc, out, err = run(["--uri", uri, "--report-json", rj, "x=" + src],
                           timeout=120)
        text = out + err + (open(rj).read() if os.path.exists(rj) else "")
        check(secret not in text,
              "--uri %s: the password %r is printed (exit %d): %r"
              % (uri, secret, rc,
                 [l for l in text.splitlines() if secret in l][:2]))
    # A URI given where a file goes (--uri forgotten): a usage error that
    # shows the URI redacted.
    for arg in ("mongodb://alice:Forgot5Secret@127.0.0.1:1/db",
                "x=mongodb://alice:Forgot5Secret@127.0.0.1:1/db"):
        rc, out, err = run([arg], timeout=60)
        check(rc == 2, "%s as a file: exit %d, want 2" % (arg, rc))
        check("Forgot5Secret" not in out + err and "alice:***@" in err,
              "%s as a file: the password is printed or the URI not shown "
              "redacted: %r" % (arg, err))


# ------------------------------------------------------------------ hole 9

def hole9_tsan_gzip_json():
    """A gzip CSV and a JSON file, each in many small batches (so the
    writer thread runs beside the parser), against the test server. In a
    ThreadSanitizer build (scripts/test.sh: add 'holes_9' to the TSan
    filter) a data race makes the loader exit 66 with a report; in any
    build the counts are exact."""
    uri = shared_uri()
    cli = pymongo.MongoClient(uri)
    db = "holes9_%d" % os.getpid()
    total = 20000
    plain = path("c9.csv")
    gen("customers", total, 9, plain)
    with open(plain, "rb") as f, open(path("c9.csv.gz"), "wb") as g:
        g.write(gzip.compress(f.read()))
    with open(plain, newline="") as f, open(path("c9.ndjson"), "w") as g:
        for r in csv.DictReader(f):
            g.write(json.dumps({"customer_id": int(r["customer_id"]),
                                "email": r["email"]}) + "\n")
    with open(path("c9.ndjson"), "rb") as f, \
            open(path("c9.ndjson.gz"), "wb") as g:
        g.write(gzip.compress(f.read()))
    env = {"TSAN_OPTIONS": os.environ.get("TSAN_OPTIONS",
                                          "halt_on_error=1:exitcode=66")}
    # The reader inflates with zlib's inflate() itself and publishes its
    # position atomically, so the writer never calls into zlib: every read
    # the two threads share is instrumented, and ThreadSanitizer sees it.
    runs = [(name, spec, env)
            for name, spec in (("gz", "gz=" + path("c9.csv.gz")),
                               ("js", "js=" + path("c9.ndjson")),
                               ("jsgz", "jsgz=" + path("c9.ndjson.gz")))]
    for name, spec, e in runs:
        rj = path("h9.json")
        rc, out, err = run(["--uri", uri, "--db", db, "--drop", "-j", "2",
                            "--batch-size", "100", "--progress", "always",
                            "--report-json", rj, spec], env=e)
        check("ThreadSanitizer" not in err,
              "%s: ThreadSanitizer reports a race: %s"
              % (name, err[err.find("WARNING: ThreadSanitizer"):][:1500]))
        check(rc == 0, "%s: exit %d" % (name, rc))
        ids = [d["customer_id"] for d in cli[db][name].find({}, {"customer_id": 1})]
        check(len(ids) == total and len(set(ids)) == total,
              "%s: %d rows, %d distinct, want %d" % (name, len(ids),
                                                     len(set(ids)), total))
    cli.drop_database(db)


TESTS = {
    "1_gzip_truncated": hole1_gzip_truncated,
    "2_split_stray_quote": hole2_split_stray_quote,
    "3_dupkey_unique_index_after_retry": hole3_dupkey_unique_index_after_retry,
    "4_resume_other_plan": hole4_resume_other_plan,
    "5_rejects_after_kill_resume": hole5_rejects_after_kill_resume,
    "6_rejects_enospc": hole6_rejects_enospc,
    "7_sqlite_kill_resume": hole7_sqlite_kill_resume,
    "7_mysql_kill_resume": hole7_mysql_kill_resume,
    "8_password_never_printed": hole8_password_never_printed,
    "9_tsan_gzip_json": hole9_tsan_gzip_json,
    "10_first_batch_before_its_mark": hole10_first_batch_before_its_mark,
}


if __name__ == "__main__":
    sys.exit(main("holes_", TESTS))
