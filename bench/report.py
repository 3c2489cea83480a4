#!/usr/bin/env python3
"""Draws the benchmark's charts and rewrites the README's Performance table
from the JSON the benchmarks wrote, so that both stay true.

    bench/report.py [--no-charts] [--check]

Reads bench/results.json (bench/run.sh), bench/latency-results.json
(bench/latency.py) and, when it exists, bench/sql-results.json
(bench/sql.py). Writes, with gnuplot (Debian's gnuplot-nox) when it is on
PATH:
  bench/scaling.svg   rows/s of the dry run by workers, beside the ceiling
  bench/latency.svg   rows/s against server latency, loader and mongoimport
  bench/peers.svg     the loader against mongoimport and the SQL peers
and replaces the lines between "<!-- bench:begin" and "<!-- bench:end" in
README.md with a table of results.json's figures, and those after
"<!-- bench-sql:begin" with one of sql-results.json's. Without gnuplot the
charts already committed stay as they are and it says so. --check: exit 1
when README.md's table is not what results.json gives (nothing written).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BEGIN = "<!-- bench:begin (bench/report.py writes this table from " \
    "bench/results.json) -->"
END = "<!-- bench:end -->"
SQL_BEGIN = "<!-- bench-sql:begin (bench/report.py writes this table from " \
    "bench/sql-results.json) -->"


def load(name):
    path = os.path.join(HERE, name)  # name may be an absolute path
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def mrows(x):
    return "–" if x is None else "%.2fM rows/s" % (x / 1e6)


def verdict(ok):
    return "meets" if ok else "**misses**"


def median_ratio(part):
    """The median of the per-repetition ratios: steadier than the ratio of
    the bests when the load on the machine changes during the run."""
    return statistics.median(part["ceiling_ratio_per_rep"])


def table(res):
    """The README's table, from results.json."""
    c, d, s, e = (res["ceiling"], res["dry_run"], res["scaling"],
                  res["end_to_end"])
    m, mi = res.get("mixed"), res["mongoimport"]
    out = ["| figure | value | target | |", "| --- | --- | --- | --- |"]
    out.append("| libcsv alone, empty callbacks (the ceiling), customers "
               "| %s, %.0f MB/s | – | |" % (mrows(c["rows_per_s"]),
                                            c["mb_per_s"]))
    out.append("| dry run (parse + types + BSON), 1 worker, customers "
               "| **%s**, %.0f MB/s | ≥ 1.0M rows/s | %s |"
               % (mrows(d["rows_per_s"]), d["mb_per_s"],
                  verdict(d["rows_per_s"] >= 1e6)))
    out.append("| dry run / ceiling, customers (best of each; median of "
               "the ratio in each repetition) | **%.2f**; %.2f | ≥ 0.6 | %s |"
               % (d["ceiling_ratio"], median_ratio(d),
                  verdict(d["ceiling_ratio"] >= 0.6)))
    ins = res.get("instructions") or {}
    for name, target in (("customers", 0.6), ("mixed", 0.55)):
        f = (ins.get("files") or {}).get(name)
        if f:
            out.append("| dry run / ceiling by instruction count, %s "
                       "(callgrind, %dk rows; per row, start-up excluded) "
                       "| %.3f; **%.3f** | ≥ %.2f | %s |"
                       % (name, ins["rows"] // 1000, f["ratio"],
                          f["per_row_ratio"], target,
                          verdict(f["per_row_ratio"] >= target)))
    if m:
        out.append("| the same on the mixed file: ceiling → dry run "
                   "| %s → %s | – | |"
                   % (mrows(m["ceiling_rows_per_s"]), mrows(m["rows_per_s"])))
        out.append("| dry run / ceiling, mixed file (the same two ways) "
                   "| **%.2f**; %.2f | ≥ 0.55 | %s |"
                   % (m["ceiling_ratio"], median_ratio(m),
                      verdict(m["ceiling_ratio"] >= 0.55)))
    if s.get("machine_speedup"):
        out.append("| the machine itself: two ceiling processes at once, "
                   "over one (what 2 CPUs give here) | %.2f× | – | |"
                   % s["machine_speedup"])
    out.append("| dry run, 2 workers on 2 files "
               "| %s, **%.2f×** | ≥ 1.6× | %s |"
               % (mrows(s["two_workers_rows_per_s"]), s["speedup"],
                  verdict(s["speedup"] >= 1.6)))
    sp = s["split"]
    if sp.get("status") == "ok":
        out.append("| dry run, one file `--split 2` on 2 workers "
                   "| %s, **%.2f×** | ≥ 1.6× | %s |"
                   % (mrows(sp["rows_per_s"]), sp["speedup"],
                      verdict(sp["speedup"] >= 1.6)))
    if e.get("status") == "ok":
        out.append("| end to end vs `mongo-test-server`, linear → parallel "
                   "| %s → %s, **%.2f×** | parallel faster | %s |"
                   % (mrows(e["linear_rows_per_s"]),
                      mrows(e["parallel_rows_per_s"]), e["speedup"],
                      verdict(e["speedup"] > 1.0)))
    if mi.get("status") == "ok":
        out.append("| `mongoimport` (defaults), same files, same server "
                   "| %s | – | |" % mrows(mi["rows_per_s"]))
    if e.get("cpu_s_per_million_rows") and mi.get("cpu_s_per_million_rows"):
        out.append("| CPU seconds per million rows, loader / mongoimport "
                   "| %.2f / %.2f (%.0f× less) | – | |"
                   % (e["cpu_s_per_million_rows"],
                      mi["cpu_s_per_million_rows"],
                      mi["cpu_s_per_million_rows"]
                      / e["cpu_s_per_million_rows"]))
    runs = res["peak_rss_kb"]["runs"]
    kbs = [v for v in runs.values() if v is not None]
    out.append("| peak RSS of the loader (%s) | %s MB | < 64 MB | %s |"
               % (" / ".join(k for k, v in runs.items() if v is not None),
                  " / ".join("%.1f" % (v / 1024) for v in kbs),
                  verdict(max(kbs) < 64 * 1024)))
    mach = res["machine"]
    out.append("")
    out.append("Measured by `bench/run.sh` on %d CPUs (load average %s when "
               "it started; other work took %.0f%% of the CPUs while it "
               "ran): best of %d, ratios within the one run."
               % (mach["cpus"],
                  "/".join("%.1f" % x for x in mach.get("loadavg_before", [])),
                  100 * (mach.get("other_cpu_share") or 0),
                  res["params"]["reps"]))
    if (mach.get("other_cpu_share") or 0) > 0.15:
        out[-1] += (" Other work shared the machine, so the rates are low;"
                    " the ratios, taken within the one run, are what"
                    " compare.")
    return out


def median_ratio_sql(ref, ours):
    """The median of the per-repetition ratios ref / ours (bench/sql.py
    runs each in turn within a repetition)."""
    return statistics.median(r / o for r, o in zip(ref, ours))


def sql_table(sql):
    """The README's table of the SQL targets, from sql-results.json."""
    t = sql["targets"]
    cpu = sql.get("cpu_s") or {}
    out = ["| run | best | rows/s | vs its reference: best; median "
           "| target | | CPU s of that run: client / server |",
           "| --- | ---: | ---: | ---: | --- | --- | --- |"]

    def cpu_of(key, walls):
        c = cpu.get(key)
        if not c or len(c["client"]) != len(walls):
            return ""
        i = walls.index(min(walls))
        sv = c["server"][i]
        return "%.2f / %s" % (c["client"][i],
                              "–" if sv is None else "%.2f" % sv)

    def row(label, key, walls, rate, ratio=None, med=None, target=None):
        secs = min(walls)
        if ratio is None:
            out.append("| %s | %.3f s | %s | – | | | %s |"
                       % (label, secs, "{:,}".format(rate),
                          cpu_of(key, walls)))
            return
        out.append("| %s | %.3f s | %s | **%.2f×**; %.2f× | ≥ %.1f× | %s "
                   "| %s |"
                   % (label, secs, "{:,}".format(rate), ratio, med, target,
                      verdict(ratio >= target), cpu_of(key, walls)))
    q = sql.get("sqlite") or {}
    if q.get("status") == "ok":
        row("`sqlite3 .import` (Debian's CLI, text columns)", "sqlite_import",
            q["import_all_s"], q["import_rows_per_s"])
        row("loader → SQLite, 1 worker (typed columns, WAL)",
            "sqlite_loader", q["loader_all_s"], q["loader_rows_per_s"],
            q["ratio"],
            median_ratio_sql(q["import_all_s"], q["loader_all_s"]),
            t["sqlite_vs_import"])
        row("loader → SQLite, `--split 2`, one file", "sqlite_split2",
            q["split2_all_s"], q["split2_rows_per_s"], q["split2_ratio"],
            median_ratio_sql(q["import_all_s"], q["split2_all_s"]),
            t["sqlite_split2_vs_import"])
    else:
        out.append("| SQLite | %s | | | | | |" % q.get("status"))
    y = sql.get("mysql") or {}
    if y.get("status") == "ok":
        server = y.get("server", "").split("-")[0]
        row("`LOAD DATA LOCAL INFILE` (`mariadb` client)", "mysql_load_data",
            y["load_data_all_s"], y["load_data_rows_per_s"])
        row("loader → MariaDB %s, 1 worker" % server, "mysql_one_worker",
            y["one_worker_all_s"], y["one_worker_rows_per_s"],
            y["one_worker_ratio"],
            median_ratio_sql(y["load_data_all_s"], y["one_worker_all_s"]),
            t["mysql_1_vs_load_data"])
        row("loader → MariaDB %s, `--split 2`" % server, "mysql_split2",
            y["split2_all_s"], y["split2_rows_per_s"], y["split2_ratio"],
            median_ratio_sql(y["load_data_all_s"], y["split2_all_s"]),
            t["mysql_split2_vs_load_data"])
    else:
        out.append("| MariaDB | %s | | | | | |" % y.get("status"))
    p, mach = sql["params"], sql["machine"]
    out.append("")
    out.append("Measured by `bench/sql.py` (run by `bench/run.sh`) on %d "
               "CPUs: %s rows of `%s`, best of %d and the median of the "
               "ratios within each repetition (load average %s before, %s "
               "after)."
               % (mach["cpus"], "{:,}".format(p["rows"]), p["file"],
                  p["reps"],
                  "/".join("%.1f" % x for x in mach.get("loadavg_before", [])),
                  "/".join("%.1f" % x for x in mach.get("loadavg_after", []))))
    return out


def replace_between(text, begin, end, lines):
    """text with the lines between the markers begin and end replaced."""
    if begin not in text or end not in text:
        sys.exit("bench/report.py: README.md has no %s markers" % begin)
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(lines) + "\n" + end + tail


def gnuplot(script, out_name):
    with open(os.path.join(HERE, out_name), "w") as out:
        subprocess.run(["gnuplot"], input=script, text=True, stdout=out,
                       check=True)


HEAD = ('set terminal svg size 960,400 dynamic font "sans,11"\n'
        'set style data histograms\nset style fill solid 0.85 border -1\n'
        'set boxwidth 0.8\nset grid ytics\nset key top left\n')


def bars(title, ylabel, rows):
    """A bar chart of (label, value) rows."""
    data = "\n".join('"%s" %g' % (label, value) for label, value in rows)
    return (HEAD + 'set title "%s"\nset ylabel "%s"\nset yrange [0:*]\n'
            'set xtics nomirror\nunset key\n'
            '$d << EOD\n%s\nEOD\n'
            'plot $d using 2:xtic(1) lc rgb "#4477aa", '
            "'' using 0:2:(sprintf(\"%%.2f\", $2)) with labels offset 0,0.7 "
            'notitle\n' % (title, ylabel, data))


def scaling_chart(res):
    s, c, d = res["scaling"], res["ceiling"], res["dry_run"]
    rows = [("libcsv ceiling", c["rows_per_s"] / 1e6),
            ("1 worker", d["rows_per_s"] / 1e6),
            ("2 workers", s["two_workers_rows_per_s"] / 1e6)]
    if s["split"].get("status") == "ok":
        rows.append(("2, --split 2", s["split"]["rows_per_s"] / 1e6))
    m = res.get("mixed")
    if m:
        rows.append(("mixed: ceiling", m["ceiling_rows_per_s"] / 1e6))
        rows.append(("mixed: 1 worker", m["rows_per_s"] / 1e6))
    return bars("Dry run (parse + types + BSON) by workers, %s rows each"
                % "{:,}".format(res["params"]["dry_rows"]),
                "million rows/s", rows)


def latency_chart(lat):
    series = {}
    for r in lat["runs"]:
        if r.get("status") != "ok" or r.get("compressor") != "none":
            continue
        if r["program"] == "mongoimport" and not r.get("mongoimport_workers"):
            continue  # the -j 4 runs only, as the README compares
        key = "%s, %s" % (r["program_label"], r["input_label"])
        series.setdefault(key, []).append((r["delay_ms"], r["rows_per_s"]))
    script = (HEAD + 'set title "Rows/s against server latency '
              '(mongo-test-server --delay-ms)"\n'
              'set xlabel "server latency, ms (log scale; 0 ms drawn at 1)"\n'
              'set ylabel "thousand rows/s"\nset logscale x\n'
              'set xrange [0.8:80]\nset key top right\n'
              'set style data linespoints\n')
    plots = []
    for i, (key, pts) in enumerate(sorted(series.items())):
        script += "$s%d << EOD\n%s\nEOD\n" % (i, "\n".join(
            "%g %g" % (max(ms, 1), rps / 1e3) for ms, rps in sorted(pts)))
        plots.append('$s%d using 1:2 with linespoints lw 2 pt 7 title "%s"'
                     % (i, key.replace('"', "'")))
    return script + "plot " + ", ".join(plots) + "\n"


def peers_chart(res, sql):
    rows = []
    e, mi = res["end_to_end"], res["mongoimport"]
    if e.get("status") == "ok":
        rows.append(("loader, linear", e["linear_rows_per_s"]))
        rows.append(("loader, parallel", e["parallel_rows_per_s"]))
    if mi.get("status") == "ok" and mi.get("rows_per_s"):
        rows.append(("mongoimport", mi["rows_per_s"]))
    if sql:
        sq, my = sql.get("sqlite", {}), sql.get("mysql", {})
        for label, v in (("SQLite: loader", sq.get("loader_rows_per_s")),
                         ("sqlite3 .import", sq.get("import_rows_per_s")),
                         ("MariaDB: loader",
                          my.get("one_worker_rows_per_s")),
                         ("MariaDB: --split 2", my.get("split2_rows_per_s")),
                         ("LOAD DATA LOCAL",
                          my.get("load_data_rows_per_s"))):
            if v:
                rows.append((label, v))
    return bars("The loader and its peers, end to end (MongoDB: the test "
                "server; then SQLite, MariaDB when bench/sql.py ran)",
                "million rows/s", [(k, v / 1e6) for k, v in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-charts", action="store_true",
                    help="only the README table")
    ap.add_argument("--check", action="store_true",
                    help="fail when README.md's table is out of date")
    ap.add_argument("--results", default=os.path.join(HERE, "results.json"),
                    help="the JSON to read (default bench/results.json)")
    ap.add_argument("--readme", default=os.path.join(TOP, "README.md"),
                    help="the README to rewrite (default README.md)")
    args = ap.parse_args()
    res = load(args.results)
    if res is None:
        sys.exit("bench/report.py: bench/results.json is missing: run "
                 "bench/run.sh first")
    readme = args.readme
    with open(readme) as f:
        text = f.read()
    new = replace_between(text, BEGIN, END, table(res))
    sql = load("sql-results.json")
    if sql:
        new = replace_between(new, SQL_BEGIN, END, sql_table(sql))
    if args.check:
        if new != text:
            sys.exit("bench/report.py: README.md's Performance table is not "
                     "what bench/results.json gives: run bench/report.py")
        return
    if new != text:
        with open(readme, "w") as f:
            f.write(new)
        print("README.md: Performance table rewritten from results.json")
    if args.no_charts:
        return
    if not shutil.which("gnuplot"):
        print("bench/report.py: gnuplot is not on PATH (Debian: apt-get "
              "install gnuplot-nox): charts left as they are")
        return
    gnuplot(scaling_chart(res), "scaling.svg")
    lat = load("latency-results.json")
    if lat:
        gnuplot(latency_chart(lat), "latency.svg")
    gnuplot(peers_chart(res, load("sql-results.json")), "peers.svg")
    print("charts: bench/scaling.svg, bench/latency.svg, bench/peers.svg")


if __name__ == "__main__":
    main()
