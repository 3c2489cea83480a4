#!/usr/bin/python3
"""Issue 14, mongoimport's command lines as they are: the loader run with
mongoimport's flags (--host, --port, -u, -p, --authenticationDatabase,
--ssl --tlsCAFile, -d, -c, --file, standard input, --type, --headerline,
--fields, --columnsHaveTypes, --parseGrace, --jsonArray, --ignoreBlanks,
--drop, --upsertFields, --mode, -j, --batchSize, --writeConcern) against a
test server that requires a SCRAM user (and TLS when the openssl command is
there), read back with pymongo.

    test_mongoimport.py expected|differential

expected: each command line's documents against documents written out
below (from the README's rules, not from the loader); the password given
with -p is in no output: stdout, stderr, progress, the JSON report, the
checkpoint, the rejects file, errors.

differential: the same command lines through mongoimport ($MONGOIMPORT, or
on PATH; skipped when absent) and the loader, into two collections,
compared document by document with types (_id ignored where generated).
Untyped values are typed differently until --infer-as mongoimport lands,
so the files here are typed (--columnsHaveTypes), strings only, or JSON.

Skips (77) when MONGODB_URI is set: it needs its own server with a user."""
import datetime
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

import pymongo
from bson import Decimal128, Int64, ObjectId

from loadtest import (LOADER, SKIP, Server, check, main, path, require,
                      run, write)
from test_deploy import PASSWORD, make_certs

DB = "mi"


class Target:
    """A test server with the user alice (and TLS when openssl is there),
    mongoimport's flags to reach it, and a pymongo client."""

    def __init__(self):
        self.tls = shutil.which("openssl") is not None
        extra = ["--user", "alice:" + PASSWORD]
        if self.tls:
            make_certs()
            extra += ["--tls-cert", path("srv.crt"), "--tls-key",
                      path("srv.key")]
        else:
            print("no openssl command: TLS not tested", file=sys.stderr)
        self.srv = Server(*extra)
        self.flags = ["--host", "127.0.0.1", "--port", str(self.srv.port),
                      "-u", "alice", "-p", PASSWORD,
                      "--authenticationDatabase", "admin"]
        kw = {}
        if self.tls:
            # mongoimport 100.8.0's spelling (newer ones add --tls...)
            self.flags += ["--ssl", "--sslCAFile", path("ca.pem")]
            kw = {"tls": True, "tlsCAFile": path("ca.pem")}
        self.client = pymongo.MongoClient(
            "127.0.0.1", self.srv.port, username="alice", password=PASSWORD,
            authSource="admin", directConnection=True,
            serverSelectionTimeoutMS=5000, **kw)

    def docs(self, coll, key):
        """The collection's documents sorted by key, with generated
        (ObjectId) _ids left out."""
        out = []
        for d in self.client[DB][coll].find({}):
            if isinstance(d.get("_id"), ObjectId):
                del d["_id"]
            out.append(d)
        return sorted(out, key=lambda d: d.get(key))

    def stop(self):
        self.client.close()
        self.srv.stop()


def typed(v):
    """v with the type of every value beside it, recursively, so that
    comparing two of them compares types too (1 is not 1.0, int32 is not
    Int64)."""
    if isinstance(v, dict):
        return {k: typed(x) for k, x in v.items()}
    if isinstance(v, list):
        return [typed(x) for x in v]
    return (type(v).__name__, v)


def same_docs(got, want, what):
    """got and want: lists of documents in the same order."""
    check(len(got) == len(want), "%s: %d documents, want %d" %
          (what, len(got), len(want)))
    for g, w in zip(got, want):
        check(typed(g) == typed(w), "%s: got %r\n  want %r" % (what, g, w))


# The files: typed CSV (people), TSV of strings (cities), a JSON array in
# a file whose name does not say JSON (things.txt), CSV for standard input
# (pairs), and three files for insert, upsert and merge (u1, u2, u3).
PEOPLE = (
    "id.int32(),name.string(),zip.string(),amount.decimal(),big.int64(),"
    "ratio.double(),when.date_go(2006-01-02),ok.boolean(),"
    "pic.binary(base64),addr.city.string(),addr.n.int32(),note.string()\n"
    "1,Ann,02139,12.50,9000000000,0.5,2020-01-02,true,aGk=,Oslo,150,\n"
    "2,Bob,10001,3,-1,1e3,2021-05-06,false,,Rome,100,hi there\n"
    "3,Cy,x,not-a-number,0,0,2022-01-01,true,,Bern,1,bad amount\n"
    "4,Di,07030,-0.25,7,2.5,1999-12-31,false,AAE=,Oslo,-3,\n")
PEOPLE_WANT = [
    {"id": 1, "name": "Ann", "zip": "02139", "amount": Decimal128("12.50"),
     "big": Int64(9000000000), "ratio": 0.5,
     "when": datetime.datetime(2020, 1, 2), "ok": True,
     "pic": b"hi", "addr": {"city": "Oslo", "n": 150}},
    {"id": 2, "name": "Bob", "zip": "10001", "amount": Decimal128("3"),
     "big": Int64(-1), "ratio": 1000.0,
     "when": datetime.datetime(2021, 5, 6), "ok": False,
     "addr": {"city": "Rome", "n": 100}, "note": "hi there"},
    # row 3 (a decimal that is not one) is skipped: --parseGrace skipRow
    {"id": 4, "name": "Di", "zip": "07030", "amount": Decimal128("-0.25"),
     "big": Int64(7), "ratio": 2.5,
     "when": datetime.datetime(1999, 12, 31), "ok": False,
     "pic": b"\x00\x01", "addr": {"city": "Oslo", "n": -3}},
]
CITIES = "Oslo\tNorway\tfjords\nRome\tItaly\t\nBern\tSwitzerland\tbears\n"
THINGS = ('[{"k": 1, "v": "a"},\n {"k": 2, "v": {"$numberLong": "5"}, '
          '"d": {"$date": "2020-01-01T00:00:00Z"}},\n {"k": 3, "v": 2.5, '
          '"tags": ["x", "y"], "sub": {"t": true}}]\n')
THINGS_WANT = [
    {"k": 1, "v": "a"},
    {"k": 2, "v": Int64(5), "d": datetime.datetime(2020, 1, 1)},
    {"k": 3, "v": 2.5, "tags": ["x", "y"], "sub": {"t": True}},
]
UNTYPED = ("id,zip,flag,n,f,big,text\n"
           "1,007,true, 5 ,1.5,9000000000,Oslo\n"
           "2,+5,false,-0,.5,-2147483649,two words\n"
           "3,1e3,TRUE,x,1.,2147483647,\n")
PAIRS = "name.string(),city.string()\nann,oslo\nbob,rome\n"
U1 = "id.int32(),v.string(),old.string()\n1,a,o1\n2,b,o2\n"
U2 = "id.int32(),v.string()\n2,B\n3,c\n"
U3 = "id.int32(),w.string()\n1,x\n3,z\n"

PEOPLE_LINE = ["-d", DB, "--type", "csv", "--headerline",
               "--columnsHaveTypes", "--drop", "--ignoreBlanks",
               "--parseGrace", "skipRow", "-j", "2", "--batchSize", "100",
               "--writeConcern", "majority"]
TYPED = ["--type", "csv", "--headerline", "--columnsHaveTypes"]


def run_stdin(args, stdin_path):
    with open(stdin_path, "rb") as f:
        return run(args, stdin=f)


def expected_case(t):
    people = write("people.csv", PEOPLE)
    cities = write("cities.tsv", CITIES)
    things = write("things.txt", THINGS)
    pairs = write("pairs.csv", PAIRS)

    # Typed CSV, -c and --file; row 3 rejected (exit 1: the loader's code
    # for rejected rows, where mongoimport exits 0).
    rc, out, err = run(t.flags + PEOPLE_LINE + ["-c", "people", "--file",
                                                people])
    check(rc == 1, "people: exit %d, want 1 (one row skipped)" % rc)
    same_docs(t.docs("people", "id"), PEOPLE_WANT, "people")

    # TSV with --fields and no -c: the collection is the file's name.
    # (--tls --tlsCAFile: the newer spellings.)
    flags = [{"--ssl": "--tls", "--sslCAFile": "--tlsCAFile"}.get(a, a)
             for a in t.flags]
    rc, out, err = run(flags + ["-d", DB, "--type", "tsv", "--fields",
                                "city,country,note", "--ignoreBlanks",
                                "--file", cities])
    check(rc == 0, "cities: exit %d" % rc)
    same_docs(t.docs("cities", "city"), [
        {"city": "Bern", "country": "Switzerland", "note": "bears"},
        {"city": "Oslo", "country": "Norway", "note": "fjords"},
        {"city": "Rome", "country": "Italy"}], "cities")

    # --jsonArray: JSON, whatever the file's name.
    rc, out, err = run(t.flags + ["-d", DB, "-c", "things", "--jsonArray",
                                  "--file", things])
    check(rc == 0, "things: exit %d" % rc)
    same_docs(t.docs("things", "k"), THINGS_WANT, "things")

    # No --file, no FILE: standard input, into -c.
    rc, out, err = run_stdin(t.flags + ["-d", DB, "-c", "pairs"] + TYPED,
                             pairs)
    check(rc == 0, "pairs from standard input: exit %d" % rc)
    same_docs(t.docs("pairs", "name"), [{"name": "ann", "city": "oslo"},
                                        {"name": "bob", "city": "rome"}],
              "pairs")

    # A FILE argument with -c (mongoimport's positional file).
    rc, out, err = run(t.flags + ["-d", DB, "-c", "pairs2"] + TYPED + [pairs])
    check(rc == 0, "pairs2: exit %d" % rc)
    check(t.client[DB].pairs2.count_documents({}) == 2, "pairs2: not 2 rows")

    # -u, -p and --authenticationDatabase added to a --uri that lacks them.
    uri = "mongodb://127.0.0.1:%d/" % t.srv.port
    if t.tls:
        uri += "?tls=true&tlsCAFile=" + urllib.parse.quote(path("ca.pem"))
    rc, out, err = run(["--uri", uri, "-u", "alice", "-p", PASSWORD,
                        "--authenticationDatabase", "admin", "-d", DB, "-c",
                        "pairs3"] + TYPED + [pairs])
    check(rc == 0, "pairs3 (--uri with -u, -p): exit %d" % rc)
    check(t.client[DB].pairs3.count_documents({}) == 2, "pairs3: not 2 rows")

    # --upsertFields alone upserts; --mode merge merges.
    u = [write("u1.csv", U1), write("u2.csv", U2), write("u3.csv", U3)]
    base = t.flags + ["-d", DB, "-c", "up"] + TYPED
    codes = [run(base + ["--file", u[0]])[0],
             run(base + ["--upsertFields", "id", "--file", u[1]])[0],
             run(base + ["--mode", "merge", "--upsertFields", "id",
                         "--file", u[2]])[0]]
    check(codes == [0, 0, 0], "insert, upsert, merge: exits %r" % codes)
    # upsert replaces (2 loses old), merge sets (1 keeps it)
    same_docs(t.docs("up", "id"), [{"id": 1, "v": "a", "old": "o1", "w": "x"},
                                   {"id": 2, "v": "B"},
                                   {"id": 3, "v": "c", "w": "z"}], "up")


def secrecy_case(t):
    """-p's password, as given and percent-encoded, in no output."""
    people = write("people.csv", PEOPLE)
    secrets = [PASSWORD, urllib.parse.quote(PASSWORD, safe="")]
    files = {"report": path("r.json"), "checkpoint": path("cp.json"),
             "rejects": path("rej.csv")}
    rc, out, err = run(t.flags + PEOPLE_LINE + [
        "-c", "secret", "--file", people, "--report-json", files["report"],
        "--checkpoint", files["checkpoint"], "--rejects", files["rejects"],
        "--progress", "always"])
    check(rc == 1, "secrecy run: exit %d, want 1" % rc)
    texts = {"stdout": out, "stderr": err}
    for what, p in files.items():
        require(os.path.exists(p), "no %s written" % what)
        texts[what] = open(p, encoding="utf-8", errors="replace").read()
    check("\r" in err or "\x1b" in err or "secret" in err,
          "no progress drawn on stderr: %r" % err[-200:])
    # A wrong password (exit 3) and no server there (exit 3).
    wrong = list(t.flags)
    wrong[wrong.index("-p") + 1] = "Wr0ng-" + PASSWORD
    rc, out, err = run(wrong + ["-d", DB, "-c", "w"] + TYPED + [people])
    check(rc == 3, "wrong password: exit %d, want 3" % rc)
    texts["wrong password"] = out + err
    gone = list(t.flags)
    gone[gone.index("--port") + 1] = "1"
    rc, out, err = run(gone + ["-d", DB, "-c", "w"] + TYPED + [people])
    check(rc == 3, "no server: exit %d, want 3" % rc)
    texts["no server"] = out + err
    for what, text in texts.items():
        for s in secrets:
            check(s not in text, "%s holds the password" % what)


def cmdline_case(t):
    """While the load runs, ps shows no password: not -p's, not the URI's
    (the loader reads its data from a pipe held open, so it is alive when
    /proc/PID/cmdline is read)."""
    uri = "mongodb://alice:%s@127.0.0.1:%d/?authSource=admin" % (
        urllib.parse.quote(PASSWORD, safe=""), t.srv.port)
    if t.tls:
        uri += "&tls=true&tlsCAFile=" + path("ca.pem")
    lines = {"-p": t.flags + ["-d", DB, "-c", "ps1"] + TYPED,
             "--uri": ["--uri", uri, "-d", DB, "-c", "ps2"] + TYPED}
    for what, args in lines.items():
        p = subprocess.Popen([LOADER] + args, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            shown = None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and p.poll() is None:
                with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                    shown = f.read().decode("utf-8", "replace")
                if not any(s in shown for s in
                           (PASSWORD, urllib.parse.quote(PASSWORD, safe=""))):
                    break
                time.sleep(0.02)
            check(p.poll() is None, "%s: the loader ended before ps was read "
                  "(exit %s)" % (what, p.returncode))
            check(shown is not None and PASSWORD not in shown and
                  urllib.parse.quote(PASSWORD, safe="") not in shown,
                  "%s: ps shows the password: %r" % (what, shown))
            p.stdin.write(b"name.string(),age.int32()\nAda,36\n")
            p.stdin.close()
            rc = p.wait(timeout=60)
            check(rc == 0, "%s: exit %s" % (what, rc))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    same_docs(t.docs("ps1", "name"), [{"name": "Ada", "age": 36}], "ps1")
    same_docs(t.docs("ps2", "name"), [{"name": "Ada", "age": 36}], "ps2")


def expected():
    t = Target()
    try:
        expected_case(t)
        secrecy_case(t)
        cmdline_case(t)
    finally:
        t.stop()
    return 0


def find_mongoimport():
    exe = os.environ.get("MONGOIMPORT") or shutil.which("mongoimport")
    return exe if exe and os.access(exe, os.X_OK) else None


def both(t, exe, name, args, key, stdin=None, codes=(0, 0), loader=()):
    """Runs args with -c mi_NAME through mongoimport and -c ld_NAME (and
    loader's extra arguments) through the loader; compares the two
    collections document by document."""
    outcomes = []
    for prog, coll in ((exe, "mi_" + name), (None, "ld_" + name)):
        line = t.flags + ["-d", DB, "-c", coll] + args
        if not prog:
            line += list(loader)
        f = open(stdin, "rb") if stdin else subprocess.DEVNULL
        try:
            if prog:
                p = subprocess.run([prog] + line, stdin=f,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=300)
                rc = p.returncode
                if rc != codes[0]:
                    print(p.stderr.decode(errors="replace")[-2000:],
                          file=sys.stderr)
            else:
                rc = run(line, stdin=f)[0]
        finally:
            if stdin:
                f.close()
        outcomes.append(rc)
    check(tuple(outcomes) == tuple(codes), "%s: exits (mongoimport, loader) "
          "%r, want %r" % (name, outcomes, codes))
    mi, ld = t.docs("mi_" + name, key), t.docs("ld_" + name, key)
    check(len(mi) > 0, "%s: mongoimport loaded nothing" % name)
    same_docs(ld, mi, "%s (loader against mongoimport)" % name)
    return mi, ld


def differential():
    exe = find_mongoimport()
    if not exe:
        print("skipped: no mongoimport (set MONGOIMPORT or put it on PATH)")
        return SKIP
    t = Target()
    try:
        people = write("people.csv", PEOPLE)
        # skipRow: mongoimport exits 0, the loader 1 (a row rejected)
        both(t, exe, "people", PEOPLE_LINE[2:] + ["--file", people], "id",
             codes=(0, 1))
        # --ignoreBlanks: a blank in a typed column differs (README: the
        # loader stores null, mongoimport an empty binary, or what
        # --parseGrace does with a value that does not parse)
        both(t, exe, "skipfield", TYPED + ["--ignoreBlanks", "--parseGrace",
                                           "skipField", "--file", people],
             "id")
        both(t, exe, "autocast", TYPED + ["--ignoreBlanks", "--parseGrace",
                                          "autoCast", "--file", people], "id")
        # Where autoCast differs (README): a failed value that reads as a
        # number is one for mongoimport, text for the loader by default.
        num = write("num.csv", "id.int32(),n.int32()\n1,1.5\n2,7\n")
        t.client[DB].drop_collection("mi_num")
        t.client[DB].drop_collection("ld_num")
        subprocess.run([exe] + t.flags + ["-d", DB, "-c", "mi_num"] + TYPED +
                       ["--parseGrace", "autoCast", "--file", num],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run(t.flags + ["-d", DB, "-c", "ld_num"] + TYPED +
            ["--parseGrace", "autoCast", "--file", num])
        mi, ld = t.docs("mi_num", "id"), t.docs("ld_num", "id")
        check([typed(d.get("n")) for d in mi] == [("float", 1.5),
                                                  ("int", 7)],
              "mongoimport's autoCast is not as the README says: %r" % mi)
        check([typed(d.get("n")) for d in ld] == [("str", "1.5"),
                                                  ("int", 7)],
              "the loader's autoCast is not as the README says: %r" % ld)
        # ... and with --infer-as mongoimport it is mongoimport's.
        both(t, exe, "num2", TYPED + ["--parseGrace", "autoCast", "--file",
                                      num], "id",
             loader=["--infer-as", "mongoimport"])

        cities = write("cities.tsv", CITIES)
        both(t, exe, "cities", ["--type", "tsv", "--fields",
                                "city,country,note", "--ignoreBlanks",
                                "--file", cities], "city")
        things = write("things.txt", THINGS)
        both(t, exe, "things", ["--jsonArray", "--file", things], "k")
        pairs = write("pairs.csv", PAIRS)
        both(t, exe, "stdin", TYPED, "name", stdin=pairs)
        u = [write("u1.csv", U1), write("u2.csv", U2), write("u3.csv", U3)]
        both(t, exe, "up", TYPED + ["--file", u[0]], "id")
        both(t, exe, "up", TYPED + ["--upsertFields", "id", "--file", u[1]],
             "id")
        both(t, exe, "up", TYPED + ["--mode", "merge", "--upsertFields", "id",
                                    "--file", u[2]], "id")
        # Untyped values, typed by mongoimport's rules (--infer-as
        # mongoimport, the one argument a script adds to get them).
        untyped = write("untyped.csv", UNTYPED)
        both(t, exe, "untyped", ["--type", "csv", "--headerline", "--file",
                                 untyped], "id",
             loader=["--infer-as", "mongoimport"])
    finally:
        t.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main("mongoimport_", {"expected": expected,
                                   "differential": differential},
                  skip_external=True))
