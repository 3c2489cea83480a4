"""The independent oracle: what a CSV file holds, by Python's csv module.

Never libcsv, never the loader's code. The rules it models are stated in
README.md ("The oracle's rules"); in short:

- bytes are decoded as latin-1 (byte-transparent) with newline='', so a
  physical line ends at \\n, \\r\\n or a lone \\r, as the loader counts lines;
  a UTF-8 BOM at the very start is dropped;
- record boundaries are csv.reader(strict=False)'s; an empty physical line
  between records ([]) is skipped and not counted;
- a record is malformed iff re-parsing its own raw lines with strict=True
  raises csv.Error;
- the first non-empty record is the header; every other record is
  rejected when malformed, when its field count differs from the header's,
  when a field is not UTF-8, or when its raw text exceeds 16 MiB; the rest
  are valid and become documents (inference as in the README's "Types").
"""
import csv
import io
import re
import struct
import sys

csv.field_size_limit(sys.maxsize)

MAX_RECORD = 16 * 1024 * 1024
INT_RE = re.compile(r"-?(0|[1-9][0-9]*)\Z")
DEC_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
INT32 = (-2**31, 2**31 - 1)
INT64 = (-2**63, 2**63 - 1)


class Record:
    __slots__ = ("line", "end_line", "offset", "end_offset", "raw", "fields",
                 "status", "why", "index")

    def __repr__(self):
        return "Record(line=%d, status=%s, why=%s, raw=%r)" % (
            self.line, self.status, self.why, self.raw[:80])


class _Lines:
    """Iterator over physical lines that remembers what it handed out."""

    def __init__(self, text):
        self.f = io.StringIO(text, newline="")
        self.taken = []

    def __iter__(self):
        return self

    def __next__(self):
        line = self.f.readline()
        if not line:
            raise StopIteration
        self.taken.append(line)
        return line


def _malformed(raw):
    try:
        list(csv.reader(io.StringIO(raw, newline=""), strict=True))
    except csv.Error:
        return True
    return False


def _utf8(s):
    try:
        s.encode("latin-1").decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class Oracle:
    """records: every non-empty record after the header, in file order."""

    def __init__(self, data):
        self.bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        text = data[self.bom:].decode("latin-1")
        lines = _Lines(text)
        reader = csv.reader(lines, strict=False)
        self.header = None
        self.header_line = None
        self.records = []
        line_no = 0        # physical lines consumed so far
        offset = self.bom  # byte offset of the next line
        for fields in reader:
            taken, lines.taken = lines.taken, []
            start_line = line_no + 1
            start_offset = offset
            line_no = reader.line_num
            assert line_no - (start_line - 1) == len(taken)
            raw_full = "".join(taken)
            offset += len(raw_full)
            if fields == []:
                continue  # an empty line
            if self.header is None:
                self.header = fields
                self.header_line = start_line
                continue
            rec = Record()
            rec.index = len(self.records)
            rec.line = start_line
            rec.end_line = line_no
            rec.offset = start_offset
            rec.end_offset = offset
            rec.raw = raw_full.rstrip("\r\n")
            rec.fields = fields
            rec.status, rec.why = self._judge(raw_full, fields)
            self.records.append(rec)
        self.total_lines = line_no
        self.size = len(data)

    def _judge(self, raw_full, fields):
        if len(raw_full) > MAX_RECORD:
            return "reject", "oversized"
        whys = []
        if _malformed(raw_full):
            whys.append("malformed")
        if len(fields) != len(self.header):
            whys.append("fields")
        if any(not _utf8(f) for f in fields):
            whys.append("utf8")
        if whys:
            return "reject", "+".join(whys)
        return "valid", ""

    @property
    def valid(self):
        return [r for r in self.records if r.status == "valid"]

    @property
    def rejected(self):
        return [r for r in self.records if r.status != "valid"]

    def doc(self, rec, infer=True):
        """The record as a typed document: a tuple of (name, tag, value)."""
        return tuple((self.header[i], ) + typed(f.encode("latin-1").decode(
            "utf-8"), infer) for i, f in enumerate(rec.fields))


def dbits(d):
    return struct.pack("<d", d)


def typed(s, infer=True):
    """(tag, value) of one field as the README's "Types" says it is stored."""
    if not infer:
        return ("string", s)
    if s == "true":
        return ("bool", True)
    if s == "false":
        return ("bool", False)
    if INT_RE.match(s) and s != "-0":
        v = int(s)
        if INT32[0] <= v <= INT32[1]:
            return ("int32", v)
        if INT64[0] <= v <= INT64[1]:
            return ("int64", v)
        return ("string", s)
    m = DEC_RE.match(s)
    if m and (m.group(2) or m.group(3)):
        d = float(s)
        if d == d and d not in (float("inf"), float("-inf")):
            return ("double", dbits(d))
    return ("string", s)


def show(tagged):
    """Readable form of a (tag, value) pair."""
    tag, v = tagged
    if tag == "double":
        return "double(%r)" % struct.unpack("<d", v)[0]
    return "%s(%r)" % (tag, v)


def sql_text(tagged):
    """The text a value becomes in a TEXT column (doc/sql.md): numbers and
    booleans as their text; a double as the shortest of %.15g/%.16g/%.17g
    that reads back as the same double."""
    tag, v = tagged
    if tag == "bool":
        return "true" if v else "false"
    if tag in ("int32", "int64"):
        return str(v)
    if tag == "double":
        d = struct.unpack("<d", v)[0]
        for prec in (15, 16, 17):
            t = "%.*g" % (prec, d)
            if float(t) == d:
                return t
        return t
    return v


if __name__ == "__main__":
    o = Oracle(open(sys.argv[1], "rb").read())
    print("header", o.header, "records", len(o.records), "valid",
          len(o.valid))
    for r in o.rejected[:50]:
        print(r.line, r.why, repr(r.raw[:60]))
