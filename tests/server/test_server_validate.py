#!/usr/bin/python3
"""mongo-test-server's collection validators, through pymongo (a second,
independent driver): what mongod 5+ does, restated from its manual.

- create {validator: <query>} and collMod {validator, validationLevel,
  validationAction} set a collection's rules (listCollections shows them);
- an insert, a replacement, an update or an upsert whose document does not
  match is refused with 121 DocumentValidationFailure, errmsg "Document
  failed validation", errInfo {failingDocumentId, details} (one clause:
  {operatorName, specifiedAs, reason, consideredValue}; several:
  {operatorName: "$and", clausesNotSatisfied: [{index, details}]}), and
  the rest of an unordered insert lands;
- bypassDocumentValidation: true lets it in; validationAction "warn" and
  validationLevel "off" refuse nothing; "moderate" does not check updates
  of documents that did not match before;
- $jsonSchema is refused (238 NotImplemented), not taken for a query.

Skips (77) when MONGODB_URI is set: this needs a private test server."""
import os
import subprocess
import sys

import pymongo
from pymongo.errors import BulkWriteError, OperationFailure, WriteError

SERVER = os.environ.get("LOADER_TEST_SERVER_BIN")
FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def refused(fn):
    """Runs fn; returns the write error's details dict, or None."""
    try:
        fn()
    except (WriteError, OperationFailure) as e:
        return e.details
    return None


def test(db):
    db.create_collection("people", validator={"age": {"$gte": 0}})
    c = db.people
    info = db.command("listCollections", filter={"name": "people"})
    opts = info["cursor"]["firstBatch"][0]["options"]
    check(opts.get("validator") == {"age": {"$gte": 0}},
          "listCollections options: %r" % opts)

    e = refused(lambda: c.insert_one({"_id": 1, "age": -1}))
    check(e is not None and e.get("code") == 121 and
          e.get("errmsg") == "Document failed validation",
          "invalid insert: %r" % e)
    ei = (e or {}).get("errInfo", {})
    check(ei.get("failingDocumentId") == 1 and ei.get("details") == {
        "operatorName": "$gte", "specifiedAs": {"age": {"$gte": 0}},
        "reason": "comparison failed", "consideredValue": -1},
        "errInfo of one clause: %r" % ei)
    e = refused(lambda: c.insert_one({"_id": 2}))
    check(e and e["errInfo"]["details"]["reason"] == "field was missing",
          "missing field: %r" % e)

    # Unordered: the valid documents land, the invalid ones are listed.
    try:
        c.insert_many([{"_id": 10, "age": 1}, {"_id": 11, "age": -5},
                       {"_id": 12, "age": 3}], ordered=False)
        check(False, "insert_many with an invalid document succeeded")
    except BulkWriteError as bwe:
        errs = bwe.details["writeErrors"]
        check([(x["index"], x["code"]) for x in errs] == [(1, 121)],
              "unordered write errors: %r" % errs)
        check(bwe.details["nInserted"] == 2, "nInserted %r"
              % bwe.details["nInserted"])
    # Ordered: stops at the invalid one.
    try:
        c.insert_many([{"_id": 20, "age": 1}, {"_id": 21, "age": -5},
                       {"_id": 22, "age": 3}], ordered=True)
    except BulkWriteError as bwe:
        check(bwe.details["nInserted"] == 1, "ordered nInserted %r"
              % bwe.details["nInserted"])
    check(sorted(d["_id"] for d in c.find()) == [10, 12, 20],
          "after the bulks: %r" % sorted(d["_id"] for d in c.find()))

    # Bypass: the same document lands.
    c.insert_one({"_id": 1, "age": -1}, bypass_document_validation=True)
    check(c.find_one({"_id": 1}) == {"_id": 1, "age": -1}, "bypassed insert")

    # Updates, replacements and upserts are checked too.
    e = refused(lambda: c.update_one({"_id": 10}, {"$set": {"age": -2}}))
    check(e and e.get("code") == 121, "invalid update: %r" % e)
    e = refused(lambda: c.replace_one({"_id": 10}, {"age": -2}))
    check(e and e.get("code") == 121, "invalid replacement: %r" % e)
    e = refused(lambda: c.update_one({"_id": 30}, {"$set": {"age": -2}},
                                     upsert=True))
    check(e and e.get("code") == 121, "invalid upsert: %r" % e)
    check(c.find_one({"_id": 10})["age"] == 1 and
          c.find_one({"_id": 30}) is None, "refused updates changed nothing")
    c.update_one({"_id": 10}, {"$set": {"age": -2}},
                 bypass_document_validation=True)
    check(c.find_one({"_id": 10})["age"] == -2, "bypassed update")

    # Several clauses: $and with the clauses not satisfied.
    db.command("collMod", "people",
               validator={"age": {"$gte": 0}, "name": {"$type": "string"}})
    e = refused(lambda: c.insert_one({"_id": 40, "age": 5, "name": 7}))
    d = (e or {}).get("errInfo", {}).get("details", {})
    check(d.get("operatorName") == "$and" and
          [x["index"] for x in d.get("clausesNotSatisfied", [])] == [1] and
          d["clausesNotSatisfied"][0]["details"]["operatorName"] == "$type",
          "errInfo of several clauses: %r" % e)
    c.insert_one({"_id": 41, "age": 5, "name": "x"})

    # moderate: a document that did not match before may be updated.
    db.command("collMod", "people", validationLevel="moderate")
    c.update_one({"_id": 1}, {"$set": {"age": -3}})
    check(c.find_one({"_id": 1})["age"] == -3, "moderate: old invalid doc")
    e = refused(lambda: c.update_one({"_id": 41}, {"$set": {"age": -3}}))
    check(e and e.get("code") == 121, "moderate: valid doc made invalid")
    # warn and off refuse nothing.
    db.command("collMod", "people", validationLevel="strict",
               validationAction="warn")
    c.insert_one({"_id": 50, "age": -1})
    db.command("collMod", "people", validationAction="error",
               validationLevel="off")
    c.insert_one({"_id": 51, "age": -1})
    db.command("collMod", "people", validationLevel="strict")
    e = refused(lambda: c.insert_one({"_id": 52, "age": -1}))
    check(e and e.get("code") == 121, "collMod back to strict: %r" % e)

    # $jsonSchema is not understood: refused, not ignored.
    try:
        db.create_collection("schema", validator={"$jsonSchema": {}})
        check(False, "$jsonSchema validator accepted")
    except OperationFailure as ex:
        check(ex.code == 238, "$jsonSchema: code %r" % ex.code)
    # A collection without a validator takes anything.
    db.plain.insert_one({"age": -1})


def main():
    if os.environ.get("MONGODB_URI"):
        print("skipped: needs a private test server (MONGODB_URI is set)")
        return 77
    p = subprocess.Popen([SERVER, "--port", "0"], stdout=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline().strip()
        port = int(line.rsplit(":", 1)[1])
        cli = pymongo.MongoClient("127.0.0.1", port, directConnection=True,
                                  serverSelectionTimeoutMS=5000)
        test(cli.v)
    finally:
        p.terminate()
        p.wait()
    if FAILURES:
        print("%d expectation(s) failed" % len(FAILURES), file=sys.stderr)
        return 1
    print("test_server_validate: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
