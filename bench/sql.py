#!/usr/bin/env python3
"""SQL targets against their own bulk paths: prints figures, writes JSON.

One typed file (loader-gen customers, --rows rows, seed 7) is loaded, in
turns within each repetition:

  sqlite            loader --uri sqlite:FILE -j1 (typed columns, WAL,
                    synchronous=NORMAL: the loader's defaults)
  sqlite_split2     loader --uri sqlite:FILE -j2 --split 2 (one file: the
                    inserts take turns, parsing runs on both workers)
  sqlite_import     sqlite3 FILE '.import --csv FILE customers' (Debian's
                    sqlite3 CLI: text columns, its defaults)
  mysql_1           loader --uri mysql://... -j1
  mysql_split2      loader --uri mysql://... -j2 --split 2
  mysql_load_data   the mariadb client: LOAD DATA LOCAL INFILE of the same
                    file into the table the loader made (emptied first)

Each figure is the best wall time of --reps runs of the whole process
(connect, load, count), so the loader and the reference pay alike; the
ratios are taken between bests of this one run. Every run's rows are counted
back (sqlite3 / pymysql) and must equal --rows, else the run is an error,
never a figure. MariaDB is $MYSQL_URI, else --mysql-uri, else a throwaway
server from tests/fixture/mariadb/mariadb-fixture.sh; with none of these
(no mariadbd installed) the MySQL part is skipped, with its reason in the
JSON. Nothing here asserts on time. See bench/README.md.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(TOP, "tests", "fixture", "mariadb",
                       "mariadb-fixture.sh")

# The targets (issue 15), printed beside the figures.
TARGETS = {"sqlite_vs_import": 2.0,
           "sqlite_split2_vs_import": 2.0, "mysql_1_vs_load_data": 1.0,
           "mysql_split2_vs_load_data": 1.5}


class BenchError(Exception):
    """A program failed or a count is wrong: the figures would be wrong."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def server_cpu_s(pid):
    """CPU seconds (user + system) process pid has used, or None."""
    if not pid:
        return None
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv, env=None, cpu=None, server_pid=None):
    """Runs argv; returns its wall time. With cpu (a dict of lists), appends
    the process's CPU seconds to cpu["client"] and, with server_pid, the
    server's CPU seconds during the run to cpu["server"]: where the time
    went. Raises BenchError when it fails."""
    s0 = server_cpu_s(server_pid)
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                             env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        s1 = server_cpu_s(server_pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise BenchError("%s failed (exit %d): %s" % (
                os.path.basename(argv[0]), code,
                err.read().decode(errors="replace").strip()[-400:]))
    if cpu is not None:
        cpu["client"].append(round(usage.ru_utime + usage.ru_stime, 3))
        cpu["server"].append(round(s1 - s0, 3) if s0 is not None
                             and s1 is not None else None)
    return wall


def sqlite_count(path, table):
    import sqlite3
    con = sqlite3.connect(path)
    try:
        return con.execute('SELECT COUNT(*) FROM "%s"' % table).fetchone()[0]
    finally:
        con.close()


def rm_db(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)


class Mysql:
    """The MariaDB target: its URI split up, a pymysql connection for
    counting, and the server this benchmark started (if it did)."""

    def __init__(self, uri, fixture_dir=None):
        m = re.match(r"(?:mysql|mariadb)://([^:@/]*)(?::([^@/]*))?@"
                     r"([^:/?]+)(?::(\d+))?", uri)
        if not m:
            raise BenchError("cannot read the MariaDB URI")
        self.user, self.password, self.host, port = m.groups()
        self.port = int(port or 3306)
        self.db = "loader_bench_sql"
        self.uri = re.sub(r"(://[^/?]*)/?[^?]*", r"\1/" + self.db, uri,
                          count=1)
        self.fixture_dir = fixture_dir
        self.pid = None  # the server's pid when this benchmark started it

    def connect(self, db=None):
        import pymysql
        return pymysql.connect(host=self.host, port=self.port,
                               user=self.user, password=self.password or "",
                               database=db, autocommit=True)

    def count(self, table):
        con = self.connect(self.db)
        try:
            with con.cursor() as c:
                c.execute("SELECT COUNT(*) FROM `%s`" % table)
                return c.fetchone()[0]
        finally:
            con.close()

    def columns(self, table):
        con = self.connect(self.db)
        try:
            with con.cursor() as c:
                c.execute("SHOW COLUMNS FROM `%s`" % table)
                return [r[0] for r in c.fetchall()]
        finally:
            con.close()

    def client(self):
        """The mariadb client's argv (password through the environment)."""
        exe = shutil.which("mariadb") or shutil.which("mysql")
        if not exe:
            raise BenchError("no mariadb client on PATH")
        return [exe, "--no-defaults", "--local-infile=1", "-h", self.host,
                "-P", str(self.port), "-u", self.user, self.db]

    def drop(self):
        con = self.connect()
        try:
            with con.cursor() as c:
                c.execute("DROP DATABASE IF EXISTS `%s`" % self.db)
        finally:
            con.close()


def start_fixture(scratch):
    """Starts a throwaway MariaDB server; returns a Mysql or a reason."""
    d = os.path.join(scratch, "mariadb")
    uri_file = os.path.join(scratch, "mysql.uri")
    p = subprocess.run(["sh", FIXTURE, "start", d, uri_file],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        return p.stdout.decode(errors="replace").strip().splitlines()[-1:] \
            or ["the fixture failed"]
    with open(uri_file) as f:
        my = Mysql(f.readline().strip(), fixture_dir=(d, uri_file))
    try:
        with open(os.path.join(d, "mariadbd.pid")) as f:
            my.pid = int(f.read().strip())
    except (OSError, ValueError):
        pass
    return my


def stop_fixture(my):
    if my and my.fixture_dir:
        subprocess.run(["sh", FIXTURE, "stop", *my.fixture_dir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def have_pymysql():
    import importlib.util
    return importlib.util.find_spec("pymysql") is not None


def best(times):
    return min(times) if times else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--rows", type=int, default=300000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(TOP, "bench",
                                                  "sql-results.json"))
    ap.add_argument("--mysql-uri", default=os.environ.get("MYSQL_URI"))
    ap.add_argument("--no-mysql", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="20,000 rows, one repetition: a smoke test")
    ap.add_argument("--loader-args", default="",
                    help="extra loader options for every loader run")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.reps = 20000, 1
    build = os.path.abspath(args.build_dir)
    loader = os.path.join(build, "loader")
    gen = os.path.join(build, "loader-gen")
    sqlite3_cli = shutil.which("sqlite3")
    for exe in (loader, gen):
        if not os.access(exe, os.X_OK):
            log("sql bench: %s is not built" % exe)
            return 2
    extra = args.loader_args.split()

    scratch = tempfile.mkdtemp(prefix="loader-bench-sql-")
    data = os.path.join(scratch, "customers.csv")
    subprocess.run([gen, "customers", str(args.rows), "--seed", "7", "-o",
                    data], check=True, stdout=subprocess.DEVNULL)
    res = {
        "schema": 1,
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "loadavg_before": loadavg(), "loadavg_after": None},
        "params": {"rows": args.rows, "reps": args.reps,
                   "bytes": os.path.getsize(data),
                   "file": "loader-gen customers %d --seed 7" % args.rows,
                   "loader_args": args.loader_args},
        "targets": TARGETS,
        "sqlite": {"status": "ok", "loader_s": None, "import_s": None,
                   "split2_s": None, "loader_rows_per_s": None,
                   "import_rows_per_s": None, "split2_rows_per_s": None,
                   "ratio": None, "split2_ratio": None, "loader_all_s": [],
                   "import_all_s": [], "split2_all_s": []},
        "mysql": {"status": "ok", "server": None, "one_worker_s": None,
                  "split2_s": None, "load_data_s": None,
                  "one_worker_rows_per_s": None, "split2_rows_per_s": None,
                  "load_data_rows_per_s": None, "one_worker_ratio": None,
                  "split2_ratio": None, "one_worker_all_s": [],
                  "split2_all_s": [], "load_data_all_s": []},
    }
    my = None
    code = 0
    try:
        if not sqlite3_cli:
            res["sqlite"]["status"] = "skipped: no sqlite3 CLI on PATH"
        if args.no_mysql:
            res["mysql"]["status"] = "skipped: --no-mysql"
        elif not have_pymysql():
            res["mysql"]["status"] = "skipped: no pymysql in this python"
        elif args.mysql_uri:
            my = Mysql(args.mysql_uri)
        elif not shutil.which("mariadbd") and \
                not os.path.exists("/usr/sbin/mariadbd"):
            res["mysql"]["status"] = "skipped: no MYSQL_URI and no mariadbd"
        else:
            got = start_fixture(scratch)
            if isinstance(got, Mysql):
                my = got
            else:
                res["mysql"]["status"] = "skipped: " + " ".join(got)
        if my:
            con = my.connect()
            with con.cursor() as c:
                c.execute("SELECT VERSION()")
                res["mysql"]["server"] = c.fetchone()[0]
            con.close()
            my.drop()
        run_all(args, res, loader, sqlite3_cli, data, scratch, my, extra)
    except BenchError as e:
        log("sql bench: ERROR: %s" % e)
        code = 1
    finally:
        try:
            if my:
                my.drop()
        except Exception:  # noqa: BLE001 (a cleanup: report the rest)
            pass
        stop_fixture(my)
        shutil.rmtree(scratch, ignore_errors=True)
    res["machine"]["loadavg_after"] = loadavg()
    summarise(res, args.rows)
    print_table(res)
    if code == 0:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
        log("sql bench: wrote %s" % args.out)
    return code


def run_all(args, res, loader, sqlite3_cli, data, scratch, my, extra):
    """The measurements, taking turns within each repetition."""
    table = "customers"
    n = args.rows
    ldb = os.path.join(scratch, "loader.db")
    idb = os.path.join(scratch, "import.db")
    sq, ms = res["sqlite"], res["mysql"]
    cpu = {k: {"client": [], "server": []} for k in (
        "sqlite_loader", "sqlite_split2", "sqlite_import", "mysql_one_worker",
        "mysql_split2", "mysql_load_data")}
    res["cpu_s"] = cpu
    cols = None
    for rep in range(args.reps):
        log("sql bench: repetition %d of %d (loadavg %s)" % (
            rep + 1, args.reps, loadavg()))
        if sqlite3_cli:
            rm_db(ldb)
            sq["loader_all_s"].append(timed(
                [loader, "--uri", "sqlite:" + ldb, "-q", "-j1", *extra,
                 data], cpu=cpu["sqlite_loader"]))
            check(sqlite_count(ldb, table), n, "sqlite (loader)")
            rm_db(ldb)
            sq["split2_all_s"].append(timed(
                [loader, "--uri", "sqlite:" + ldb, "-q", "-j2", "--split",
                 "2", *extra, data], cpu=cpu["sqlite_split2"]))
            check(sqlite_count(ldb, table), n, "sqlite (loader --split 2)")
            rm_db(idb)
            sq["import_all_s"].append(timed(
                [sqlite3_cli, idb, ".import --csv %s %s" % (data, table)],
                cpu=cpu["sqlite_import"]))
            check(sqlite_count(idb, table), n, "sqlite3 .import")
        if not my:
            continue
        for key, opts in (("one_worker", ["-j1"]),
                          ("split2", ["-j2", "--split", "2"])):
            ms[key + "_all_s"].append(timed(
                [loader, "--uri", my.uri, "--drop", "-q", *opts, *extra,
                 data], cpu=cpu["mysql_" + key], server_pid=my.pid))
            check(my.count(table), n, "mysql (loader %s)" % " ".join(opts))
        if cols is None:
            cols = my.columns(table)
        env = dict(os.environ, MYSQL_PWD=my.password or "")
        col_list = ", ".join("`%s`" % c.replace("`", "``") for c in cols)
        sql = ("TRUNCATE `%s`; LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` "
               "CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
               "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
               "IGNORE 1 LINES (%s)" % (table, data, table, col_list))
        ms["load_data_all_s"].append(timed(
            [*my.client(), "-e", sql], env, cpu=cpu["mysql_load_data"],
            server_pid=my.pid))
        check(my.count(table), n, "mysql (LOAD DATA LOCAL INFILE)")


def check(got, want, what):
    if got != want:
        raise BenchError("%s: %d rows landed, expected %d" % (what, got, want))


def summarise(res, n):
    sq, ms = res["sqlite"], res["mysql"]
    sq["loader_s"], sq["import_s"] = best(sq["loader_all_s"]), \
        best(sq["import_all_s"])
    sq["split2_s"] = best(sq["split2_all_s"])
    ms["one_worker_s"] = best(ms["one_worker_all_s"])
    ms["split2_s"] = best(ms["split2_all_s"])
    ms["load_data_s"] = best(ms["load_data_all_s"])
    rate = (lambda t: round(n / t) if t else None)
    sq["loader_rows_per_s"], sq["import_rows_per_s"] = \
        rate(sq["loader_s"]), rate(sq["import_s"])
    sq["split2_rows_per_s"] = rate(sq["split2_s"])
    for k in ("one_worker", "split2", "load_data"):
        ms[k + "_rows_per_s"] = rate(ms[k + "_s"])
    ratio = (lambda ref, t: round(ref / t, 3) if ref and t else None)
    sq["ratio"] = ratio(sq["import_s"], sq["loader_s"])
    sq["split2_ratio"] = ratio(sq["import_s"], sq["split2_s"])
    ms["one_worker_ratio"] = ratio(ms["load_data_s"], ms["one_worker_s"])
    ms["split2_ratio"] = ratio(ms["load_data_s"], ms["split2_s"])


def print_table(res):
    sq, ms, n = res["sqlite"], res["mysql"], res["params"]["rows"]
    print("SQL targets: %d rows (%s), best of %d; loadavg before %s, "
          "after %s" % (n, res["params"]["file"], res["params"]["reps"],
                        res["machine"]["loadavg_before"],
                        res["machine"]["loadavg_after"]))
    fmt = "%-44s %9s %12s %8s %8s"
    print(fmt % ("run", "best s", "rows/s", "ratio", "target"))

    def row(name, t, r, ratio=None, target=None):
        print(fmt % (name, "%.3f" % t if t else "-",
                     "{:,}".format(r) if r else "-",
                     "%.2f" % ratio if ratio else "",
                     "%.1fx" % target if target else ""))
    if sq["status"] != "ok":
        print("sqlite: %s" % sq["status"])
    else:
        row("sqlite3 .import (CLI, text columns)", sq["import_s"],
            sq["import_rows_per_s"])
        row("loader -> sqlite, 1 worker (typed)", sq["loader_s"],
            sq["loader_rows_per_s"], sq["ratio"],
            TARGETS["sqlite_vs_import"])
        row("loader -> sqlite, --split 2 (one file)", sq["split2_s"],
            sq["split2_rows_per_s"], sq["split2_ratio"],
            TARGETS["sqlite_split2_vs_import"])
    if ms["status"] != "ok":
        print("mysql: %s" % ms["status"])
    else:
        row("LOAD DATA LOCAL INFILE (mariadb client)", ms["load_data_s"],
            ms["load_data_rows_per_s"])
        row("loader -> mariadb, 1 worker", ms["one_worker_s"],
            ms["one_worker_rows_per_s"], ms["one_worker_ratio"],
            TARGETS["mysql_1_vs_load_data"])
        row("loader -> mariadb, --split 2", ms["split2_s"],
            ms["split2_rows_per_s"], ms["split2_ratio"],
            TARGETS["mysql_split2_vs_load_data"])
    print_cpu(res)


def print_cpu(res):
    """Where the time went: for the run of each kind with the best wall
    time, its wall time beside the CPU seconds of the client (the loader,
    sqlite3, mariadb) and of the server (a MariaDB this benchmark started),
    and how many CPUs that kept busy on average."""
    cpu = res.get("cpu_s")
    if not cpu:
        return
    walls = {"sqlite_loader": "loader_all_s", "sqlite_split2": "split2_all_s",
             "sqlite_import": "import_all_s",
             "mysql_one_worker": "one_worker_all_s",
             "mysql_split2": "split2_all_s",
             "mysql_load_data": "load_data_all_s"}
    print("\nwhere the time went (the best run of each): wall, CPU seconds "
          "of the client and of the server, CPUs busy")
    fmt = "%-18s %8s %10s %10s %9s"
    print(fmt % ("run", "wall s", "client s", "server s", "CPUs"))
    for key, wkey in walls.items():
        part = res["sqlite" if key.startswith("sqlite") else "mysql"]
        w = part.get(wkey) or []
        if not w or not cpu[key]["client"]:
            continue
        i = w.index(min(w))
        c, sv = cpu[key]["client"][i], cpu[key]["server"][i]
        busy = (c + (sv or 0)) / w[i]
        print(fmt % (key, "%.3f" % w[i], "%.2f" % c,
                     "-" if sv is None else "%.2f" % sv, "%.2f" % busy))


if __name__ == "__main__":
    sys.exit(main())
