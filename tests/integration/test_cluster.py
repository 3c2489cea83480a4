#!/usr/bin/python3
"""Issue 12, the loader against what real deployments do, each run as its
own ctest (cluster_<name>):

    test_cluster.py NAME      NAME is one of the names in TESTS below

  inflight_faults_resume  several batches in flight per job (--inflight 4)
                          under dropped connections before and after the
                          server applied an insert, then kill -9 mid-load
                          and --resume, twice: every row once, field by
                          field
  write_concern_error     writeConcernError (64, 100) on an applied batch:
                          rows landed, reported per job, exit 4; a
                          NotWritablePrimary (10107) is retried
  replica_set             a --repl-set server through replicaSet= and
                          w=majority; w: 2 on one member is a
                          writeConcernError 100, reported, exit 4
  routers                 two --router servers in one seed list both
                          receive batches; the total is exact
  compressors             compressors=zstd, snappy, zlib in the URI: the
                          server's counters show the loader's batches came
                          compressed with that one
  resume_before_mark      a load that fails before its first mark (the
                          first insert refused) leaves a checkpoint, and
                          --resume completes it exactly (found by the
                          torture harness with batches in flight)

Each test starts private test servers (a real cluster cannot be made to
fail on cue), so each skips (77) when MONGODB_URI is set. Rows are read
back with pymongo and compared with Python's csv module, field by field
with types."""
import os
import shutil
import sys

from loadtest import (Server, check, compare, gen, job, main, path, report,
                      run, spawn, wait_mid_load)


def customers(rows, seed, name):
    out = path(name)
    gen("customers", rows, seed, out)
    return out


def gzipped(src):
    import gzip
    with open(src, "rb") as f, gzip.open(src + ".gz", "wb") as g:
        shutil.copyfileobj(f, g)
    return src + ".gz"


def inflight_faults_resume():
    total = 40000
    src = gzipped(customers(total, 21, "c.csv"))
    srv = Server("--delay-ms", "2",
                 "--fault", "drop-after-apply:every:9",
                 "--fault", "drop-before-apply:every:13")
    try:
        cli = srv.client()
        coll = cli.inflight.c
        cp, rj = path("cp"), path("r.json")
        base = ["--uri", srv.uri, "--db", "inflight", "--inflight", "4",
                "--batch-size", "100", "--retry-max-wait", "1", "-q",
                "--checkpoint", cp]
        landed = 0
        for kill in range(2):
            # Each kill waits until this run has added rows of its own.
            def added(before=landed):
                return max(0, coll.count_documents({}) - before)
            p = spawn(base + (["--resume"] if kill else []) + ["c=" + src])
            landed += wait_mid_load(p, cp, added, total - landed,
                                    "kill %d" % (kill + 1))
        rc, out, err = run(base + ["--resume", "--report-json", rj,
                                   "c=" + src])
        check(rc == 0, "resume: exit %d, want 0" % rc)
        j = job(report(rj))
        check((j["processed"], j["inserted"], j["rejected"]) ==
              (total, total, 0), "report: processed/inserted/rejected = "
              "%d/%d/%d, want %d/%d/0" % (j["processed"], j["inserted"],
                                          j["rejected"], total, total))
        check(j["retries"] > 0, "no batch was retried: the faults did not "
              "fire")
        compare(coll, src, "customer_id")
    finally:
        srv.stop()


def write_concern_error():
    total = 5000
    src = customers(total, 22, "c.csv")
    for code in (64, 100):
        srv = Server("--fault", "wc-error:3:%d" % code)
        try:
            rj = path("wc%d.json" % code)
            rc, out, err = run(["--uri", srv.uri, "--db", "wc",
                                "--batch-size", "500", "--report-json", rj,
                                "c=" + src])
            check(rc == 4, "writeConcernError %d: exit %d, want 4" % (code,
                                                                      rc))
            j = job(report(rj))
            check(j["write_concern_errors"] == 1,
                  "writeConcernError %d: report says %d, want 1" % (
                      code, j["write_concern_errors"]))
            check(j["inserted"] == total and j["retries"] == 0,
                  "writeConcernError %d: inserted %d, retries %d, want %d "
                  "and 0 (the batch landed; asking again would not make it "
                  "durable)" % (code, j["inserted"], j["retries"], total))
            check("writeConcernError" in err and "code %d" % code in err and
                  "not durable" in err, "writeConcernError %d: stderr does "
                  "not say so: %r" % (code, err[-400:]))
            check("not durable" in out, "writeConcernError %d: the job's "
                  "status does not say so: %r" % (code, out[-400:]))
            compare(srv.client().wc.c, src, "customer_id")
        finally:
            srv.stop()
    srv = Server("--fault", "not-primary:2")
    try:
        rj = path("np.json")
        rc, out, err = run(["--uri", srv.uri, "--db", "np", "--batch-size",
                            "500", "--report-json", rj, "c=" + src])
        check(rc == 0, "NotWritablePrimary: exit %d, want 0" % rc)
        j = job(report(rj))
        check(j["retries"] >= 1 and j["inserted"] == total,
              "NotWritablePrimary: retries %d, inserted %d; want >= 1 and %d"
              % (j["retries"], j["inserted"], total))
        compare(srv.client().np.c, src, "customer_id")
    finally:
        srv.stop()


def replica_set():
    total = 6000
    src = customers(total, 23, "c.csv")
    srv = Server("--repl-set", "rs0")
    try:
        uri = "mongodb://%s/?replicaSet=rs0&w=majority" % srv.host
        rj = path("rs.json")
        rc, out, err = run(["--uri", uri, "--db", "rs", "--inflight", "3",
                            "--batch-size", "500", "--report-json", rj,
                            "c=" + src])
        check(rc == 0, "replicaSet= w=majority: exit %d, want 0" % rc)
        check(job(report(rj))["inserted"] == total, "replica set: inserted "
              "%d, want %d" % (job(report(rj))["inserted"], total))
        compare(srv.client().rs.c, src, "customer_id")
        # (--drop would fail first: the drop asks for w: 2 too.)
        srv.client().rs.c.drop()
        rc, out, err = run(["--uri", "mongodb://%s/?replicaSet=rs0" %
                            srv.host, "--db", "rs", "--write-concern",
                            "{w: 2, j: true, wtimeout: 1000}",
                            "--report-json", rj, "c=" + src])
        check(rc == 4, "w: 2 on a one-member set: exit %d, want 4" % rc)
        j = job(report(rj))
        check(j["write_concern_errors"] >= 1 and j["inserted"] == total,
              "w: 2: %d writeConcernErrors, %d inserted; want >= 1 and %d"
              % (j["write_concern_errors"], j["inserted"], total))
        check("code 100" in err, "w: 2: stderr does not name "
              "UnsatisfiableWriteConcern (100): %r" % err[-300:])
        compare(srv.client().rs.c, src, "customer_id")
        rc, out, err = run(["--uri", uri, "--write-concern", "{w: 0}",
                            "c=" + src])
        check(rc == 2 and "w=0" in err, "w: 0: exit %d, want 2 saying why: "
              "%r" % (rc, err[-300:]))
    finally:
        srv.stop()


def routers():
    a = customers(20000, 24, "a.csv")
    b = customers(20000, 25, "b.csv")
    r1, r2 = Server("--router"), Server("--router")
    try:
        uri = "mongodb://%s,%s/?localThresholdMS=1000" % (r1.host, r2.host)
        rj = path("routers.json")
        rc, out, err = run(["--uri", uri, "--db", "sh", "-j", "2",
                            "--batch-size", "250", "--report-json", rj,
                            "a=" + a, "b=" + b])
        check(rc == 0, "two routers: exit %d, want 0" % rc)
        jobs = report(rj)["runs"][0]["jobs"]
        check(sum(j["inserted"] for j in jobs) == 40000,
              "two routers: inserted %d, want 40000" %
              sum(j["inserted"] for j in jobs))
        inserts = []
        for r in (r1, r2):
            st = r.client().admin.command("serverStatus")
            inserts.append(st["metrics"]["commands"]["insert"]["total"])
        check(all(n > 0 for n in inserts) and sum(inserts) >= 160,
              "insert commands per router %r: both should have received "
              "some of the 160 batches" % inserts)
        # Each test router keeps its own data (real mongos share the
        # cluster's): the load is both together.
        compare([r1.client().sh.a, r2.client().sh.a], a, "customer_id")
        compare([r1.client().sh.b, r2.client().sh.b], b, "customer_id")
    finally:
        r1.stop()
        r2.stop()


def compressors():
    total = 8000
    src = customers(total, 26, "c.csv")
    srv = Server()
    try:
        for name in ("zstd", "snappy", "zlib"):
            def received():
                st = srv.client().admin.command("serverStatus")
                c = st["network"]["compression"][name]["decompressor"]
                return c["bytesIn"], c["bytesOut"]
            before = received()
            rc, out, err = run(["--uri", srv.uri + "?compressors=" + name,
                                "--db", "z", "--drop", "c=" + src])
            check(rc == 0, "compressors=%s: exit %d, want 0" % (name, rc))
            got_in, got_out = (a - b for a, b in zip(received(), before))
            # 8000 rows are about 2 MB of BSON: they came compressed.
            check(got_out > 1000000 and 0 < got_in < got_out,
                  "compressors=%s: the server inflated %d bytes from %d; "
                  "want the batches (> 1 MB) sent smaller" % (name, got_out,
                                                              got_in))
            compare(srv.client().z.c, src, "customer_id")
    finally:
        srv.stop()


def resume_before_mark():
    total = 3000
    src = customers(total, 27, "c.csv")
    srv = Server("--fault", "error:1:8000")
    try:
        cp, rj = path("cp"), path("r.json")
        base = ["--uri", srv.uri, "--db", "rb", "--batch-size", "500",
                "--checkpoint", cp, "--report-json", rj, "-q", "c=" + src]
        rc, out, err = run(base)
        check(rc == 1 and "(error 8000)" in err, "first run: exit %d, want "
              "1 with the server's error 8000" % rc)
        check(os.path.exists(cp), "no checkpoint after a load that failed "
              "before its first mark")
        rc, out, err = run(base + ["--resume"])
        check(rc == 0, "resume: exit %d, want 0" % rc)
        j = job(report(rj))
        check((j["processed"], j["inserted"], j["rejected"]) ==
              (total, total, 0), "resume: %r" % j)
        compare(srv.client().rb.c, src, "customer_id")
    finally:
        srv.stop()


TESTS = {
    "inflight_faults_resume": inflight_faults_resume,
    "write_concern_error": write_concern_error,
    "replica_set": replica_set,
    "routers": routers,
    "compressors": compressors,
    "resume_before_mark": resume_before_mark,
}


if __name__ == "__main__":
    sys.exit(main("cluster_", TESTS, skip_external=True))
