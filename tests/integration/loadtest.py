"""What the Python integration tests share: running the loader, private
test servers, generated inputs, the report, kill-mid-load, and reading a
collection back against Python's csv module.

Environment (set by ctest): LOADER_BIN, LOADER_GEN_BIN,
LOADER_TEST_SERVER_BIN, LOADER_SOURCE_DIR.

Every check reads what landed through an independent client (pymongo) and
takes the expected rows from Python's csv module, never from the loader.
No check asserts on wall time."""
import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import pymongo

LOADER = os.environ.get("LOADER_BIN", "")
GEN = os.environ.get("LOADER_GEN_BIN", "")
SERVER = os.environ.get("LOADER_TEST_SERVER_BIN", "")
SOURCE = os.environ.get("LOADER_SOURCE_DIR", ".")
SKIP = 77  # ctest SKIP_RETURN_CODE

TMP = tempfile.mkdtemp(prefix="loader-it-")
FAILURES = []


def check(cond, msg):
    """Records a failed expectation and carries on (every failure of a
    test is shown, not only the first)."""
    if not cond:
        FAILURES.append(msg)
        print("FAIL: " + msg, file=sys.stderr, flush=True)
    return cond


def require(cond, msg):
    """A precondition of the test itself: stop the test when it is false."""
    if not cond:
        raise SystemExit("test setup: " + msg)


def path(name):
    return os.path.join(TMP, name)


def write(name, text):
    """Writes text to the scratch file name, newlines as given; returns its
    path."""
    p = path(name)
    with open(p, "w", newline="") as f:
        f.write(text)
    return p


def run(args, stdin=None, env=None, timeout=600):
    """Runs the loader; returns (exit code, stdout, stderr)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([LOADER] + list(args),
                       stdin=stdin or subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=e, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if err:
        print("[loader %s] exit %d\n%s" % (" ".join(args[-1:]), p.returncode,
                                           err[-3000:]), file=sys.stderr)
    return p.returncode, out, err


def spawn(args, env=None):
    """Starts the loader in the background (for a kill)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.Popen([LOADER] + list(args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=open(path("spawned.stderr"), "ab"), env=e)


def _die_with_parent():
    """In a child: SIGTERM when the test dies, so that a server of a test
    that failed does not hold ctest's output pipe open until its timeout
    (prctl PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Server:
    """A private mongo-test-server, with whatever switches are given."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen([SERVER, "--port", "0"] + list(extra),
                                     stdout=subprocess.PIPE,
                                     preexec_fn=_die_with_parent)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening 127\.0\.0\.1:(\d+)", line)
        require(m, "mongo-test-server did not start: %r" % line)
        self.port = int(m.group(1))
        self.host = "127.0.0.1:%d" % self.port
        self.uri = "mongodb://%s/" % self.host

    def client(self, **kw):
        return pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=5000,
                                   directConnection=True, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def gen(kind, rows, seed, out):
    """Writes rows of loader-gen's kind (customers, products, ...)."""
    subprocess.run([GEN, kind, str(rows), "--seed", str(seed), "-o", out],
                   check=True, stdout=subprocess.DEVNULL)


def report(json_path):
    with open(json_path) as f:
        return json.load(f)


def job(rep, i=0, run_i=0):
    return rep["runs"][run_i]["jobs"][i]


def wait_mid_load(proc, checkpoint, count_fn, total, what):
    """Waits until the load is under way (checkpoint written, some rows
    landed), then kill -9; proves the kill landed mid-load. Returns the
    number of rows in the target after the kill."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if os.path.exists(checkpoint) and count_fn() > 0:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n = count_fn()
    require(proc.returncode == -signal.SIGKILL,
            "%s: the loader finished (exit %s) before the kill; make the "
            "load slower" % (what, proc.returncode))
    require(os.path.exists(checkpoint), "%s: no checkpoint after the kill"
            % what)
    # libmongoc names a shared-memory object after the pid; a killed loader
    # must not leave it for a later process with the same pid to warn about
    shm = "/dev/shm/mongoc-%d" % proc.pid
    require(not os.path.exists(shm), "%s: the killed loader left %s"
            % (what, shm))
    require(0 < n < total, "%s: kill did not land mid-load: %d of %d rows"
            % (what, n, total))
    return n


def sqlite_count(db, table="t"):
    """Rows in table of the SQLite file db, read-only; 0 while the file or
    the table is not there yet (a load mid-way)."""
    if not os.path.exists(db):
        return 0
    try:
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
        n = c.execute('SELECT COUNT(*) FROM "%s"' % table).fetchone()[0]
        c.close()
        return n
    except sqlite3.OperationalError:
        return 0


def inferred(text):
    """The README's inference, restated: canonical integers, decimals with a
    fraction or exponent, true/false; everything else stays text."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", text) and text != "-0":
        v = int(text)
        if -2**63 <= v < 2**63:
            return v
    if re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", text) \
            and re.search(r"[.eE]", text):
        return float(text)
    return text


def csv_rows(csv_path):
    """The file's rows as Python's csv module reads them (gzip too)."""
    if csv_path.endswith(".gz"):
        import gzip
        f = gzip.open(csv_path, "rt", newline="", encoding="utf-8")
    else:
        f = open(csv_path, newline="", encoding="utf-8")
    with f:
        return list(csv.DictReader(f))


def compare(colls, csv_path, key):
    """Checks that the collections (one, or several whose documents
    together are the load) hold every row of csv_path exactly once, field
    by field with types, and nothing else."""
    if not isinstance(colls, (list, tuple)):
        colls = [colls]
    rows = csv_rows(csv_path)
    docs = {}
    n = 0
    for coll in colls:
        for d in coll.find({}):
            docs[d[key]] = d
            n += 1
    check(n == len(docs) == len(rows),
          "%s: %d documents (%d distinct keys), want %d" % (
              csv_path, n, len(docs), len(rows)))
    bad = 0
    for r in rows:
        d = docs.get(inferred(r[key]))
        if d is None:
            bad += 1
            continue
        for k, v in r.items():
            want = inferred(v)
            got = d.get(k)
            if type(got) is not type(want) or got != want:
                bad += 1
                if bad < 4:
                    check(False, "%s row %s field %s: %r, want %r"
                          % (csv_path, r[key], k, got, want))
    check(bad == 0, "%s: %d rows or fields differ" % (csv_path, bad))


def finish(name):
    """Prints the outcome; returns the exit code."""
    if FAILURES:
        print("%d expectation(s) failed in %s" % (len(FAILURES), name),
              file=sys.stderr)
        return 1
    print("%s: ok" % name)
    return 0


def mysql_target():
    """The MariaDB/MySQL target of the SQL tests ($MYSQL_URI, else the
    fixture's URI file) as (uri, user, password, host, port, socket), or
    None when there is none. Raises SystemExit when it cannot be read."""
    uri = os.environ.get("MYSQL_URI")
    f = os.environ.get("LOADER_TEST_MYSQL_URI_FILE", "")
    if not uri and f and os.path.exists(f):
        uri = open(f).readline().strip()
    if not uri:
        return None
    m = re.match(r"mysql://([^:@/]*)(?::([^@/]*))?@([^:/]+)(?::(\d+))?/?"
                 r"([^?]*)(?:\?(.*))?", uri)
    require(m, "cannot read the MariaDB URI")
    user, pw, host, port, _, q = m.groups()
    sock = re.search(r"socket=([^&]*)", q or "")
    return uri, user, pw, host, port, sock.group(1) if sock else None


def mysql_connect(target, db):
    """A pymysql connection (rows as dicts) to database db of target, as
    mysql_target() returns it."""
    import pymysql
    uri, user, pw, host, port, sock = target
    return pymysql.connect(user=user, password=pw or "", host=host,
                           port=int(port or 3306), database=db,
                           unix_socket=sock,
                           cursorclass=pymysql.cursors.DictCursor)


def main(prefix, tests, skip_external=False):
    """Runs the test named on the command line (one of tests), removes the
    scratch directory, prints the outcome as PREFIX_NAME and returns the
    exit code: 0, 1 (an expectation failed), 2 (usage), 77 (skipped)."""
    prog = os.path.basename(sys.argv[0])
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print("usage: %s %s" % (prog, "|".join(tests)), file=sys.stderr)
        return 2
    if skip_external and os.environ.get("MONGODB_URI"):
        print("skipped: needs private test servers (MONGODB_URI is set)")
        return SKIP
    require(LOADER and os.path.exists(LOADER), "LOADER_BIN is not set")
    try:
        code = tests[sys.argv[1]]()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    if code == SKIP:
        return SKIP
    return finish(prefix + sys.argv[1])
