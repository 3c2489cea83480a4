#!/usr/bin/python3
"""Latency benchmark: the loader against a test server that waits before
every reply, beside mongoimport on the same inputs.

For each delay D (mongo-test-server --delay-ms D) it loads (a) one gzip CSV
file alone and (b) two plain CSV files with --parallel, with the loader at
its defaults (plus --extra-args), and prints rows/s, wall time and the rate
over the rate at D = 0 for the same input. When mongoimport is on PATH (or
given by --mongoimport), it loads the same inputs at its defaults and with
-j 4 (gzip through its standard input, as it does not read gzip; the two
plain files as two processes at once), and the table shows the loader's rate
over each of mongoimport's. --compressors adds runs with compressors=zstd in
the URI and prints the bytes the server received compressed. See
bench/README.md, "Latency".

Like bench/bench.py it is a program that prints figures: nothing asserts on
time. Each configuration drops its collections first and counts them with
pymongo afterwards; a wrong count or a failed program is printed as an
ERROR and makes the exit status 1, since that run's figures are wrong.
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import bench  # bench/bench.py: TestServer, ensure_data, CPU accounting

DB = "bench_latency"
RUN_TIMEOUT_S = 600
MONGOIMPORT_WORKERS = 4
DEBIAN_PYTHON = "/usr/bin/python3"


def need_pymongo():
    """Imports pymongo, re-running under Debian's python3 (where
    python3-pymongo installs it, as the tests use it) when this one has
    none."""
    try:
        import pymongo
        return pymongo
    except ImportError:
        pass
    if (os.access(DEBIAN_PYTHON, os.X_OK)
            and os.path.realpath(sys.executable)
            != os.path.realpath(DEBIAN_PYTHON)
            and not os.environ.get("LATENCY_REEXEC")):
        os.environ["LATENCY_REEXEC"] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, *sys.argv])
    sys.exit("latency: needs pymongo (Debian: apt-get install "
             "python3-pymongo)")


class Failed(Exception):
    """A program the benchmark ran failed: this run's figures are wrong."""


def tail(data, lines=8):
    text = data.decode(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


def run_pipeline(stages):
    """Runs processes at once, each a list of commands piped into one
    another (a one-element list is a plain command). Returns the wall
    seconds until the last one exits. Raises Failed when one fails."""
    procs, errs = [], []
    t0 = time.perf_counter()
    try:
        for cmds in stages:
            prev = None
            for i, argv in enumerate(cmds):
                err = tempfile.TemporaryFile()
                errs.append((argv, err))
                last = i == len(cmds) - 1
                p = subprocess.Popen(
                    argv, stdin=prev.stdout if prev else subprocess.DEVNULL,
                    stdout=err if last else subprocess.PIPE, stderr=err)
                if prev:
                    prev.stdout.close()  # the reader holds it now
                procs.append((argv, p))
                prev = p
        deadline = time.monotonic() + RUN_TIMEOUT_S
        for argv, p in procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise Failed("%s: still running after %d s"
                             % (" ".join(argv), RUN_TIMEOUT_S))
        wall = time.perf_counter() - t0
        for (argv, p), (_, err) in zip(procs, errs):
            if p.returncode != 0:
                err.seek(0)
                raise Failed("%s: exit %d\n%s" % (" ".join(argv),
                                                  p.returncode,
                                                  tail(err.read())))
        return wall
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for _, err in errs:
            err.close()


def loader_cmd(loader, uri, extra, targets, report):
    return [loader, "--uri", uri, "--db", DB, "-q", "--report-json", report,
            *extra, *["%s=%s" % t for t in targets]]


def mongoimport_cmds(exe, uri, comp, targets, gz, jobs):
    """One command list per target collection; gzip goes through stdin."""
    stages = []
    for coll, path in targets:
        argv = [exe, "--uri", uri, "--collection", coll, "--type", "csv",
                "--headerline", "--quiet"]
        if comp != "none":
            # mongoimport 100.x ignores compressors= in the URI: only its
            # hidden --compressors option turns compression on.
            argv += ["--compressors", comp]
        if jobs:
            argv += ["--numInsertionWorkers", str(jobs)]
        if gz:
            stages.append([["gzip", "-dc", path], argv])
        else:
            stages.append([argv + ["--file", path]])
    return stages


def wire_counters(client):
    """zstd decompressor bytesIn/bytesOut and network.bytesIn (None when
    the server does not report it) from serverStatus."""
    net = client.admin.command("serverStatus").get("network", {})
    z = net.get("compression", {}).get("zstd", {}).get("decompressor", {})
    return {"zstd_bytes_in": z.get("bytesIn"),
            "zstd_bytes_out": z.get("bytesOut"),
            "net_bytes_in": net.get("bytesIn")}


def delta(after, before):
    return {k: (None if after[k] is None or before[k] is None
                else after[k] - before[k]) for k in after}


def ensure_gzip(gen, rows, seed, path):
    if os.path.exists(path):
        return
    plain = path[:-len(".gz")] + ".tmp-plain"
    bench.ensure_data(gen, "customers", rows, seed, plain)
    bench.log("compressing %s" % path)
    with open(path + ".tmp", "wb") as out:
        subprocess.run(["gzip", "-c", "-6", plain], stdout=out, check=True)
    os.replace(path + ".tmp", path)
    os.unlink(plain)


def mongoimport_version(exe):
    try:
        out = subprocess.run([exe, "--version"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"mongoimport version:\s*(\S+)", out)
    return m.group(1) if m else (out.strip().splitlines() or [None])[0]


def fmt_rate(x):
    if x is None:
        return "-"
    return "%.0fk" % (x / 1e3) if x < 1e6 else "%.2fM" % (x / 1e6)


def fmt_bytes(n):
    return "-" if n is None else "%.1f MB" % (n / 1e6)


def print_table(runs, comps):
    head = ["delay", "wire", "input", "program", "rows", "wall s", "rows/s",
            "vs D=0", "loader/this"]
    if "zstd" in comps:
        head.append("zstd in (inflated)")
    if any(r["wire"].get("net_bytes_in") is not None for r in runs):
        head.append("network.bytesIn")
    rows = []
    for r in runs:
        ok = r["status"] == "ok"
        row = ["%d ms" % r["delay_ms"], r["compressor"], r["input_label"],
               r["program_label"], str(r["rows"]),
               "%.2f" % r["wall_s"] if ok else "-",
               fmt_rate(r["rows_per_s"]) if ok else "FAILED",
               "-" if r["vs_d0"] is None else "%.2f" % r["vs_d0"],
               "-" if r["loader_over_this"] is None
               else "%.2fx" % r["loader_over_this"]]
        if "zstd" in comps:
            w = r["wire"]
            row.append("%s (%s)" % (fmt_bytes(w.get("zstd_bytes_in")),
                                    fmt_bytes(w.get("zstd_bytes_out")))
                       if r["compressor"] == "zstd" and ok else "-")
        if len(head) > len(row):
            row.append(fmt_bytes(r["wire"].get("net_bytes_in")))
        rows.append(row)
    w = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
    right = {4, 5, 6, 7, 8}

    def line(cells):
        return "  ".join(c.rjust(w[i]) if i in right else c.ljust(w[i])
                         for i, c in enumerate(cells)).rstrip()
    print(line(head))
    print(line(["-" * n for n in w]))
    last = None
    for r, row in zip(runs, rows):
        key = (r["delay_ms"], r["compressor"])
        if last is not None and key != last:
            print()
        last = key
        print(line(row))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    ap = argparse.ArgumentParser(
        description="Latency benchmark: loader and mongoimport against "
        "mongo-test-server --delay-ms D. Prints a table; --json writes it.")
    ap.add_argument("--build-dir", default=os.path.join(top, "build-bench"),
                    help="where loader, loader-gen and mongo-test-server "
                    "were built (default build-bench/, else build/)")
    ap.add_argument("--loader", help="the loader to run (default: "
                    "BUILD_DIR/loader)")
    ap.add_argument("--server", help="the mongo-test-server to run "
                    "(default: BUILD_DIR's, else build/'s)")
    ap.add_argument("--mongoimport", help="mongoimport to compare with "
                    "(default: the one on PATH, if any)")
    ap.add_argument("--no-mongoimport", action="store_true",
                    help="leave mongoimport out")
    ap.add_argument("--rows", type=int, default=300000,
                    help="rows of the gzip file; each plain file has half "
                    "(default 300000)")
    ap.add_argument("--delays", default="0,2,10,50",
                    help="server delays before every reply, ms "
                    "(default 0,2,10,50)")
    ap.add_argument("--extra-args", default="",
                    help="more loader options, one string "
                    "(e.g. '--batch-size 5000')")
    ap.add_argument("--compressors", action="store_true",
                    help="also run every configuration with "
                    "compressors=zstd and show the bytes the server "
                    "received")
    ap.add_argument("--reps", type=int, default=2,
                    help="repetitions; the fastest counts (default 2)")
    ap.add_argument("--data-dir", help="where the generated files go "
                    "(default BUILD_DIR/bench-data, reused)")
    ap.add_argument("--json", metavar="FILE", help="write the figures as "
                    "JSON to FILE")
    # "--extra-args --dry-run": the value starts with "--", which argparse
    # would take for an option of its own.
    argv = sys.argv[1:]
    for i, a in enumerate(argv[:-1]):
        if a == "--extra-args":
            argv[i:i + 2] = ["--extra-args=" + argv[i + 1]]
            break
    args = ap.parse_args(argv)
    pymongo = need_pymongo()

    try:
        delays = [int(x) for x in args.delays.split(",") if x.strip()]
    except ValueError:
        ap.error("--delays: a comma-separated list of milliseconds")
    if not delays or min(delays) < 0 or args.rows < 2 or args.reps < 1:
        ap.error("--delays, --rows and --reps must be positive")
    extra = shlex.split(args.extra_args)

    bdir = os.path.abspath(args.build_dir)
    if not os.access(os.path.join(bdir, "loader"), os.X_OK) and \
            args.build_dir == ap.get_default("build_dir"):
        bdir = os.path.join(top, "build")
    loader = os.path.abspath(args.loader or os.path.join(bdir, "loader"))
    gen = os.path.join(bdir, "loader-gen")
    server_bin = os.path.abspath(args.server or
                                 os.path.join(bdir, "mongo-test-server"))
    for exe in (loader, gen, server_bin):
        if not os.access(exe, os.X_OK):
            sys.exit("latency: %s is missing: build it first (cmake --build "
                     "BUILD_DIR --target loader loader-gen mongo-test-server)"
                     % exe)
    mi = None
    if not args.no_mongoimport:
        mi = args.mongoimport or shutil.which("mongoimport")
        if args.mongoimport and not os.access(mi, os.X_OK):
            sys.exit("latency: --mongoimport %s: not an executable" % mi)
        if mi and not shutil.which("gzip"):
            sys.exit("latency: gzip is needed to feed mongoimport")
        mi = os.path.abspath(mi) if mi else None

    data = os.path.abspath(args.data_dir or os.path.join(bdir, "bench-data"))
    os.makedirs(data, exist_ok=True)
    half = args.rows // 2
    gz = os.path.join(data, "customers-%d-s7.csv.gz" % args.rows)
    plain = [os.path.join(data, "customers-%d-s7.csv" % half),
             os.path.join(data, "customers-%d-s8.csv" % half)]
    ensure_gzip(gen, args.rows, 7, gz)
    bench.ensure_data(gen, "customers", half, 7, plain[0])
    bench.ensure_data(gen, "customers", half, 8, plain[1])

    inputs = [
        {"name": "gzip", "label": "gzip, 1 file", "gz": True,
         "rows": args.rows, "targets": [("lat_gz", gz)],
         "loader_args": []},
        {"name": "plain2", "label": "2 plain files", "gz": False,
         "rows": 2 * half,
         "targets": [("lat_a", plain[0]), ("lat_b", plain[1])],
         "loader_args": ["--parallel"]},
    ]
    programs = [("loader", None)]
    if mi:
        programs += [("mongoimport", 0), ("mongoimport", MONGOIMPORT_WORKERS)]
    comps = ["none"] + (["zstd"] if args.compressors else [])

    def program_label(prog, jobs, inp):
        if prog == "loader":
            text = " ".join(["loader", *inp["loader_args"], *extra])
        else:
            text = "mongoimport" + (" -j %d" % jobs if jobs else "")
            if len(inp["targets"]) > 1:
                text += " (%d procs)" % len(inp["targets"])
            elif inp["gz"]:
                text += " (stdin)"
        return text

    busy0, own0, t0 = bench.cpu_busy_s(), bench.own_cpu_s(), time.monotonic()
    scratch = tempfile.mkdtemp(prefix="latency-", dir=data)
    report = os.path.join(scratch, "report.json")
    results = {}  # (delay, compressor, input, program, jobs) -> run
    errors = []

    def one_run(client, port, d, comp, inp, prog, jobs):
        """One configuration once: drop, load, count."""
        key = (d, comp, inp["name"], prog, jobs)
        run = results.setdefault(key, {
            "delay_ms": d, "compressor": comp, "input": inp["name"],
            "input_label": inp["label"], "program": prog,
            "program_label": program_label(prog, jobs, inp),
            "mongoimport_workers": jobs, "rows": inp["rows"],
            "status": "ok", "walls": [], "loader_elapsed_s": [],
            "wire": {}, "wires": []})
        if run["status"] != "ok":
            return  # failed in an earlier repetition: no figures
        what = "%d ms %s %s %s" % (d, comp, inp["label"],
                                   run["program_label"])
        q = "" if comp == "none" else "?compressors=" + comp
        db = client[DB]
        for coll, _ in inp["targets"]:
            db.drop_collection(coll)
        if os.path.exists(report):
            os.unlink(report)  # the loader creates it (and refuses to follow)
        if prog == "loader":
            uri = "mongodb://127.0.0.1:%s/%s" % (port, q)
            stages = [[loader_cmd(loader, uri, inp["loader_args"] + extra,
                                  inp["targets"], report)]]
        else:
            uri = "mongodb://127.0.0.1:%s/%s%s" % (port, DB, q)
            stages = mongoimport_cmds(mi, uri, comp, inp["targets"],
                                      inp["gz"], jobs)
        before = wire_counters(client)
        try:
            wall = run_pipeline(stages)
        except Failed as err:
            run["status"] = "failed: %s" % err
            errors.append("%s: %s" % (what, err))
            bench.log("ERROR: " + errors[-1])
            return
        wire = delta(wire_counters(client), before)
        counts = {c: db[c].count_documents({}) for c, _ in inp["targets"]}
        if sum(counts.values()) != inp["rows"]:
            run["status"] = "wrong count: %d of %d rows %r" % (
                sum(counts.values()), inp["rows"], counts)
            errors.append("%s: %s" % (what, run["status"]))
            bench.log("ERROR: " + errors[-1])
            return
        if prog == "loader":
            with open(report) as f:
                run["loader_elapsed_s"].append(
                    json.load(f)["runs"][0]["elapsed_s"])
        run["walls"].append(wall)
        run["wires"].append(wire)
        bench.log("  %-58s %7.2f s" % (what, wall))

    try:
        for d in delays:
            bench.log("delay %d ms: %d configurations x%d"
                      % (d, len(comps) * len(inputs) * len(programs),
                         args.reps))
            server = bench.TestServer(server_bin,
                                      args=["--delay-ms", str(d)])
            port = server.uri.rsplit(":", 1)[1]
            client = pymongo.MongoClient(server.uri, directConnection=True,
                                         serverSelectionTimeoutMS=30000)
            try:
                for _ in range(args.reps):
                    for comp in comps:
                        for inp in inputs:
                            for prog, jobs in programs:
                                one_run(client, port, d, comp, inp, prog,
                                        jobs)
            finally:
                client.close()
                server.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    # Best repetition of each; ratios between figures of this invocation.
    runs = list(results.values())
    for r in runs:
        if r["status"] == "ok" and r["walls"]:
            i = min(range(len(r["walls"])), key=lambda k: r["walls"][k])
            r["wall_s"] = r["walls"][i]
            r["rows_per_s"] = r["rows"] / r["wall_s"]
            r["wire"] = r["wires"][i]
        else:
            r["wall_s"] = r["rows_per_s"] = None
    for (d, comp, name, prog, jobs), r in results.items():
        base = results.get((0, comp, name, prog, jobs))
        r["vs_d0"] = (r["rows_per_s"] / base["rows_per_s"]
                      if base and base["rows_per_s"] and r["rows_per_s"]
                      else None)
        ld = results.get((d, comp, name, "loader", None))
        r["loader_over_this"] = (
            ld["rows_per_s"] / r["rows_per_s"]
            if prog == "mongoimport" and ld and ld["rows_per_s"]
            and r["rows_per_s"] else None)
    runs.sort(key=lambda r: (delays.index(r["delay_ms"]),
                             comps.index(r["compressor"]),
                             [i["name"] for i in inputs].index(r["input"])))

    busy1 = bench.cpu_busy_s()
    others = None
    if busy0 is not None and busy1 is not None:
        capacity = (time.monotonic() - t0) * (os.cpu_count() or 1)
        others = max(0.0, (busy1 - busy0) - (bench.own_cpu_s() - own0)) \
            / capacity

    print("latency: loader%s; gzip: 1 customers file of %d rows; plain: "
          "2 customers files of %d; best of %d; rows/s = rows / wall time "
          "of the whole process (connect, counts and all)"
          % (" " + " ".join(extra) if extra else "", args.rows, half,
             args.reps))
    if mi:
        print("mongoimport %s: gzip through stdin (gzip -dc | mongoimport); "
              "2 plain files as 2 mongoimport processes at once; "
              "loader/this = the loader's rows/s over that row's"
              % (mongoimport_version(mi) or "?"))
    else:
        why = "--no-mongoimport" if args.no_mongoimport else "not on PATH"
        print("mongoimport: not run (%s)" % why)
    if "zstd" in comps:
        print("zstd in (inflated): serverStatus network.compression.zstd."
              "decompressor bytesIn (bytesOut) over the run")
    if not any(r["wire"].get("net_bytes_in") is not None for r in runs):
        print("network.bytesIn: the server does not report it")
    print()
    print_table(runs, comps)
    if others is not None:
        print("\n%s: other work used %.0f%% of the CPUs during the run%s"
              % ("warning" if others > 0.15 else "note", 100 * others,
                 "; rates at small delays are low" if others > 0.15
                 else ""))
    for e in errors:
        print("ERROR: %s" % e)

    if args.json:
        for r in runs:
            r.pop("wires", None)
        out = {"schema": 1,
               "machine": {"cpus": os.cpu_count(),
                           "kernel": platform.release(),
                           "python": platform.python_version(),
                           "other_cpu_share": others},
               "params": {"rows": args.rows, "plain_rows_each": half,
                          "delays_ms": delays, "reps": args.reps,
                          "extra_args": extra, "compressors": comps,
                          "loader": loader, "server": server_bin,
                          "mongoimport": mi,
                          "mongoimport_version":
                              mongoimport_version(mi) if mi else None},
               "runs": runs, "errors": errors}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.json)
        print("results: %s" % args.json)
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bench.BenchError as err:
        sys.exit("latency: %s" % err)
