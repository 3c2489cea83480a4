#!/usr/bin/env python3
"""Check a loader-gen CSV with a real CSV parser (used by the ctests).

usage: check-csv.py FILE ROWS HEADER

Fails (exit 1, message on stderr) unless FILE is UTF-8, starts with exactly
the comma-separated HEADER, holds exactly ROWS records after it, every record
has as many fields as the header, and writing the parsed records back with
minimal RFC 4180 quoting and LF line ends reproduces FILE byte for byte -- so
a field is quoted exactly when it has to be.
"""
import csv
import io
import sys


def main():
    path, rows, header = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")  # raises on invalid UTF-8
    records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    if not records or records[0] != header:
        sys.exit(f"{path}: header is {records[:1]}, want {header}")
    body = records[1:]
    if len(body) != rows:
        sys.exit(f"{path}: {len(body)} records, want {rows}")
    for i, rec in enumerate(body, 2):
        if len(rec) != len(header):
            sys.exit(f"{path}: record {i} has {len(rec)} fields, "
                     f"want {len(header)}")
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n",
               quoting=csv.QUOTE_MINIMAL).writerows(records)
    if out.getvalue().encode("utf-8") != raw:
        sys.exit(f"{path}: rewriting with minimal quoting changes the bytes")
    print(f"{path}: {rows} records of {len(header)} fields, quoting minimal")


if __name__ == "__main__":
    main()
