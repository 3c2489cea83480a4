"""Adversarial CSV generator for the torture harness (seeded, reproducible).

generate(seed, ...) returns the bytes of one CSV file: a plain ASCII header
c1..cK, then records drawn from a weighted menu of awkward shapes (quoted and
multi-line fields, doubled and stray quotes, malformed quoting, CRLF, lone
CR, empty lines, non-ASCII and invalid UTF-8, very long fields, ragged rows,
values that type-infer), with records placed right at the byte points where
`--split 2` and `--split 3` cut (size*k/N): the total size is fixed in
advance (a multiple of 6) and filler records make a record, or a line inside
a multi-line record, start exactly at each cut point (or one byte off).

Nothing here knows how the loader parses: what the file *means* is decided
by oracle.py (Python's csv module) alone.
"""
import random

# Values that type-infer (or almost do).
INFER_VALUES = [
    "0", "1", "-1", "42", "-17", "2147483647", "2147483648", "-2147483648",
    "-2147483649", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809",
    "123456789012345678901234567890", "007", "00501", "+7", "+1-555-0134",
    "-0", "0.0", "-0.0", "1.5", "-0.25", "1e3", "1E3", "1e-5", "2.5e+10",
    "0.1", "1e308", "1e309", "-1e309", "1e-400", "3.141592653589793",
    "123456789012345678901234567890.5", "5.", ".5", "1e", "1.e5", "-", "--1",
    "0x10", "1_000", "nan", "inf", "NaN", "true", "false", "True", "FALSE",
    "t", "1.0", "01.5", "-01", "9007199254740993", "4.9e-324",
    "2.2250738585072014e-308", "17976931348623157e292", "1e99999999999",
    "1e-99999999999", "0e0", "-0e-0", "12345678901234567e-3", " 1", "1 ", "",
]
WORDS = ["alpha", "beta", "x", "hello world", "Oslo", "a;b", "tab\there",
         "  padded  ", "O'Brien", "back\\slash", "{json}", "[1,2]", "a.b"]
UNICODE = ["caf\u00e9", "\u65e5\u672c\u8a9e", "\U0001F600 grin", "\u00df",
           "\u0130stanbul", "\u200bzero-width", "\ufeffbom-inside",
           "\u00a0nbsp", "\u05e9\u05dc\u05d5\u05dd", "\U00010348"]
# Byte sequences that are not UTF-8 (Python's strict decoder refuses them).
BAD_UTF8 = [b"\xff", b"\xc3", b"\xc3(", b"\x80", b"\xed\xa0\x80",
            b"\xc0\x80", b"\xc1\xbf", b"\xf4\x90\x80\x80", b"\xe2\x82",
            b"\xf0\x9f\x98", b"\xfe\xfe", b"ok\xa9fin"]
# Unquoted values holding a quote character as data.
STRAY = [b"5'11\" tall", b"a\"b", b"x\"\"y", b"ends\"", b"mid\"dle\"x",
         b"1\"", b" \"lead-space-quote\""]
TERMS = [b"\n", b"\n", b"\n", b"\r\n", b"\r\n", b"\r"]


class Gen:
    def __init__(self, seed, k, profile):
        self.r = random.Random(seed)
        self.k = k
        self.profile = profile  # "full" or "wellformed"

    # --- fields -----------------------------------------------------------
    def plain_value(self):
        """A value that may stand unquoted (no delimiter, quote, CR, LF)."""
        r = self.r
        x = r.random()
        if x < 0.45:
            return r.choice(INFER_VALUES).encode()
        if x < 0.65:
            return r.choice(WORDS).encode()
        if x < 0.80:
            return r.choice(UNICODE).encode()
        if x < 0.90:
            return str(r.randint(-10**6, 10**6)).encode()
        return ("%r" % (r.uniform(-1e6, 1e6))).encode()

    def quoted(self, payload):
        return b'"' + payload.replace(b'"', b'""') + b'"'

    def quoted_payload(self):
        r = self.r
        parts = []
        for _ in range(r.randint(1, 4)):
            parts.append(r.choice([
                self.plain_value(), b",", b"\n", b"\r\n", b"\r", b'"', b'""',
                b"line1\nline2", b"a,b,c", b"\n\n", b" ", b"", b"'",
                b"\r\r\n", b'5\'11" tall']))
        return b"".join(parts)

    def field(self):
        r = self.r
        x = r.random()
        if x < 0.64:
            return self.plain_value()
        if x < 0.82:
            return self.quoted(self.quoted_payload())
        if x < 0.88:
            return r.choice(STRAY)
        if x < 0.92:
            return self.quoted(self.plain_value())  # "42": quoted number
        if x < 0.96:
            return b'""'
        if x < 0.975:
            bad = r.choice(BAD_UTF8)
            return self.quoted(b"v" + bad + b"\n,x") if r.random() < 0.4 \
                else b"v" + bad
        return b'""""' if r.random() < 0.5 else b'" ,x"'

    def long_field(self, size):
        r = self.r
        unit = r.choice([b"abcdefghij", b"\xc3\xa9t\xc3\xa9 ", b"0123456789",
                         b'q"uo"te,\n'])
        body = (unit * (size // len(unit) + 1))[:size]
        # Do not cut a UTF-8 sequence in half (that one would be invalid).
        while body and body[-1] & 0xC0 == 0x80 or body and body[-1] >= 0xC0:
            body = body[:-1]
        if b'"' in body or b"," in body or b"\n" in body or r.random() < 0.5:
            return self.quoted(body)
        return body

    # --- records ----------------------------------------------------------
    def record(self):
        """One record without its line terminator, and its kind."""
        r = self.r
        k = self.k
        x = r.random()
        if x < 0.04:
            n = r.choice([1, k - 1, k + 1, k + 3]) if k > 1 else 2
            return b",".join(self.field() for _ in range(max(n, 1))), "ragged"
        if x < 0.07 and self.profile == "full":
            bad = r.choice([b'"abc"def', b'"abc" ,x', b'"a"b"c"',
                            b'"x"\'', b'"multi\nline"tail', b'"q" '])
            fields = [self.field() for _ in range(k)]
            fields[r.randrange(k)] = bad
            return b",".join(fields), "malformed"
        if x < 0.075:
            return b" ", "space-line"
        if x < 0.08:
            return b",".join([b""] * k), "all-empty"
        fields = [self.field() for _ in range(k)]
        return b",".join(fields), "mixed"

    def filler(self, length, term):
        """A valid record of exactly `length` bytes including term."""
        k = self.k
        fixed = (k - 1) + len(term)  # commas and terminator
        vals = [b"1"] * (k - 1)
        body = length - fixed - sum(len(v) for v in vals)
        assert body >= 1, (length, k)
        return b"f" * body + b"," + b",".join(vals) + term if k > 1 \
            else b"f" * body + term


def generate(seed, approx_size=400_000, profile="full", long_fields=True):
    """Returns (bytes, info) for seed. info has the cut targets."""
    r = random.Random(seed)
    k = r.randint(2, 6)
    g = Gen(r.randrange(1 << 62), k, profile)
    size = max(6, approx_size // 6 * 6)
    targets = sorted({size * 1 // 3, size * 1 // 2, size * 2 // 3})
    out = bytearray()
    if r.random() < 0.3:
        out += b"\xef\xbb\xbf"
    if r.random() < 0.2:
        out += b"\n"  # an empty line before the header
    out += b",".join(b"c%d" % (i + 1) for i in range(k))
    out += r.choice(TERMS)
    long_budget = 3 if long_fields else 0
    ti = 0
    tail_reserve = 4096
    while True:
        next_t = targets[ti] if ti < len(targets) else size - tail_reserve
        # An empty line now and then.
        if r.random() < 0.03:
            out += r.choice([b"\n", b"\r\n", b"\r"])
        if long_budget and r.random() < 0.004:
            long_budget -= 1
            fsize = r.randint(20_000, min(300_000, max(20_000, size // 4)))
            fields = [g.field() for _ in range(k)]
            fields[r.randrange(k)] = g.long_field(fsize)
            rec, kind = b",".join(fields), "long"
        else:
            rec, kind = g.record()
        term = r.choice(TERMS)
        if len(out) + len(rec) + len(term) > next_t - 256:
            if ti >= len(targets):
                break
            # Fill up to the cut point, then put something awkward there.
            t = next_t
            shift = r.choice([0, 0, 0, -1, 1])
            trick = r.random()
            if trick < 0.4:
                # A multi-line quoted record whose inner line starts at t.
                head = b'"before-cut\n'
                rest = b'after-cut ""q"" , still inside"'
                fields = [head + rest] + [g.plain_value() for _ in range(k - 1)]
                cut_rec = b",".join(fields) + b"\n"
                pre = len(b'"before-cut\n')
            elif trick < 0.6:
                # A stray quote right before the cut, a multi-line one after.
                cut_rec = (b",".join([b'5\'11" tall'] + [b"x"] * (k - 1))
                           + b"\n" + b",".join(
                               [b'"two\nlines"'] + [b"y"] * (k - 1)) + b"\n")
                pre = 0
            else:
                cut_rec, _ = g.record()
                cut_rec += b"\n"
                pre = 0
            gap = t + shift - pre - len(out)
            out += g.filler(gap, b"\n")
            out += cut_rec
            ti += 1
            continue
        out += rec + term
    # The tail: filler up to the exact size, the last line maybe without a
    # line end (or, rarely, an unterminated quoted field).
    end_kind = r.random()
    if profile == "full" and end_kind < 0.1:
        tail = b'"unterminated,' + b"z" * 10
        gap = size - len(out) - len(tail) - 1
        out += g.filler(gap, b"\n") + tail + b"\n"
    elif end_kind < 0.6:
        gap = size - len(out)
        out += g.filler(gap - 20, b"\n")
        last = g.filler(20, b"")
        out += last  # no newline at the end
    else:
        out += g.filler(size - len(out), r.choice([b"\n", b"\r\n"]))
    assert len(out) == size, (len(out), size)
    assert b"\0" not in out
    return bytes(out), {"targets": targets, "k": k, "size": size}


def generate_keyed(seed, rows=3000, dup_every=7):
    """A file with a `customer_id` column holding real duplicates (for a
    unique index on it), plus a few ragged rows. Returns bytes."""
    r = random.Random(seed)
    lines = [b"customer_id,name,score"]
    for i in range(rows):
        if i and r.random() < 1.0 / dup_every:
            key = r.randrange(i)  # an earlier key again
        else:
            key = i
        if r.random() < 0.01:
            lines.append(b"%d,ragged" % key)
        else:
            lines.append(b"%d,name%d,%d" % (key, i, r.randint(0, 100)))
    return b"\n".join(lines) + b"\n"


def generate_big(seed, rows=30000):
    """A larger, mostly plain file for kill -9 and disk-full runs: quoted
    multi-line fields, ragged and invalid UTF-8 rows sprinkled through."""
    r = random.Random(seed)
    out = [b"c1,c2,c3"]
    for i in range(rows):
        x = r.random()
        if x < 0.01:
            out.append(b"%d,ragged" % i)
        elif x < 0.02:
            out.append(b"%d,bad\xff,x" % i)
        elif x < 0.06:
            out.append(b'%d,"multi\nline, ""q""",%d' % (i, r.randint(0, 9)))
        else:
            out.append(b"%d,v%d,%s" % (i, r.randint(0, 10**6),
                                       r.choice([b"1.5", b"true", b"007",
                                                 b"caf\xc3\xa9", b""])))
    return b"\n".join(out) + b"\n"


if __name__ == "__main__":
    import sys
    data, info = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    sys.stdout.buffer.write(data)
