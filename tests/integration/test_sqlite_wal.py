#!/usr/bin/python3
"""SQLite's WAL under the loader's checkpointer (issue 15): a writer hands
its checkpoints to a thread of the file (see src/sink_sqlite_file.c). What
must not change, read back with Python's sqlite3 against Python's csv:

    test_sqlite_wal.py bounded|reader|kill

  bounded  the WAL stays bounded during a load of many commits (sampled
           every few milliseconds), it is gone after the load (the last
           close copied it), and the database file alone holds every row,
           cell by cell with its SQL type;
  reader   a reader holding a snapshot from before the load (no checkpoint
           can copy a page past it) stalls nothing: the load finishes, and
           once the reader is gone the WAL is copied and removed as before;
  kill     kill -9 while the checkpointer copies a large WAL, then
           --resume: what was committed before the kill is there, and in
           the end every row exactly once, cell by cell."""
import os
import sqlite3
import sys
import threading
import time

from loadtest import (check, csv_rows, gen, main, path, require, run, spawn,
                      sqlite_count, wait_mid_load)

# The bound of src/sink_sqlite_file.c (SINK_SQLITE_WAL_MAX frames) plus a
# batch's frames (--batch-size 2000 customers: about 60 pages), in bytes:
# a frame is a page and a 24-byte header, after a 32-byte file header.
WAL_MAX_FRAMES = 4000
BATCH = 2000
WAL_LIMIT = 32 + (WAL_MAX_FRAMES + 400) * (4096 + 24)
ROWS = 300000  # about 32 MB of database: twice the bound


def expected(col_type, text):
    """What the loader stores for a CSV text of customers in a column of
    col_type: a text column keeps the text (customers' numbers in text
    columns are canonical integers, whose text is the same), an integer
    column the integer (true/false as 1/0), a real column the double."""
    if col_type == "INTEGER":
        return {"true": 1, "false": 0}.get(text) if text in (
            "true", "false") else int(text)
    if col_type == "REAL":
        return float(text)
    return text


def compare_db(db, src, what):
    """Every row of src exactly once in table t of db (keyed by
    customer_id), every cell with its SQL type."""
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    types = {r[1]: r[2] for r in c.execute("PRAGMA table_info(t)")}
    check(types.get("customer_id") == "INTEGER" and types.get("balance") ==
          "REAL" and types.get("email") == "TEXT",
          "%s: unexpected column types %r" % (what, types))
    names = list(types)
    got = {}
    n = 0
    for r in c.execute("SELECT %s FROM t" % ", ".join(
            '"%s"' % k for k in names)):
        got[r[0]] = r
        n += 1
    c.close()
    rows = csv_rows(src)
    check(n == len(got) == len(rows), "%s: %d rows (%d distinct keys), want "
          "%d" % (what, n, len(got), len(rows)))
    bad = 0
    for r in rows:
        g = got.get(int(r["customer_id"]))
        if g is None:
            bad += 1
            continue
        for i, k in enumerate(names):
            want = expected(types[k], r[k])
            if type(g[i]) is not type(want) or g[i] != want:
                bad += 1
                if bad < 4:
                    check(False, "%s: row %s column %s: %r, want %r" % (
                        what, r["customer_id"], k, g[i], want))
    check(bad == 0, "%s: %d rows or cells differ" % (what, bad))


class WalWatch:
    """Samples the size of db's WAL every 2 ms while running."""

    def __init__(self, db):
        self.wal = db + "-wal"
        self.max = 0
        self.samples = 0
        self.done = False
        self.t = threading.Thread(target=self._run)
        self.t.start()

    def _run(self):
        while not self.done:
            try:
                self.max = max(self.max, os.path.getsize(self.wal))
            except OSError:
                pass
            self.samples += 1
            time.sleep(0.002)

    def stop(self):
        self.done = True
        self.t.join()


def bounded():
    src = path("c.csv")
    gen("customers", ROWS, 11, src)
    db = path("b.db")
    w = WalWatch(db)
    rc, _, _ = run(["--uri", "sqlite:" + db, "-q", "-j1", "--batch-size",
                    str(BATCH), "t=" + src])
    w.stop()
    check(rc == 0, "load: exit %d" % rc)
    print("WAL at most %d bytes (%d samples), limit %d" % (
        w.max, w.samples, WAL_LIMIT))
    require(w.samples > 20, "too few samples of the WAL")
    check(0 < w.max <= WAL_LIMIT, "the WAL grew to %d bytes, more than %d"
          % (w.max, WAL_LIMIT))
    check(not os.path.exists(db + "-wal"),
          "the WAL is still there after the load")
    # the database file alone: a copy without any WAL beside it
    alone = path("alone.db")
    with open(db, "rb") as f, open(alone, "wb") as g:
        g.write(f.read())
    compare_db(alone, src, "the database file alone")


def reader():
    src = path("c.csv")
    gen("customers", ROWS // 2, 12, src)
    db = path("r.db")
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE other (x)")
    c.execute("BEGIN")
    c.execute("SELECT COUNT(*) FROM other").fetchone()  # holds a snapshot
    t0 = time.monotonic()
    rc, _, _ = run(["--uri", "sqlite:" + db, "-q", "-j1", "--batch-size",
                    str(BATCH), "t=" + src], timeout=300)
    took = time.monotonic() - t0
    check(rc == 0, "load beside a reader: exit %d after %.1f s" % (rc, took))
    size = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
    print("load beside a reader: %.1f s, WAL %d bytes" % (took, size))
    # the snapshot still sees no table t; nothing was copied past it
    check(c.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'")
          .fetchone()[0] == 0, "the reader's snapshot changed")
    c.execute("COMMIT")
    c.close()  # the last connection: it copies the WAL and removes it
    check(not os.path.exists(db + "-wal"),
          "the WAL is still there after the reader closed")
    compare_db(db, src, "beside a reader")


def kill():
    src = path("c.csv")
    gen("customers", ROWS, 13, src)
    db = path("k.db")
    cp = path("k.checkpoint")
    args = ["--uri", "sqlite:" + db, "-q", "-j1", "--batch-size", str(BATCH),
            "--checkpoint", cp]

    def count():
        return sqlite_count(db)

    p = spawn(args + ["t=" + src])
    # wait until the WAL holds more than SQLite's own threshold (1000
    # pages): the checkpointer is then asked to copy it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None:
        if os.path.exists(db + "-wal") and \
                os.path.getsize(db + "-wal") > 1200 * 4120:
            break
        time.sleep(0.002)
    before = wait_mid_load(p, cp, count, ROWS, "kill")
    check(before % BATCH == 0, "after the kill: %d rows, not whole batches"
          % before)
    rc, _, _ = run(args + ["--resume", "t=" + src])
    check(rc == 0, "resume: exit %d" % rc)
    check(not os.path.exists(db + "-wal"),
          "the WAL is still there after the resume")
    compare_db(db, src, "after kill -9 and --resume")


TESTS = {"bounded": bounded, "reader": reader, "kill": kill}

if __name__ == "__main__":
    sys.exit(main("sqlite_wal_", TESTS))
