#!/usr/bin/python3
"""mongo-test-server's cluster modes through a second, independent driver
(pymongo, Debian's python3-pymongo), and --delay-ms on the replies libmongoc
tests cannot time alone:

- a --repl-set server is seen as a replica set with a primary (replicaSet=
  URI, w=majority), w: 2 is a WriteConcernError 100 on an applied write, and
  pymongo's own retryable writes (lsid, txnNumber) land once after a reply
  is lost (drop-after-apply);
- two --router servers in one seed list are a sharded topology of two
  mongos, and both receive inserts;
- with --delay-ms, the reply to a legacy OP_QUERY hello and every step of a
  SCRAM conversation are delayed once each.

Skips (77) when MONGODB_URI is set: this needs private test servers."""
import os
import socket
import struct
import subprocess
import sys
import time

import bson
import pymongo
from pymongo.errors import WriteConcernError
from pymongo.write_concern import WriteConcern

SERVER = os.environ.get("LOADER_TEST_SERVER_BIN")
FAILURES = []
PROCS = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def start(*args):
    """Starts a private server; returns its port."""
    p = subprocess.Popen([SERVER, "--port", "0"] + list(args),
                         stdout=subprocess.PIPE, text=True)
    PROCS.append(p)
    line = p.stdout.readline().strip()
    if not line.startswith("listening "):
        raise RuntimeError("server did not start: %r" % line)
    return int(line.rsplit(":", 1)[1])


def stop_all():
    for p in PROCS:
        p.terminate()
        p.wait(10)
    PROCS.clear()


def client(uri, **kw):
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000, **kw)


def replica_set():
    port = start("--repl-set", "rs0")
    c = client("mongodb://127.0.0.1:%d/?replicaSet=rs0&w=majority" % port)
    c.admin.command("ping")
    td = c._topology.description
    check(td.topology_type_name == "ReplicaSetWithPrimary",
          "topology is %s" % td.topology_type_name)
    check(td.replica_set_name == "rs0", "set name %s" % td.replica_set_name)
    types = [s.server_type_name for s in td.server_descriptions().values()]
    check(types == ["RSPrimary"], "servers %s" % types)
    check(c.primary == ("127.0.0.1", port), "primary %s" % (c.primary,))
    c.t.c.insert_many([{"_id": i} for i in range(50)])
    check(c.t.c.count_documents({}) == 50, "w=majority documents")
    try:
        c.t.get_collection("c", write_concern=WriteConcern(w=2)).insert_one(
            {"_id": 50})
        check(False, "w: 2 on one member gave no error")
    except WriteConcernError as e:
        check(e.code == 100, "w: 2 error code %s" % e.code)
        check(e.details.get("codeName") == "UnsatisfiableWriteConcern",
              "w: 2 codeName %s" % e.details.get("codeName"))
    check(c.t.c.count_documents({}) == 51, "w: 2 document applied")
    c.close()
    stop_all()

    # pymongo's retryable write: the first reply is lost after the insert
    # was applied; the retry carries the same lsid and txnNumber and is
    # answered from memory.
    port = start("--repl-set", "rs0", "--fault", "drop-after-apply:1")
    c = client("mongodb://127.0.0.1:%d/?replicaSet=rs0" % port)
    # pymongo gives each document an _id: applied twice, the retry would
    # fail with duplicate keys.
    try:
        c.t.c.insert_many([{"v": i} for i in range(10)])
    except pymongo.errors.PyMongoError as e:
        check(False, "retried insert: %s" % e)
    check(c.t.c.count_documents({}) == 10, "retried insert landed %d" %
          c.t.c.count_documents({}))
    st = c.admin.command("serverStatus")
    check(st["metrics"]["commands"]["insert"]["total"] == 2,
          "insert commands %s" % st["metrics"]["commands"]["insert"])
    c.close()
    stop_all()


def routers():
    p1, p2 = start("--router"), start("--router")
    c = client("mongodb://127.0.0.1:%d,127.0.0.1:%d/?localThresholdMS=1000"
               % (p1, p2))
    c.admin.command("ping")
    # The first ping needs one router; wait until both are known.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        td = c._topology.description
        if all(s.server_type_name != "Unknown"
               for s in td.server_descriptions().values()):
            break
        time.sleep(0.05)
    check(td.topology_type_name == "Sharded",
          "routers' topology is %s" % td.topology_type_name)
    types = sorted(s.server_type_name
                   for s in td.server_descriptions().values())
    check(types == ["Mongos", "Mongos"], "routers are %s" % types)
    for i in range(40):
        c.t.c.insert_many([{"_id": i * 10 + j} for j in range(10)])
    c.close()
    total = 0
    for port in (p1, p2):
        d = client("mongodb://127.0.0.1:%d/" % port, directConnection=True)
        st = d.admin.command("serverStatus")
        n = d.t.c.count_documents({})
        check(st["opcounters"]["insert"] == n,
              "router %d: opcounters.insert %s, %d documents"
              % (port, st["opcounters"]["insert"], n))
        check(n > 0, "router %d received no insert" % port)
        total += n
        d.close()
    check(total == 400, "routers hold %d documents in all" % total)
    stop_all()


def op_query_hello(port):
    """Sends a legacy OP_QUERY isMaster and returns the reply's opcode."""
    body = bson.encode({"isMaster": 1})
    ns = b"admin.$cmd\0"
    payload = struct.pack("<i", 0) + ns + struct.pack("<ii", 0, -1) + body
    msg = struct.pack("<iiii", 16 + len(payload), 1, 0, 2004) + payload
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(msg)
        header = b""
        while len(header) < 16:
            header += s.recv(16 - len(header))
        length, _, _, opcode = struct.unpack("<iiii", header)
        rest = length - 16
        while rest > 0:
            rest -= len(s.recv(rest))
    return opcode


def delays():
    delay = 0.2
    port = start("--delay-ms", "200", "--user", "u:pw")
    t = time.monotonic()
    opcode = op_query_hello(port)
    took = time.monotonic() - t
    check(opcode == 1, "OP_QUERY answered with opcode %d" % opcode)
    check(delay - 0.01 <= took < 2 * delay,
          "OP_QUERY hello took %.3f s" % took)

    # One after the other: the monitor's hello (server selection waits for
    # it), the pooled connection's hello carrying a speculative saslStart,
    # saslContinue (pymongo 3.11 skips the empty last step), the ping: four
    # delayed replies at least.
    t = time.monotonic()
    c = client("mongodb://u:pw@127.0.0.1:%d/?authSource=admin&"
               "authMechanism=SCRAM-SHA-256" % port)
    c.admin.command("ping")
    took = time.monotonic() - t
    check(took >= 4 * delay - 0.01, "connect, SCRAM and ping took %.3f s" %
          took)
    c.close()
    stop_all()


def main():
    if os.environ.get("MONGODB_URI"):
        print("skipped: needs private test servers (MONGODB_URI is set)")
        return 77
    if not SERVER:
        print("LOADER_TEST_SERVER_BIN is not set", file=sys.stderr)
        return 1
    try:
        replica_set()
        routers()
        delays()
    finally:
        stop_all()
    if FAILURES:
        print("%d failure(s)" % len(FAILURES), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
