#!/usr/bin/env python3
"""The loader's benchmark: prints a table of figures and writes them as JSON.

Run it through bench/run.sh, which builds the binaries first; see
bench/README.md for what each figure means. Every figure is the best (for a
rate) or the median (for a ratio taken inside one loader run) of --reps
repetitions; ratios between figures are taken within this one invocation, so
they compare like with like on a noisy machine. Nothing here asserts on time:
the exit status is non-zero only when a program failed or (with --check) the
JSON lacks a key.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# The targets, printed beside the figures.
TARGET_DRY_ROWS_PER_S = 1.0e6
TARGET_DRY_CEILING_RATIO = 0.6       # issue 15 (was 0.5, stretch 0.6)
TARGET_MIXED_CEILING_RATIO = 0.55    # issue 15, the mixed real-world file
TARGET_SCALING_PER_WORKER = 0.8
TARGET_PEAK_RSS_KB = 64 * 1024

# Keys every results.json has (with null values where a part did not run).
REQUIRED_KEYS = {
    "schema": None,
    "machine": ["cpus", "kernel", "python", "other_cpu_share"],
    "params": ["reps", "dry_rows", "e2e_rows", "quick", "build_type"],
    "ceiling": ["rows_per_s", "mb_per_s", "elapsed_s", "rows", "bytes",
                "variants"],
    "dry_run": ["rows_per_s", "mb_per_s", "elapsed_s", "wall_s",
                "ceiling_ratio", "peak_rss_kb", "rows", "bytes"],
    "mixed": ["rows", "bytes", "ceiling_rows_per_s", "rows_per_s",
              "ceiling_ratio", "ceiling_ratio_per_rep"],
    "scaling": ["one_worker_rows_per_s", "two_workers_rows_per_s",
                "speedup", "ideal", "machine_speedup", "peak_rss_kb",
                "split"],
    "end_to_end": ["status", "linear_rows_per_s", "parallel_rows_per_s",
                   "speedup", "linear_elapsed_s", "parallel_elapsed_s",
                   "wall_s", "peak_rss_kb", "server_peak_rss_kb", "rows",
                   "workers"],
    "mongoimport": ["status", "rows_per_s", "elapsed_s",
                    "cpu_s_per_million_rows"],
    "peak_rss_kb": ["max", "runs"],
    "instructions": ["status", "rows", "files"],
}


class BenchError(Exception):
    """A program the benchmark runs failed: the figures would be wrong."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# How peak RSS is measured: set in main() from what is available.
RSS_WRAPPER = None  # bench/peak-rss (preferred) or None
RSS_METHOD = "wait4 from python (an upper bound: includes python's pages)"


LAST_CPU_S = [0.0]  # CPU seconds (user + system) of the last run_measured


def run_measured(argv):
    """Runs argv to completion. Returns (wall seconds, peak RSS in KiB,
    stdout text); its CPU seconds go to LAST_CPU_S[0]. Raises BenchError
    when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as rss:
        cmd = [RSS_WRAPPER, rss.name, *argv] if RSS_WRAPPER else argv
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        LAST_CPU_S[0] = usage.ru_utime + usage.ru_stime
        peak = usage.ru_maxrss
        if RSS_WRAPPER:
            m = re.search(r"peak_rss_kb=(\d+)", rss.read())
            peak = int(m.group(1)) if m else None
        out.seek(0)
        err.seek(0)
        out, err = out.read(), err.read()
    if proc.returncode != 0:
        raise BenchError("%s: exit %d\n%s" % (" ".join(argv), proc.returncode,
                                             err.decode(errors="replace")))
    return wall, peak, out.decode(errors="replace")


def ensure_data(gen, table, rows, seed, path):
    """Generates a loader-gen file once; later runs reuse it."""
    if os.path.exists(path):
        return
    log("generating %s (%s %d rows, seed %d)" % (path, table, rows, seed))
    tmp = path + ".tmp"
    subprocess.run([gen, table, str(rows), "--seed", str(seed), "-o", tmp],
                   check=True)
    os.replace(tmp, path)


def parse_kv(text):
    out = {}
    for tok in text.split():
        k, _, v = tok.partition("=")
        out[k] = float(v) if re.fullmatch(r"[0-9.]+", v) else v
    return out


def ceiling(binary, path, flags=()):
    """One run of csv-ceiling. Rows are data rows (the header is not)."""
    _, _, out = run_measured([binary, *flags, path])
    kv = parse_kv(out)
    rows = int(kv["rows"]) - 1
    return {"rows": rows, "bytes": int(kv["bytes"]),
            "elapsed_s": kv["elapsed_s"],
            "rows_per_s": rows / kv["elapsed_s"],
            "mb_per_s": kv["bytes"] / kv["elapsed_s"] / 1e6}


def ceiling_pair(binary, paths):
    """Two csv-ceiling processes at once, one per file: what the machine
    itself gives two CPU-bound processes that share nothing. Rows/s of both
    together (total rows over the slower one's elapsed time)."""
    procs = [subprocess.Popen([binary, p], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for p in paths]
    rows, slowest = 0, 0.0
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise BenchError("csv-ceiling: exit %d\n%s"
                             % (proc.returncode, err.decode(errors="replace")))
        kv = parse_kv(out.decode())
        rows += int(kv["rows"]) - 1
        slowest = max(slowest, kv["elapsed_s"])
    return {"rows": rows, "elapsed_s": slowest, "rows_per_s": rows / slowest}


def loader_run(loader, args, files, scratch):
    """One loader run with --report-json. Returns (report, wall, peak RSS)."""
    fd, report_path = tempfile.mkstemp(prefix="report-", suffix=".json",
                                       dir=scratch)
    os.close(fd)
    os.unlink(report_path)  # the loader creates it (and refuses to follow)
    try:
        wall, rss, _ = run_measured([loader, *args, "-q", "--report-json",
                                     report_path, *files])
        with open(report_path) as f:
            report = json.load(f)
    finally:
        if os.path.exists(report_path):
            os.unlink(report_path)
    for run in report["runs"]:
        for job in run["jobs"]:
            if not job["ok"] or job["rejected"]:
                raise BenchError("loader job failed: %r" % job)
    return report, wall, rss


def run_totals(run):
    rows = sum(j["processed"] for j in run["jobs"])
    nbytes = sum(j["bytes"] for j in run["jobs"])
    return rows, nbytes, run["elapsed_s"]


def dry_run(loader, workers, files, scratch, extra=()):
    report, wall, rss = loader_run(
        loader, ["--dry-run", "-j%d" % workers, *extra], files, scratch)
    run = report["runs"][0]
    if run["workers"] != workers:
        raise BenchError("asked for %d workers, the loader ran %d"
                         % (workers, run["workers"]))
    rows, nbytes, elapsed = run_totals(run)
    return {"rows": rows, "bytes": nbytes, "elapsed_s": elapsed,
            "wall_s": wall, "cpu_s": LAST_CPU_S[0],
            "rows_per_s": rows / elapsed,
            "mb_per_s": nbytes / elapsed / 1e6, "peak_rss_kb": rss}


def best(samples, key="elapsed_s"):
    return min(samples, key=lambda s: s[key])


class ServerNotReady(BenchError):
    """The test server did not come up: the end-to-end part is skipped."""


class TestServer:
    """build/mongo-test-server on a free port, for the end-to-end figures."""

    def __init__(self, binary, timeout=15.0, args=()):
        """args: more options for the server (e.g. --delay-ms N)."""
        self.proc = subprocess.Popen([binary, "--port", "0", *args],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.uri = None
        deadline = time.monotonic() + timeout
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = self.proc.stdout.readline()
            if not line:
                break  # exited, or closed stdout, before listening
            m = re.search(r"listening\s+([0-9.]+):(\d+)", line)
            if m:
                self.uri = "mongodb://%s:%s" % (m.group(1), m.group(2))
                break
        sel.close()
        if not self.uri:
            exited = self.proc.poll() is not None
            self.stop()
            raise ServerNotReady(
                "%s %s without printing 'listening HOST:PORT'"
                % (binary, "exited" if exited
                   else "ran %.0f s" % timeout))

    def stop(self):
        """Stops the server; returns its peak RSS in KiB (or None). The
        peak is VmHWM, read while it runs: its rusage would include the
        pages of this Python, which started it."""
        rss = None
        if self.proc.poll() is None:
            try:
                with open("/proc/%d/status" % self.proc.pid) as f:
                    m = re.search(r"^VmHWM:\s*(\d+) kB", f.read(), re.M)
                    rss = int(m.group(1)) if m else None
            except OSError:
                pass
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        return rss


def end_to_end(loader, server_bin, files, reps, scratch):
    """--compare --drop against the test server. Speedup: median of the
    per-run ratios (each measured inside one loader run)."""
    server = TestServer(server_bin)
    samples = []
    try:
        for i in range(reps):
            report, wall, rss = loader_run(
                loader, ["--uri", server.uri, "--db", "bench", "--compare",
                         "--drop"], files, scratch)
            runs = {r["mode"]: r for r in report["runs"]}
            lin, par = runs["linear"], runs["parallel"]
            rows, _, lin_el = run_totals(lin)
            prow, _, par_el = run_totals(par)
            for run in (lin, par):
                for job in run["jobs"]:
                    if job["inserted"] != job["processed"] or \
                            job["post"] - job["prior"] != job["inserted"]:
                        raise BenchError("accounting does not close: %r" % job)
            samples.append({"rows": rows, "linear_elapsed_s": lin_el,
                            "cpu_s": LAST_CPU_S[0],
                            "parallel_elapsed_s": par_el,
                            "speedup": report.get("speedup",
                                                  lin_el / par_el),
                            "workers": par["workers"], "wall_s": wall,
                            "peak_rss_kb": rss})
            log("  end to end %d/%d: linear %.3f s, parallel %.3f s"
                % (i + 1, reps, lin_el, par_el))
    finally:
        server_rss = server.stop()
    lin_best = min(s["linear_elapsed_s"] for s in samples)
    par_best = min(s["parallel_elapsed_s"] for s in samples)
    rows = samples[0]["rows"]
    return {"status": "ok", "uri": server.uri, "rows": rows,
            "workers": samples[0]["workers"],
            "linear_elapsed_s": lin_best, "parallel_elapsed_s": par_best,
            "linear_rows_per_s": rows / lin_best,
            "parallel_rows_per_s": rows / par_best,
            "speedup": statistics.median(s["speedup"] for s in samples),
            "speedups": [s["speedup"] for s in samples],
            "wall_s": min(s["wall_s"] for s in samples),
            # Both runs of --compare are in one process: rows twice.
            "cpu_s_per_million_rows": min(s["cpu_s"] for s in samples)
            / (2 * rows) * 1e6,
            "peak_rss_kb": max(s["peak_rss_kb"] for s in samples),
            "server_peak_rss_kb": server_rss}


def mongoimport_exe():
    """$MONGOIMPORT, else mongoimport on PATH, else None."""
    exe = os.environ.get("MONGOIMPORT")
    if exe and os.access(exe, os.X_OK):
        return exe
    return shutil.which("mongoimport")


def mongoimport(server_bin, files, reps):
    """mongoimport with default options, one file after the other, against
    a fresh test server, if mongoimport is installed."""
    exe = mongoimport_exe()
    if not exe:
        return {"status": "unavailable: mongoimport is not on PATH",
                "rows_per_s": None, "elapsed_s": None,
                "cpu_s_per_million_rows": None}
    server = TestServer(server_bin)
    try:
        times, cpus = [], []
        for _ in range(reps):
            t = cpu = 0.0
            for path in files:
                coll = "mi_" + os.path.splitext(os.path.basename(path))[0]
                wall, _, _ = run_measured(
                    [exe, "--uri", server.uri + "/bench", "--collection", coll,
                     "--type", "csv", "--headerline", "--drop", "--file",
                     path])
                t += wall
                cpu += LAST_CPU_S[0]
            times.append(t)
            cpus.append(cpu)
    finally:
        server.stop()
    return {"status": "ok", "elapsed_s": min(times), "rows_per_s": None,
            "cpu_s": min(cpus), "cpu_s_per_million_rows": None}


def instruction_counts(top, bdir, files):
    """bench/callgrind.sh on files: {name: counts}. Instruction counts do
    not move with the load on the machine, where wall time here does (up to
    1.8x between identical runs), so they are the ratio this benchmark
    judges by; see bench/callgrind.sh for the columns."""
    out = subprocess.run(["sh", os.path.join(top, "bench", "callgrind.sh"),
                          bdir, *files], capture_output=True, text=True)
    if out.returncode != 0:
        raise BenchError("bench/callgrind.sh: exit %d\n%s"
                         % (out.returncode, out.stderr))
    res = {}
    for line in out.stdout.splitlines()[1:]:
        f = line.split()
        c, d, c0, d0 = int(f[1]), int(f[2]), int(f[4]), int(f[5])
        res[f[0]] = {"ceiling_ir": c, "dry_run_ir": d, "ratio": c / d,
                     "start_ceiling_ir": c0, "start_dry_run_ir": d0,
                     "per_row_ratio": (c - c0) / (d - d0)}
    return res


def has_split(loader):
    """True when the loader can cut one file across workers (--split)."""
    help_text = subprocess.run([loader, "--help"], capture_output=True,
                               text=True).stdout
    return "--split" in help_text


def cpu_busy_s():
    """Seconds of CPU time all processes on the machine used, or None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s():
    """CPU seconds used by this process and its reaped children."""
    import resource
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        u = resource.getrusage(who)
        total += u.ru_utime + u.ru_stime
    return total


def fmt_rate(x):
    return "-" if x is None else "%.2fM rows/s" % (x / 1e6)


def verdict(ok):
    if ok is None:
        return "n/a"
    return "meets" if ok else "MISSES"


def print_table(res):
    rows = []
    ins = res["instructions"]
    for name, target in (("customers", TARGET_DRY_CEILING_RATIO),
                         ("mixed", TARGET_MIXED_CEILING_RATIO)):
        f = (ins.get("files") or {}).get(name)
        if not f:
            rows.append(("instructions, %s" % name, ins["status"],
                         ">= %.2f" % target, "n/a"))
            continue
        rows.append(("instructions, %s: ceiling / dry run (%dk rows; "
                     "per row)" % (name, ins["rows"] // 1000),
                     "%.3f; %.3f" % (f["ratio"], f["per_row_ratio"]),
                     ">= %.2f" % target,
                     verdict(f["per_row_ratio"] >= target)))
    c, d, s, e = (res["ceiling"], res["dry_run"], res["scaling"],
                  res["end_to_end"])
    rows.append(("ceiling: libcsv, empty callbacks",
                 "%s, %.0f MB/s" % (fmt_rate(c["rows_per_s"]),
                                    c["mb_per_s"]), "-", ""))
    for name, v in c["variants"].items():
        rows.append(("  ceiling variant %s" % name,
                     "%s (%.2fx plain)" % (fmt_rate(v["rows_per_s"]),
                                           v["vs_ceiling"]), "-", ""))
    rows.append(("dry run, 1 worker", "%s, %.0f MB/s"
                 % (fmt_rate(d["rows_per_s"]), d["mb_per_s"]),
                 ">= 1.0M rows/s",
                 verdict(d["rows_per_s"] >= TARGET_DRY_ROWS_PER_S)))
    ratio = d["ceiling_ratio"]
    rows.append(("dry run / ceiling (best-of; per-rep median)",
                 "%.2f; %.2f" % (ratio, d["ceiling_ratio_median"]),
                 ">= %.2f" % TARGET_DRY_CEILING_RATIO,
                 verdict(ratio >= TARGET_DRY_CEILING_RATIO)))
    m = res["mixed"]
    rows.append(("mixed file: ceiling", "%s, %.0f MB/s"
                 % (fmt_rate(m["ceiling_rows_per_s"]),
                    m["ceiling_mb_per_s"]), "-", ""))
    rows.append(("mixed file: dry run, 1 worker", "%s, %.0f MB/s"
                 % (fmt_rate(m["rows_per_s"]), m["mb_per_s"]), "-", ""))
    rows.append(("mixed file: dry run / ceiling (best-of; median)",
                 "%.2f; %.2f" % (m["ceiling_ratio"],
                                 m["ceiling_ratio_median"]),
                 ">= %.2f" % TARGET_MIXED_CEILING_RATIO,
                 verdict(m["ceiling_ratio"] >= TARGET_MIXED_CEILING_RATIO)))
    rows.append(("dry run wall clock (process)", "%.3f s (report %.3f s)"
                 % (d["wall_s"], d["elapsed_s"]), "-", ""))
    rows.append(("scaling: 1 worker, 1 file",
                 fmt_rate(s["one_worker_rows_per_s"]), "-", ""))
    rows.append(("scaling: 2 workers, 2 files",
                 fmt_rate(s["two_workers_rows_per_s"]), "-", ""))
    rows.append(("scaling: the machine's, 2 ceilings at once / 1",
                 "%.2fx" % s["machine_speedup"], "-", ""))
    rows.append(("scaling: speedup at 2 workers", "%.2fx" % s["speedup"],
                 ">= %.1fx" % (TARGET_SCALING_PER_WORKER * 2),
                 verdict(s["speedup"] >= TARGET_SCALING_PER_WORKER * 2)))
    sp = s["split"]
    if sp["status"] == "ok":
        rows.append(("scaling: --split 2, 1 file, 2 workers",
                     fmt_rate(sp["rows_per_s"]), "-", ""))
        rows.append(("scaling: --split speedup at 2 workers",
                     "%.2fx" % sp["speedup"],
                     ">= %.1fx" % (TARGET_SCALING_PER_WORKER * 2),
                     verdict(sp["speedup"] >= TARGET_SCALING_PER_WORKER * 2)))
    else:
        rows.append(("scaling: split (1 file, 2 workers)", sp["status"],
                     ">= 1.6x", "n/a"))
    if e["status"] == "ok":
        rows.append(("end to end: linear", fmt_rate(e["linear_rows_per_s"]),
                     "-", ""))
        rows.append(("end to end: parallel (%d workers)" % e["workers"],
                     fmt_rate(e["parallel_rows_per_s"]), "-", ""))
        rows.append(("end to end: speedup (median)", "%.2fx" % e["speedup"],
                     "> 1.0x", verdict(e["speedup"] > 1.0)))
        rows.append(("end to end: loader CPU s per million rows",
                     "%.2f s" % e["cpu_s_per_million_rows"], "-", ""))
    else:
        rows.append(("end to end", e["status"], "> 1.0x", "n/a"))
    mi = res["mongoimport"]
    if mi["status"] == "ok":
        rows.append(("mongoimport, default options",
                     "%s (%.3f s for both files)"
                     % (fmt_rate(mi["rows_per_s"]), mi["elapsed_s"]), "-",
                     ""))
        rows.append(("mongoimport CPU s per million rows",
                     "%.2f s" % mi["cpu_s_per_million_rows"], "-", ""))
    else:
        rows.append(("mongoimport", mi["status"], "-", ""))
    for name, kb in res["peak_rss_kb"]["runs"].items():
        rows.append(("peak RSS: %s" % name,
                     "-" if kb is None else "%.1f MB" % (kb / 1024),
                     "< 64 MB",
                     verdict(None if kb is None
                             else kb < TARGET_PEAK_RSS_KB)))
    if e.get("server_peak_rss_kb"):
        rows.append(("peak RSS: mongo-test-server (not the loader)",
                     "%.1f MB" % (e["server_peak_rss_kb"] / 1024), "-", ""))

    w = [max(len(r[i]) for r in rows + [("figure", "value", "target",
                                          "")]) for i in range(4)]
    line = "%-*s  %-*s  %-*s  %s"
    print(line % (w[0], "figure", w[1], "value", w[2], "target", "verdict"))
    print(line % (w[0], "-" * w[0], w[1], "-" * w[1], w[2], "-" * w[2],
                  "-" * 7))
    for r in rows:
        print(line % (w[0], r[0], w[1], r[1], w[2], r[2], r[3]))


def check_keys(res):
    missing = []
    for key, sub in REQUIRED_KEYS.items():
        if key not in res:
            missing.append(key)
            continue
        for k in sub or []:
            if k not in res[key]:
                missing.append("%s.%s" % (key, k))
    return missing


def sanitized(build_dir):
    """True when build_dir was built with a sanitizer (valgrind cannot run
    those binaries)."""
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            m = re.search(r"^LOADER_SANITIZE:\w+=(.+)$", f.read(), re.M)
            return bool(m and m.group(1).strip())
    except OSError:
        return False


def build_type(build_dir):
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
            return m.group(1) if m else None
    except OSError:
        return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(top, "build-bench"),
                    help="where loader, loader-gen, bench/csv-ceiling and "
                    "mongo-test-server were built")
    ap.add_argument("--data-dir", help="scratch dir for generated CSV "
                    "(default BUILD_DIR/bench-data)")
    ap.add_argument("--out", default=os.path.join(here, "results.json"),
                    help="where the JSON goes (default bench/results.json)")
    ap.add_argument("--reps", type=int, help="repetitions (default 3)")
    ap.add_argument("--rows", type=int, help="customers rows for the dry "
                    "run and ceiling (default 1000000)")
    ap.add_argument("--e2e-rows", type=int, help="rows per file for the end "
                    "to end run (default 200000)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one "
                    "repetition: checks the benchmark works, figures mean "
                    "little")
    ap.add_argument("--server", help="mongo-test-server to run (default: "
                    "BUILD_DIR's, else build/'s)")
    ap.add_argument("--no-e2e", action="store_true",
                    help="skip the end-to-end part")
    ap.add_argument("--no-callgrind", action="store_true",
                    help="skip the instruction counts (valgrind)")
    ap.add_argument("--check", action="store_true", help="fail when the "
                    "JSON lacks a key (for the ctest)")
    args = ap.parse_args()

    reps = args.reps or (1 if args.quick else 3)
    dry_rows = args.rows or (20000 if args.quick else 1000000)
    e2e_rows = args.e2e_rows or (2000 if args.quick else 200000)
    bdir = os.path.abspath(args.build_dir)
    data = os.path.abspath(args.data_dir or os.path.join(bdir, "bench-data"))
    os.makedirs(data, exist_ok=True)
    loader = os.path.join(bdir, "loader")
    gen = os.path.join(bdir, "loader-gen")
    ceil_bin = os.path.join(bdir, "bench", "csv-ceiling")
    server_bin = args.server or os.path.join(bdir, "mongo-test-server")
    if not args.server and not os.access(server_bin, os.X_OK):
        server_bin = os.path.join(top, "build", "mongo-test-server")
    for exe in (loader, gen, ceil_bin):
        if not os.access(exe, os.X_OK):
            sys.exit("bench: %s is missing: build first (bench/run.sh does)"
                     % exe)
    global RSS_WRAPPER, RSS_METHOD
    wrapper = os.path.join(bdir, "bench", "peak-rss")
    if os.access(wrapper, os.X_OK):
        RSS_WRAPPER, RSS_METHOD = wrapper, "bench/peak-rss (wait4)"

    def shown(path):
        """path relative to the top of the tree when inside it."""
        rel = os.path.relpath(os.path.abspath(path), top)
        return path if rel.startswith("..") else rel

    busy0, own0, t0 = cpu_busy_s(), own_cpu_s(), time.monotonic()
    res = {"schema": 1,
           "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                       "loadavg_before": list(os.getloadavg()),
                       "python": platform.python_version(),
                       "machine": platform.machine()},
           "params": {"reps": reps, "dry_rows": dry_rows,
                      "e2e_rows": e2e_rows, "quick": args.quick,
                      "build_dir": shown(bdir), "build_type": build_type(bdir),
                      "peak_rss_method": RSS_METHOD,
                      "server": shown(server_bin)}}

    # Data: the customers shape, seed 7; a second file for the second worker.
    cust = os.path.join(data, "customers-%d-s7.csv" % dry_rows)
    cust2 = os.path.join(data, "customers-%d-s7-b.csv" % dry_rows)
    ensure_data(gen, "customers", dry_rows, 7, cust)
    ensure_data(gen, "customers", dry_rows, 7, cust2)
    # The mixed real-world shape (issue 15): non-ASCII names, quoted commas
    # and quotes, two-line addresses, long free text.
    mixed = os.path.join(data, "mixed-%d-s9.csv" % dry_rows)
    ensure_data(gen, "mixed", dry_rows, 9, mixed)
    scratch = tempfile.mkdtemp(prefix="reports-", dir=data)

    try:
        # 1-3. The ceiling (and variants that price what the loader adds),
        # the dry run at 1 worker and at 2 workers on 2 files: one of each
        # per repetition, interleaved, so that drift on the machine (other
        # work starting or stopping) hits them alike.
        variants = (("per-line", ["--per-line"]),
                    ("per-line+copy", ["--per-line", "--copy"]),
                    ("libcsv-default-space", ["--default-space"]))
        log("ceiling, dry run at 1 worker, 2 workers on 2 files, --split: "
            "x%d" % reps)
        split = has_split(loader)
        ceil, var, one, two = [], {n: [] for n, _ in variants}, [], []
        pair = []
        cut, mceil, mone = [], [], []
        for _ in range(reps):
            ceil.append(ceiling(ceil_bin, cust))
            mceil.append(ceiling(ceil_bin, mixed))
            mone.append(dry_run(loader, 1, [mixed], scratch))
            for name, flags in variants:
                var[name].append(ceiling(ceil_bin, cust, flags))
            one.append(dry_run(loader, 1, [cust], scratch))
            two.append(dry_run(loader, 2, [cust, cust2], scratch))
            pair.append(ceiling_pair(ceil_bin, [cust, cust2]))
            if split:
                cut.append(dry_run(loader, 2, [cust], scratch,
                                   ["--split", "2"]))
        c = best(ceil)
        c["variants"] = {}
        for name, _ in variants:
            v = best(var[name])
            v["vs_ceiling"] = v["rows_per_s"] / c["rows_per_s"]
            c["variants"][name] = v
        res["ceiling"] = c

        d = best(one)
        d["ceiling_ratio"] = d["rows_per_s"] / c["rows_per_s"]
        # The same ratio within each repetition: steadier when the load
        # on the machine changes during the benchmark.
        d["ceiling_ratio_per_rep"] = [
            o["rows_per_s"] / k["rows_per_s"] for o, k in zip(one, ceil)]
        d["ceiling_ratio_median"] = statistics.median(
            d["ceiling_ratio_per_rep"])
        d["peak_rss_kb"] = max(s["peak_rss_kb"] for s in one)
        res["dry_run"] = d
        mc, mo = best(mceil), best(mone)
        res["mixed"] = {
            "file": "loader-gen mixed %d --seed 9" % dry_rows,
            "rows": mo["rows"], "bytes": mo["bytes"],
            "ceiling_rows_per_s": mc["rows_per_s"],
            "ceiling_mb_per_s": mc["mb_per_s"],
            "rows_per_s": mo["rows_per_s"], "mb_per_s": mo["mb_per_s"],
            "elapsed_s": mo["elapsed_s"], "cpu_s": mo["cpu_s"],
            "ceiling_ratio": mo["rows_per_s"] / mc["rows_per_s"],
            "ceiling_ratio_per_rep": [
                o["rows_per_s"] / k["rows_per_s"]
                for o, k in zip(mone, mceil)],
            "ceiling_ratio_median": statistics.median(
                o["rows_per_s"] / k["rows_per_s"]
                for o, k in zip(mone, mceil)),
            "peak_rss_kb": max(s["peak_rss_kb"] for s in mone)}
        t = best(two)
        res["scaling"] = {
            "one_worker_rows_per_s": d["rows_per_s"],
            "two_workers_rows_per_s": t["rows_per_s"],
            "two_workers_elapsed_s": t["elapsed_s"],
            "speedup": t["rows_per_s"] / d["rows_per_s"],
            "speedup_per_rep": [b["rows_per_s"] / a["rows_per_s"]
                                for a, b in zip(one, two)],
            "ideal": 2.0,
            # The machine's own scaling: two ceilings at once over one.
            "machine_speedup": best(pair)["rows_per_s"] / c["rows_per_s"],
            "machine_speedup_per_rep": [p["rows_per_s"] / k["rows_per_s"]
                                        for p, k in zip(pair, ceil)],
            "peak_rss_kb": max(s["peak_rss_kb"] for s in two),
            "split": {"status": "not implemented", "speedup": None,
                      "rows_per_s": None, "peak_rss_kb": None}}
        if cut:
            k = best(cut)
            if k["rows"] != d["rows"]:
                raise BenchError("--split 2 loaded %d rows of %d"
                                 % (k["rows"], d["rows"]))
            res["scaling"]["split"] = {
                "status": "ok", "rows_per_s": k["rows_per_s"],
                "elapsed_s": k["elapsed_s"],
                "speedup": k["rows_per_s"] / d["rows_per_s"],
                "speedup_per_rep": [b["rows_per_s"] / a["rows_per_s"]
                                    for a, b in zip(one, cut)],
                "peak_rss_kb": max(x["peak_rss_kb"] for x in cut)}

        # The same ratios by instruction count, on 100k rows of each shape
        # (valgrind runs ~50x slower than the program).
        ir_rows = 5000 if args.quick else 100000
        ins = {"status": None, "rows": ir_rows, "files": None}
        if args.no_callgrind:
            ins["status"] = "skipped (--no-callgrind)"
        elif sanitized(bdir):
            ins["status"] = "skipped: a sanitizer build (valgrind cannot " \
                "run it)"
        elif not shutil.which("valgrind"):
            ins["status"] = "unavailable: valgrind is not on PATH"
        else:
            ir_files = {}
            for name, seed in (("customers", 7), ("mixed", 9)):
                ir_files[name] = os.path.join(
                    data, "%s-%d-s%d.csv" % (name, ir_rows, seed))
                ensure_data(gen, name, ir_rows, seed, ir_files[name])
            log("instruction counts (valgrind): %d rows of each shape"
                % ir_rows)
            counts = instruction_counts(top, bdir, list(ir_files.values()))
            ins["status"] = "ok"
            ins["files"] = {name: counts[os.path.basename(path)]
                            for name, path in ir_files.items()}
        res["instructions"] = ins

        # 4. End to end against the wire-protocol test server.
        e2e_files = [os.path.join(data, "customers-%d-s7.csv" % e2e_rows),
                     os.path.join(data, "products-%d-s8.csv" % e2e_rows)]
        ensure_data(gen, "customers", e2e_rows, 7, e2e_files[0])
        ensure_data(gen, "products", e2e_rows, 8, e2e_files[1])
        e = {"status": None, "linear_rows_per_s": None,
             "cpu_s_per_million_rows": None,
             "parallel_rows_per_s": None, "speedup": None,
             "linear_elapsed_s": None, "parallel_elapsed_s": None,
             "wall_s": None, "peak_rss_kb": None, "server_peak_rss_kb": None,
             "rows": None, "workers": None}
        mi = {"status": "not run", "rows_per_s": None, "elapsed_s": None,
              "cpu_s_per_million_rows": None}
        if args.no_e2e:
            e["status"] = "skipped (--no-e2e)"
        elif not os.access(server_bin, os.X_OK):
            e["status"] = "unavailable: %s not built" % server_bin
        else:
            log("end to end: --compare --drop x%d" % reps)
            try:
                e.update(end_to_end(loader, server_bin, e2e_files, reps,
                                    scratch))
            except ServerNotReady as err:
                e["status"] = "unavailable: " + str(err)
            if e["status"] == "ok":
                e["rows_per_s_note"] = "both files together"
                mi = mongoimport(server_bin, e2e_files, reps)
                if mi["status"] == "ok":
                    mi["rows_per_s"] = e["rows"] / mi["elapsed_s"]
                    mi["cpu_s_per_million_rows"] = (mi["cpu_s"] / e["rows"]
                                                    * 1e6)
            else:
                mi["status"] = "not run: no test server"
            if not mongoimport_exe():
                mi["status"] = "unavailable: mongoimport is not on PATH"
        res["end_to_end"] = e
        res["mongoimport"] = mi

        # 5. Peak RSS of every loader run, worst repetition of each.
        runs = {"dry run, 1 worker": d["peak_rss_kb"],
                "dry run, 2 workers": res["scaling"]["peak_rss_kb"],
                "dry run, --split 2": res["scaling"]["split"]["peak_rss_kb"],
                "end to end, --compare": e["peak_rss_kb"]}
        res["peak_rss_kb"] = {"runs": runs, "max": max(
            v for v in runs.values() if v is not None)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    # How much of the machine other work took while the benchmark ran.
    busy1 = cpu_busy_s()
    others = None
    if busy0 is not None and busy1 is not None:
        capacity = (time.monotonic() - t0) * (os.cpu_count() or 1)
        others = max(0.0, (busy1 - busy0) - (own_cpu_s() - own0)) / capacity
    res["machine"]["other_cpu_share"] = others
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, args.out)

    print_table(res)
    if others is not None and others > 0.15:
        print("\nwarning: other work used %.0f%% of the CPUs while the "
              "benchmark ran: rates are low and ratios unreliable; run it "
              "again on a quiet machine" % (100 * others))
    elif others is not None:
        print("\nother work used %.0f%% of the CPUs during the run"
              % (100 * others))
    print("results: %s" % shown(args.out))
    if args.check:
        with open(args.out) as f:
            missing = check_keys(json.load(f))
        if missing:
            sys.exit("bench: results lack keys: %s" % ", ".join(missing))


if __name__ == "__main__":
    try:
        main()
    except BenchError as err:
        sys.exit("bench: %s" % err)
