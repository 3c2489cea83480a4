#!/usr/bin/python3
"""Issue 12, the loader against a server that requires what real ones do:
TLS (certificates made here with the openssl command) and SCRAM-SHA-256
users. The sample files are loaded through the URI (tls=true, tlsCAFile,
authSource) with --password-file and read back with pymongo — a second
driver with its own TLS and SCRAM — field by field against Python's csv
module; a wrong password is exit 3 and no output holds it; a plain client
and a client that does not trust the server's CA fail clearly (exit 3).

Skips (77) when MONGODB_URI is set: this test needs its own server."""
import json
import os
import shutil
import subprocess
import sys

import pymongo

from loadtest import FAILURES, SERVER, SOURCE, TMP, check, compare, run

PASSWORD = "S3cr3t:Pw/with@signs"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, cwd=TMP,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs():
    """A CA, a server certificate for 127.0.0.1 signed by it, and a second
    CA that signed nothing."""
    ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    for ca in ("ca", "other"):
        sh("openssl req -x509 %s -keyout %s.key -out %s.pem -days 2 "
           "-subj '/CN=loader deploy test %s'" % (ec, ca, ca, ca))
    with open(os.path.join(TMP, "srv.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh("openssl req %s -keyout srv.key -out srv.csr -subj '/CN=127.0.0.1'"
       % ec)
    sh("openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
       "-CAcreateserial -days 2 -out srv.crt -extfile srv.ext")


def start_server():
    p = subprocess.Popen([SERVER, "--port", "0",
                          "--user", "alice:" + PASSWORD,
                          "--tls-cert", os.path.join(TMP, "srv.crt"),
                          "--tls-key", os.path.join(TMP, "srv.key")],
                         stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    if not line.startswith("listening 127.0.0.1:"):
        p.kill()
        raise SystemExit("mongo-test-server did not start: %r" % line)
    return p, int(line.strip().rsplit(":", 1)[1])


def main():
    if os.environ.get("MONGODB_URI"):
        print("skipped: needs its own TLS + SCRAM server (MONGODB_URI is set)")
        return 77
    if not shutil.which("openssl"):
        print("skipped: no openssl command")
        return 77
    make_certs()
    srv, port = start_server()
    try:
        ca = os.path.join(TMP, "ca.pem")
        pw = os.path.join(TMP, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        base = "mongodb://alice@127.0.0.1:%d/deploy?authSource=admin" % port
        uri = base + "&tls=true&tlsCAFile=" + ca
        rj = os.path.join(TMP, "r.json")
        cust = os.path.join(SOURCE, "data", "customers.csv")
        prod = os.path.join(SOURCE, "data", "products.csv")
        rc, out, err = run(["--uri", uri, "--password-file", pw, "--drop",
                            "--report-json", rj, cust, prod])
        check(rc == 0, "TLS + SCRAM load: exit %d: %s" % (rc, err[-500:]))
        check(PASSWORD not in out + err + open(rj).read(),
              "the password is printed")
        jobs = json.load(open(rj))["runs"][0]["jobs"]
        check(sum(j["inserted"] for j in jobs) == 8000,
              "report: %d inserted, want 8000" %
              sum(j["inserted"] for j in jobs))
        cli = pymongo.MongoClient("127.0.0.1", port, tls=True, tlsCAFile=ca,
                                  username="alice", password=PASSWORD,
                                  authSource="admin",
                                  authMechanism="SCRAM-SHA-256",
                                  serverSelectionTimeoutMS=5000)
        compare(cli.deploy.customers, cust, "customer_id")
        compare(cli.deploy.products, prod, "sku")

        bad = os.path.join(TMP, "bad")
        with open(bad, "w") as f:
            f.write("Wr0ng-Secret-Pw\n")
        cases = [
            ("wrong password", ["--uri", uri, "--password-file", bad],
             "Wr0ng-Secret-Pw"),
            ("plain client", ["--uri", base + "&serverSelectionTimeoutMS=2000",
                              "--password-file", pw], PASSWORD),
            ("untrusted CA", ["--uri", base + "&tls=true&tlsCAFile=" +
                              os.path.join(TMP, "other.pem") +
                              "&serverSelectionTimeoutMS=2000",
                              "--password-file", pw], PASSWORD),
        ]
        for what, args, secret in cases:
            rc, out, err = run(args + ["x=" + cust])
            check(rc == 3, "%s: exit %d, want 3: %s" % (what, rc, err[-300:]))
            check("cannot connect" in err or "uthenticat" in err,
                  "%s: the error does not say what failed: %r" % (what, err))
            check(secret not in out + err, "%s: the password is printed" % what)
        check(cli.deploy.x.count_documents({}) == 0,
              "a failed connection wrote rows")
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(TMP, ignore_errors=True)
    if FAILURES:
        print("%d expectation(s) failed" % len(FAILURES), file=sys.stderr)
        return 1
    print("deploy: ok (TLS + SCRAM-SHA-256 load read back by pymongo; wrong "
          "password, plain client, untrusted CA refused with exit 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
