#!/usr/bin/python3
"""What values become where a user asks for mongoimport's rules (issue 14):
--array-index-fields, binary(base32), date_oracle(FORMAT), int32/int64
overflow, and --infer-as mongoimport.

    test_values.py arrays|typed|infer|sql

Each load is read back with pymongo (sqlite3 for sql) and compared field
by field, with types, against documents written out below. Where
mongoimport is found (env MONGOIMPORT, else PATH), the same file also goes
through mongoimport with the matching flags and the two collections are
compared document by document; without it that part is skipped and says
so. MONGODB_URI, when set, is the server used (a scratch database, dropped
at the end); otherwise a private test server."""
import datetime
import math
import os
import shutil
import sqlite3
import subprocess
import sys

from bson.int64 import Int64

from loadtest import Server, check, main, path, require, run, write

I64 = Int64
UTC = datetime.timezone.utc


def mongoimport():
    """The mongoimport to compare with, or None."""
    m = os.environ.get("MONGOIMPORT") or shutil.which("mongoimport")
    return m if m and os.access(m, os.X_OK) else None


class Target:
    """The server and a scratch database on it."""

    def __init__(self):
        import pymongo
        self.srv = None
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            self.srv = Server()
            uri = self.srv.uri
        self.uri = uri
        self.cli = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
        self.db_name = "loader_values_%d" % os.getpid()
        self.db = self.cli[self.db_name]

    def close(self):
        self.cli.drop_database(self.db_name)
        self.cli.close()
        if self.srv:
            self.srv.stop()


def same(a, b):
    """a and b are the same value of the same type, recursively, documents
    with their keys in the same order; NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float) and a == 0:
        return b == 0 and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def docs(coll):
    """The collection's documents without _id, in id order."""
    return sorted((dict((k, v) for k, v in d.items() if k != "_id")
                   for d in coll.find({})), key=lambda d: d.get("id", 0))


def expect(what, got, want):
    """Compares documents read back with the documents written out."""
    check(len(got) == len(want), "%s: %d documents, want %d"
          % (what, len(got), len(want)))
    for g, w in zip(got, want):
        check(same(g, w), "%s: id %s:\n  got  %r\n  want %r"
              % (what, w.get("id"), g, w))


def load(t, coll, src, *flags, want_rc=0):
    rc, out, err = run(["--uri", t.uri, "--db", t.db_name, "--drop", "-q"] +
                       list(flags) + ["%s=%s" % (coll, src)])
    check(rc == want_rc, "loader %s %s: exit %d, want %d"
          % (" ".join(flags), coll, rc, want_rc))
    return err


def differential(t, coll, src, loader_flags, mi_flags, loader_rc=0):
    """Loads src with the loader and with mongoimport; compares the
    collections document by document. Returns False when mongoimport is
    absent."""
    mi = mongoimport()
    if not mi:
        print("mongoimport not found (PATH, $MONGOIMPORT): differential "
              "part of %s skipped" % coll, file=sys.stderr)
        return False
    load(t, coll + "_l", src, *loader_flags, want_rc=loader_rc)
    p = subprocess.run([mi, "--uri", t.uri, "-d", t.db_name, "-c",
                        coll + "_m", "--drop", "--quiet", "--file", src] +
                       mi_flags, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    check(p.returncode == 0, "mongoimport %s: exit %d: %s"
          % (" ".join(mi_flags), p.returncode, p.stderr.decode()[-500:]))
    ours, theirs = docs(t.db[coll + "_l"]), docs(t.db[coll + "_m"])
    require(len(theirs) > 0, "mongoimport loaded nothing from " + src)
    expect("%s: loader vs mongoimport" % coll, ours, theirs)
    print("%s: %d documents identical to mongoimport's" % (coll, len(ours)))
    return True


# --- --array-index-fields ---------------------------------------------

ARRAYS = ("id,tags.0,tags.1,tags.2,items.0.sku,items.0.qty,items.1.sku,"
          "items.1.qty,x.01,m.0.0,m.0.1,m.1.0\r\n"
          "1,a,b,c,s1,1,s2,2,z,p,q,r\r\n"
          "2,a,,,s1,,,,z,p,,\r\n"
          "3,,b,,,,s2,007,,,q,r\r\n"
          "4,,,,,,,,,,,\r\n")


def want_arrays(ignore_blanks):
    if not ignore_blanks:
        return [
            {"id": 1, "tags": ["a", "b", "c"],
             "items": [{"sku": "s1", "qty": 1}, {"sku": "s2", "qty": 2}],
             "x": {"01": "z"}, "m": [["p", "q"], ["r"]]},
            {"id": 2, "tags": ["a", "", ""],
             "items": [{"sku": "s1", "qty": ""}, {"sku": "", "qty": ""}],
             "x": {"01": "z"}, "m": [["p", ""], [""]]},
            {"id": 3, "tags": ["", "b", ""],
             "items": [{"sku": "", "qty": ""}, {"sku": "s2", "qty": "007"}],
             "x": {"01": ""}, "m": [["", "q"], ["r"]]},
            {"id": 4, "tags": ["", "", ""],
             "items": [{"sku": "", "qty": ""}, {"sku": "", "qty": ""}],
             "x": {"01": ""}, "m": [["", ""], [""]]},
        ]
    # Trailing blanks left out, empty documents and arrays gone; row 3 has
    # a blank before a value in its arrays (it would move up): rejected.
    return [
        want_arrays(False)[0],
        {"id": 2, "tags": ["a"], "items": [{"sku": "s1"}], "x": {"01": "z"},
         "m": [["p"]]},
        {"id": 4},
    ]


def test_arrays():
    t = Target()
    try:
        src = write("arrays.csv", ARRAYS)
        load(t, "arr", src, "--array-index-fields")
        expect("arrays", docs(t.db.arr), want_arrays(False))
        err = load(t, "arr_ib", src, "--array-index-fields",
                   "--ignore-blanks", want_rc=1)
        expect("arrays --ignore-blanks", docs(t.db.arr_ib), want_arrays(True))
        # Row id 3 is physical line 4; its first element after a blank is
        # tags.1 (column 3), after the blank tags.0.
        check(":4:3: " in err and '"tags.1"' in err and '"tags.0"' in err
              and "move up" in err,
              "the row with a blank before a value is named: %r" % err)
        # Without the option, numbers are keys of documents.
        load(t, "arr_off", src)
        d = t.db.arr_off.find_one({"id": 1})
        check(d and d["tags"] == {"0": "a", "1": "b", "2": "c"} and
              d["m"] == {"0": {"0": "p", "1": "q"}, "1": {"0": "r"}},
              "without --array-index-fields: %r" % d)
        # Indexes out of order: a header error naming the columns.
        bad = write("bad.csv", "id,t.0,t.2\n1,a,b\n")
        err = load(t, "bad", bad, "--array-index-fields", want_rc=1)
        check('column 3 "t.2"' in err and 'column 2 "t.0"' in err and
              "expected 1" in err and "bad.csv" in err,
              "the header error names the file and the columns: %r" % err)
        # mongoimport on the same file; with --ignoreBlanks only on rows
        # whose blanks are trailing (a blank before a value stops it).
        # (mongoimport's rules type the values: "007" is 7 there.)
        differential(t, "arr_d", src,
                     ["--array-index-fields", "--infer-as", "mongoimport"],
                     ["--type", "csv", "--headerline",
                      "--useArrayIndexFields"])
        trailing = write("trailing.csv", ARRAYS.split("\r\n3,")[0] + "\r\n")
        differential(t, "arr_ib_d", trailing,
                     ["--array-index-fields", "--ignore-blanks", "--infer-as",
                      "mongoimport"],
                     ["--type", "csv", "--headerline",
                      "--useArrayIndexFields", "--ignoreBlanks"])
    finally:
        t.close()


# --- typed columns ----------------------------------------------------

TYPED = ("id.int32(),b.binary(base32),d.date_oracle(YYYY-MM-DD HH24:MI:SS),"
         "o.date_oracle(DD-MON-YY),n.int32(),l.int64(),x.double()\n"
         "1,MZXW6YTBOI======,2024-02-29 13:45:10,05-Mar-24,2147483647,"
         "9223372036854775807,1_000.5\n"
         "2,MY======,1999-12-31 23:59:59,31-DEC-99,+5,007,Infinity\n"
         "3,77777777,2024-03-05 00:00:00,01-jan-00,-2147483648,-5,1e-3\n"
         "4,MZXW6===,2024-03-05 00:00:00,01-Jan-00,2147483648,1,1\n"
         "5,MZXW6===,2024-03-05 00:00:00,01-Jan-00,1,9223372036854775808,1\n"
         "6,mzxw6===,2024-03-05 00:00:00,01-Jan-00,1,1,1\n"
         "7,MZXW6===,2024-02-30 00:00:00,01-Jan-00,1,1,1\n"
         "8,MZXW6===,2024-03-05 00:00:00,01-Jan-00,1,1,0x1F\n")


def when(*a):
    return datetime.datetime(*a)


TYPED_OK = [
    {"id": 1, "b": b"foobar", "d": when(2024, 2, 29, 13, 45, 10),
     "o": when(2024, 3, 5), "n": 2147483647, "l": I64(9223372036854775807),
     "x": 1000.5},
    {"id": 2, "b": b"f", "d": when(1999, 12, 31, 23, 59, 59),
     "o": when(1999, 12, 31), "n": 5, "l": I64(7), "x": math.inf},
    {"id": 3, "b": b"\xff" * 5, "d": when(2024, 3, 5), "o": when(2000, 1, 1),
     "n": -2147483648, "l": I64(-5), "x": 0.001},
]


def typed_autocast():
    """Rows 4-8 as mongoimport's --parseGrace autoCast stores them: the
    value that did not fit typed as an untyped one."""
    rest = {"b": b"foo", "d": when(2024, 3, 5), "o": when(2000, 1, 1),
            "n": 1, "l": I64(1), "x": 1.0}
    rows = []
    for i, (k, v) in enumerate([("n", I64(2147483648)),
                                ("l", 9223372036854775808.0),
                                ("b", "mzxw6==="),
                                ("d", "2024-02-30 00:00:00"),
                                ("x", "0x1F")]):
        r = {"id": 4 + i}
        r.update(rest)
        r[k] = v
        rows.append(r)
    return rows


def test_typed():
    t = Target()
    try:
        src = write("typed.csv", TYPED)
        common = ["--columns-have-types"]
        # The default skip-row: rows 4-8 are rejected (exit 1).
        load(t, "typed", src, *common, want_rc=1)
        expect("typed", docs(t.db.typed), TYPED_OK)
        load(t, "typed_ac", src, *common, "--infer-as", "mongoimport",
             "--parse-grace", "as-string")
        expect("typed, autoCast", docs(t.db.typed_ac),
               TYPED_OK + typed_autocast())
        mi = ["--type", "csv", "--headerline", "--columnsHaveTypes"]
        differential(t, "typed_d", src, common,
                     mi + ["--parseGrace", "skipRow"], loader_rc=1)
        differential(t, "typed_ac_d", src,
                     common + ["--infer-as", "mongoimport", "--parse-grace",
                               "as-string"],
                     mi + ["--parseGrace", "autoCast"])
    finally:
        t.close()


# --- --infer-as mongoimport -------------------------------------------

# (text, what mongoimport stores, what the loader's own rules store)
INFER = [
    ("007", 7, "007"),
    ("+5", 5, "+5"),
    ("-0", 0, "-0"),
    ("42", 42, 42),
    ("2147483648", I64(2147483648), I64(2147483648)),
    ("9223372036854775807", I64(9223372036854775807),
     I64(9223372036854775807)),
    ("9223372036854775808", 9223372036854775808.0, "9223372036854775808"),
    ("12345678901234567890", 1.2345678901234567e19, "12345678901234567890"),
    ("1.0", 1.0, 1.0),
    ("1e3", 1000.0, 1000.0),
    (".5", 0.5, ".5"),
    ("5.", 5.0, "5."),
    ("-0.0", -0.0, -0.0),
    ("1_000", 1000.0, "1_000"),
    ("0x1F", "0x1F", "0x1F"),
    ("0x1Fp0", 31.0, "0x1Fp0"),
    ("NaN", math.nan, "NaN"),
    ("Infinity", math.inf, "Infinity"),
    ("-inf", -math.inf, "-inf"),
    ("1e400", "1e400", "1e400"),
    ("true", "true", True),
    ("false", "false", False),
    ("TRUE", "TRUE", "TRUE"),
    ("abc", "abc", "abc"),
    ("", "", ""),
]
# CSV only: mongoimport's CSV reader strips spaces around unquoted fields.
SPACED = [
    (" 5 ", 5, " 5 "),
    ("  x y  ", "x y", "  x y  "),
]


def infer_file(name, sep, rows):
    lines = ["id%sv" % sep] + ["%d%s%s" % (i + 1, sep, r[0])
                               for i, r in enumerate(rows)]
    return write(name, "\n".join(lines) + "\n")


def want_infer(rows, col):
    return [{"id": i + 1, "v": r[col]} for i, r in enumerate(rows)]


def test_infer():
    t = Target()
    try:
        csv_rows = INFER + SPACED
        src = infer_file("infer.csv", ",", csv_rows)
        load(t, "mi", src, "--infer-as", "mongoimport")
        expect("--infer-as mongoimport", docs(t.db.mi),
               want_infer(csv_rows, 1))
        load(t, "own", src)
        expect("the loader's rules", docs(t.db.own), want_infer(csv_rows, 2))
        # A quoted field keeps its spaces, in mongoimport as in the loader.
        q = write("quoted.csv", 'id,v\n1," 5 "\n2,  "6"\n')
        load(t, "q", q, "--infer-as", "mongoimport")
        expect("quoted", docs(t.db.q), [{"id": 1, "v": " 5 "},
                                        {"id": 2, "v": 6}])
        # TSV: no trimming in either.
        tsv_rows = INFER + [(" 5 ", " 5 ", " 5 ")]
        tsv = infer_file("infer.tsv", "\t", tsv_rows)
        load(t, "mi_tsv", tsv, "--tsv", "--infer-as", "mongoimport")
        expect("--infer-as mongoimport, TSV", docs(t.db.mi_tsv),
               want_infer(tsv_rows, 1))
        # --infer previews by the same rules.
        ids = write("ids.csv", "zip\n007\n+5\n42\n")
        rc, out, err = run(["--infer", "--infer-as", "mongoimport", ids])
        check(rc == 0 and "--types 'zip:int32'" in out,
              "--infer --infer-as mongoimport: %d %r" % (rc, out))
        rc, out, err = run(["--infer", ids])
        check(rc == 0 and "--types 'zip:string'" in out and
              "kept as text" in out, "--infer: %d %r" % (rc, out))
        differential(t, "mi_d", src, ["--infer-as", "mongoimport"],
                     ["--type", "csv", "--headerline"])
        differential(t, "mi_q_d", q, ["--infer-as", "mongoimport"],
                     ["--type", "csv", "--headerline"])
        differential(t, "mi_tsv_d", tsv,
                     ["--tsv", "--infer-as", "mongoimport"],
                     ["--type", "tsv", "--headerline"])
    finally:
        t.close()


# --- SQL targets --------------------------------------------------------

def test_sql():
    """Arrays are refused for SQL targets before anything is read; the
    typed columns land as the SQL sinks store binary and dates."""
    db = path("v.db")
    src = write("arrays.csv", ARRAYS)
    rc, out, err = run(["--uri", "sqlite:" + db, "--array-index-fields",
                        "arr=" + src])
    check(rc == 2 and "--array-index-fields" in err and "SQL" in err,
          "sqlite with --array-index-fields: exit %d, %r" % (rc, err))
    check(not os.path.exists(db) or os.path.getsize(db) == 0 or
          not sqlite3.connect(db).execute(
              "SELECT name FROM sqlite_master").fetchall(),
          "sqlite: nothing written")
    typed = write("typed.csv", TYPED)
    rc, out, err = run(["--uri", "sqlite:" + db, "--columns-have-types",
                        "-q", "t=" + typed])
    check(rc == 1, "sqlite typed: exit %d, want 1 (rows 4-8 rejected)" % rc)
    c = sqlite3.connect(db)
    rows = c.execute("SELECT id, b, d, n, l FROM t ORDER BY id").fetchall()
    c.close()
    want = [(r["id"], r["b"],
             int(r["d"].replace(tzinfo=UTC).timestamp() * 1000), r["n"],
             int(r["l"])) for r in TYPED_OK]
    check(rows == want, "sqlite typed: %r, want %r" % (rows, want))


TESTS = {"arrays": test_arrays, "typed": test_typed, "infer": test_infer,
         "sql": test_sql}

if __name__ == "__main__":
    sys.exit(main("values_", TESTS))
