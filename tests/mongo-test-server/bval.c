/* BSON values compared, hashed, looked up, printed and validated the way
 * mongod does it. See bval.h. */
#include "bval.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TWO_63 9223372036854775808.0

int bval_canonical_type(bson_type_t type)
{
  /* The ranks of mongod's canonicalizeBSONType(). */
  switch (type) {
  case BSON_TYPE_MINKEY:
    return -1;
  case BSON_TYPE_EOD:
  case BSON_TYPE_UNDEFINED:
    return 0;
  case BSON_TYPE_NULL:
    return 5;
  case BSON_TYPE_DOUBLE:
  case BSON_TYPE_INT32:
  case BSON_TYPE_INT64:
  case BSON_TYPE_DECIMAL128:
    return 10;
  case BSON_TYPE_UTF8:
  case BSON_TYPE_SYMBOL:
    return 15;
  case BSON_TYPE_DOCUMENT:
    return 20;
  case BSON_TYPE_ARRAY:
    return 25;
  case BSON_TYPE_BINARY:
    return 30;
  case BSON_TYPE_OID:
    return 35;
  case BSON_TYPE_BOOL:
    return 40;
  case BSON_TYPE_DATE_TIME:
    return 45;
  case BSON_TYPE_TIMESTAMP:
    return 47;
  case BSON_TYPE_REGEX:
    return 50;
  case BSON_TYPE_DBPOINTER:
    return 55;
  case BSON_TYPE_CODE:
    return 60;
  case BSON_TYPE_CODEWSCOPE:
    return 65;
  case BSON_TYPE_MAXKEY:
    return 127;
  }
  return 0;
}

bool bval_is_number(bson_type_t type)
{
  return type == BSON_TYPE_INT32 || type == BSON_TYPE_INT64 ||
         type == BSON_TYPE_DOUBLE || type == BSON_TYPE_DECIMAL128;
}

/* Converts a decimal128 to the nearest double, through its string form
 * (libbson has no decimal arithmetic; precision beyond a double is lost). */
static double decimal_to_double(const bson_decimal128_t *dec)
{
  char buf[BSON_DECIMAL128_STRING];
  bson_decimal128_to_string(dec, buf);
  if (strcmp(buf, "NaN") == 0 || strcmp(buf, "-NaN") == 0)
    return NAN;
  if (strcmp(buf, "Infinity") == 0)
    return INFINITY;
  if (strcmp(buf, "-Infinity") == 0)
    return -INFINITY;
  return strtod(buf, NULL);
}

bool bval_as_double(const bson_value_t *value, double *out)
{
  switch (value->value_type) {
  case BSON_TYPE_INT32:
    *out = value->value.v_int32;
    return true;
  case BSON_TYPE_INT64:
    *out = (double)value->value.v_int64;
    return true;
  case BSON_TYPE_DOUBLE:
    *out = value->value.v_double;
    return true;
  case BSON_TYPE_DECIMAL128:
    *out = decimal_to_double(&value->value.v_decimal128);
    return true;
  default:
    return false;
  }
}

bool bval_as_int64(const bson_value_t *value, int64_t *out)
{
  double d;
  switch (value->value_type) {
  case BSON_TYPE_INT32:
    *out = value->value.v_int32;
    return true;
  case BSON_TYPE_INT64:
    *out = value->value.v_int64;
    return true;
  case BSON_TYPE_DOUBLE:
  case BSON_TYPE_DECIMAL128:
    if (!bval_as_double(value, &d) || d != trunc(d) || d < -TWO_63 ||
        d >= TWO_63)
      return false;
    *out = (int64_t)d;
    return true;
  default:
    return false;
  }
}

bool bval_truthy(const bson_value_t *value)
{
  double d;
  switch (value->value_type) {
  case BSON_TYPE_BOOL:
    return value->value.v_bool;
  case BSON_TYPE_NULL:
  case BSON_TYPE_UNDEFINED:
  case BSON_TYPE_EOD:
    return false;
  default:
    if (bval_as_double(value, &d))
      return d != 0.0;
    return true;
  }
}

/* Orders doubles as mongod does: NaN equals NaN and sorts below all numbers. */
static int compare_doubles(double a, double b)
{
  if (isnan(a))
    return isnan(b) ? 0 : -1;
  if (isnan(b))
    return 1;
  return a < b ? -1 : (a > b ? 1 : 0);
}

/* Compares an int64 with a double exactly, without rounding the integer. */
static int compare_long_double(int64_t l, double d)
{
  if (isnan(d))
    return 1;
  if (d >= TWO_63)
    return -1;
  if (d < -TWO_63)
    return 1;
  int64_t whole = (int64_t)d; /* truncation toward zero, in range */
  if (l != whole)
    return l < whole ? -1 : 1;
  double frac = d - (double)whole;
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

/* Compares two values that are both numbers. */
static int compare_numbers(const bson_value_t *a, const bson_value_t *b)
{
  bson_type_t ta = a->value_type, tb = b->value_type;
  if (ta == BSON_TYPE_DECIMAL128 || tb == BSON_TYPE_DECIMAL128) {
    double da = 0, db = 0;
    bval_as_double(a, &da);
    bval_as_double(b, &db);
    return compare_doubles(da, db);
  }
  if (ta != BSON_TYPE_DOUBLE && tb != BSON_TYPE_DOUBLE) {
    int64_t la = 0, lb = 0;
    bval_as_int64(a, &la);
    bval_as_int64(b, &lb);
    return la < lb ? -1 : (la > lb ? 1 : 0);
  }
  if (ta == BSON_TYPE_DOUBLE && tb == BSON_TYPE_DOUBLE)
    return compare_doubles(a->value.v_double, b->value.v_double);
  if (ta == BSON_TYPE_DOUBLE) {
    int64_t lb = 0;
    bval_as_int64(b, &lb);
    return -compare_long_double(lb, a->value.v_double);
  }
  int64_t la = 0;
  bval_as_int64(a, &la);
  return compare_long_double(la, b->value.v_double);
}

/* Compares two byte strings: common prefix first, then length. */
static int compare_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if (c)
    return c < 0 ? -1 : 1;
  return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

int bval_compare_docs(const uint8_t *a, uint32_t alen, const uint8_t *b,
                      uint32_t blen, bool compare_names)
{
  bson_iter_t ia, ib;
  if (!bson_iter_init_from_data(&ia, a, alen) ||
      !bson_iter_init_from_data(&ib, b, blen))
    return compare_bytes(a, alen, b, blen);
  for (;;) {
    bool ha = bson_iter_next(&ia), hb = bson_iter_next(&ib);
    if (!ha || !hb)
      return ha == hb ? 0 : (ha ? 1 : -1);
    int c = bval_canonical_type(bson_iter_type(&ia)) -
            bval_canonical_type(bson_iter_type(&ib));
    if (c)
      return c < 0 ? -1 : 1;
    if (compare_names) {
      c = strcmp(bson_iter_key(&ia), bson_iter_key(&ib));
      if (c)
        return c < 0 ? -1 : 1;
    }
    c = bval_compare(bson_iter_value(&ia), bson_iter_value(&ib));
    if (c)
      return c;
  }
}

int bval_compare(const bson_value_t *a, const bson_value_t *b)
{
  int ca = bval_canonical_type(a->value_type);
  int cb = bval_canonical_type(b->value_type);
  if (ca != cb)
    return ca < cb ? -1 : 1;
  const bson_value_t *x = a, *y = b;
  switch (a->value_type) {
  case BSON_TYPE_DOUBLE:
  case BSON_TYPE_INT32:
  case BSON_TYPE_INT64:
  case BSON_TYPE_DECIMAL128:
    return compare_numbers(a, b);
  case BSON_TYPE_UTF8:
  case BSON_TYPE_SYMBOL: {
    /* v_utf8 and v_symbol share their layout in bson_value_t's union, but
     * read each through its own member to stay clear of aliasing doubts. */
    const char *sa = x->value_type == BSON_TYPE_UTF8 ? x->value.v_utf8.str
                                                     : x->value.v_symbol.symbol;
    size_t la = x->value_type == BSON_TYPE_UTF8 ? x->value.v_utf8.len
                                                : x->value.v_symbol.len;
    const char *sb = y->value_type == BSON_TYPE_UTF8 ? y->value.v_utf8.str
                                                     : y->value.v_symbol.symbol;
    size_t lb = y->value_type == BSON_TYPE_UTF8 ? y->value.v_utf8.len
                                                : y->value.v_symbol.len;
    return compare_bytes(sa, la, sb, lb);
  }
  case BSON_TYPE_DOCUMENT:
    return bval_compare_docs(a->value.v_doc.data, a->value.v_doc.data_len,
                             b->value.v_doc.data, b->value.v_doc.data_len,
                             true);
  case BSON_TYPE_ARRAY:
    return bval_compare_docs(a->value.v_doc.data, a->value.v_doc.data_len,
                             b->value.v_doc.data, b->value.v_doc.data_len,
                             false);
  case BSON_TYPE_BINARY:
    if (a->value.v_binary.data_len != b->value.v_binary.data_len)
      return a->value.v_binary.data_len < b->value.v_binary.data_len ? -1 : 1;
    if (a->value.v_binary.subtype != b->value.v_binary.subtype)
      return a->value.v_binary.subtype < b->value.v_binary.subtype ? -1 : 1;
    return compare_bytes(a->value.v_binary.data, a->value.v_binary.data_len,
                         b->value.v_binary.data, b->value.v_binary.data_len);
  case BSON_TYPE_OID:
    return compare_bytes(a->value.v_oid.bytes, 12, b->value.v_oid.bytes, 12);
  case BSON_TYPE_BOOL:
    return (int)a->value.v_bool - (int)b->value.v_bool;
  case BSON_TYPE_DATE_TIME:
    return a->value.v_datetime < b->value.v_datetime
               ? -1
               : (a->value.v_datetime > b->value.v_datetime ? 1 : 0);
  case BSON_TYPE_TIMESTAMP:
    if (a->value.v_timestamp.timestamp != b->value.v_timestamp.timestamp)
      return a->value.v_timestamp.timestamp < b->value.v_timestamp.timestamp
                 ? -1
                 : 1;
    if (a->value.v_timestamp.increment != b->value.v_timestamp.increment)
      return a->value.v_timestamp.increment < b->value.v_timestamp.increment
                 ? -1
                 : 1;
    return 0;
  case BSON_TYPE_REGEX: {
    int c = strcmp(a->value.v_regex.regex, b->value.v_regex.regex);
    if (!c)
      c = strcmp(a->value.v_regex.options, b->value.v_regex.options);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  case BSON_TYPE_DBPOINTER: {
    int c = compare_bytes(
        a->value.v_dbpointer.collection, a->value.v_dbpointer.collection_len,
        b->value.v_dbpointer.collection, b->value.v_dbpointer.collection_len);
    if (!c)
      c = compare_bytes(a->value.v_dbpointer.oid.bytes, 12,
                        b->value.v_dbpointer.oid.bytes, 12);
    return c;
  }
  case BSON_TYPE_CODE:
    return compare_bytes(a->value.v_code.code, a->value.v_code.code_len,
                         b->value.v_code.code, b->value.v_code.code_len);
  case BSON_TYPE_CODEWSCOPE: {
    int c = compare_bytes(
        a->value.v_codewscope.code, a->value.v_codewscope.code_len,
        b->value.v_codewscope.code, b->value.v_codewscope.code_len);
    if (!c)
      c = bval_compare_docs(a->value.v_codewscope.scope_data,
                            a->value.v_codewscope.scope_len,
                            b->value.v_codewscope.scope_data,
                            b->value.v_codewscope.scope_len, true);
    return c;
  }
  default: /* null, undefined, minKey, maxKey: one value each */
    return 0;
  }
}

/* FNV-1a over bytes, continuing from h. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* Hashes a whole document or array element by element. */
static uint64_t hash_doc(uint64_t h, const uint8_t *data, uint32_t len,
                         bool names)
{
  bson_iter_t it;
  if (!bson_iter_init_from_data(&it, data, len))
    return hash_bytes(h, data, len);
  while (bson_iter_next(&it)) {
    if (names)
      h = hash_bytes(h, bson_iter_key(&it), bson_iter_key_len(&it) + 1);
    h = bval_hash(bson_iter_value(&it), h);
  }
  return h;
}

uint64_t bval_hash(const bson_value_t *v, uint64_t seed)
{
  uint64_t h = seed ? seed : 14695981039346656037ULL;
  int ct = bval_canonical_type(v->value_type);
  h = hash_bytes(h, &ct, sizeof ct);
  switch (v->value_type) {
  case BSON_TYPE_DOUBLE:
  case BSON_TYPE_INT32:
  case BSON_TYPE_INT64:
  case BSON_TYPE_DECIMAL128: {
    /* Integral values hash as int64 whatever their type, so 1 == 1L == 1.0
     * hash alike; other doubles hash by their bits. */
    int64_t l;
    double d = 0;
    if (bval_as_int64(v, &l))
      return hash_bytes(h, &l, sizeof l);
    bval_as_double(v, &d);
    if (isnan(d))
      return hash_bytes(h, "nan", 3);
    return hash_bytes(h, &d, sizeof d);
  }
  case BSON_TYPE_UTF8:
    return hash_bytes(h, v->value.v_utf8.str, v->value.v_utf8.len);
  case BSON_TYPE_SYMBOL:
    return hash_bytes(h, v->value.v_symbol.symbol, v->value.v_symbol.len);
  case BSON_TYPE_DOCUMENT:
    return hash_doc(h, v->value.v_doc.data, v->value.v_doc.data_len, true);
  case BSON_TYPE_ARRAY:
    return hash_doc(h, v->value.v_doc.data, v->value.v_doc.data_len, false);
  case BSON_TYPE_BINARY:
    h = hash_bytes(h, &v->value.v_binary.subtype, 1);
    return hash_bytes(h, v->value.v_binary.data, v->value.v_binary.data_len);
  case BSON_TYPE_OID:
    return hash_bytes(h, v->value.v_oid.bytes, 12);
  case BSON_TYPE_BOOL: {
    uint8_t b = v->value.v_bool ? 1 : 0;
    return hash_bytes(h, &b, 1);
  }
  case BSON_TYPE_DATE_TIME:
    return hash_bytes(h, &v->value.v_datetime, 8);
  case BSON_TYPE_TIMESTAMP:
    h = hash_bytes(h, &v->value.v_timestamp.timestamp, 4);
    return hash_bytes(h, &v->value.v_timestamp.increment, 4);
  case BSON_TYPE_REGEX:
    h = hash_bytes(h, v->value.v_regex.regex, strlen(v->value.v_regex.regex));
    return hash_bytes(h, v->value.v_regex.options,
                      strlen(v->value.v_regex.options));
  case BSON_TYPE_CODE:
    return hash_bytes(h, v->value.v_code.code, v->value.v_code.code_len);
  case BSON_TYPE_CODEWSCOPE:
    return hash_bytes(h, v->value.v_codewscope.code,
                      v->value.v_codewscope.code_len);
  case BSON_TYPE_DBPOINTER:
    return hash_bytes(h, v->value.v_dbpointer.oid.bytes, 12);
  default:
    return h;
  }
}

bool bval_get_path(const bson_t *doc, const char *path, bson_value_t *out)
{
  bson_iter_t it, child;
  if (!bson_iter_init(&it, doc))
    return false;
  const char *part = path;
  for (;;) {
    const char *dot = strchr(part, '.');
    int len = dot ? (int)(dot - part) : (int)strlen(part);
    if (!bson_iter_find_w_len(&it, part, len))
      return false;
    if (!dot) {
      *out = *bson_iter_value(&it);
      return true;
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) && !BSON_ITER_HOLDS_ARRAY(&it))
      return false;
    if (!bson_iter_recurse(&it, &child))
      return false;
    it = child;
    part = dot + 1;
  }
}

/* Appends a C string to str with JSON-style escapes for quotes and
 * control characters. */
static void append_quoted(bson_string_t *str, const char *s, size_t len)
{
  bson_string_append_c(str, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      bson_string_append_c(str, '\\');
      bson_string_append_c(str, (char)c);
    } else if (c < 0x20) {
      bson_string_append_printf(str, "\\u%04x", c);
    } else {
      bson_string_append_c(str, (char)c);
    }
  }
  bson_string_append_c(str, '"');
}

/* Appends an embedded document or array in mongod's print style. */
static void format_container(bson_string_t *str, const uint8_t *data,
                             uint32_t len, bool names)
{
  bson_iter_t it;
  bool first = true;
  if (!bson_iter_init_from_data(&it, data, len)) {
    bson_string_append(str, names ? "{}" : "[]");
    return;
  }
  bson_string_append(str, names ? "{ " : "[ ");
  while (bson_iter_next(&it)) {
    if (!first)
      bson_string_append(str, ", ");
    first = false;
    if (names) {
      bson_string_append(str, bson_iter_key(&it));
      bson_string_append(str, ": ");
    }
    bval_format(str, bson_iter_value(&it));
  }
  bson_string_append(str, first ? (names ? "}" : "]") : (names ? " }" : " ]"));
}

void bval_format_doc(bson_string_t *str, const uint8_t *data, uint32_t len)
{
  format_container(str, data, len, true);
}

void bval_format(bson_string_t *str, const bson_value_t *v)
{
  char oid[25];
  switch (v->value_type) {
  case BSON_TYPE_UTF8:
    append_quoted(str, v->value.v_utf8.str, v->value.v_utf8.len);
    break;
  case BSON_TYPE_INT32:
    bson_string_append_printf(str, "%d", (int)v->value.v_int32);
    break;
  case BSON_TYPE_INT64:
    bson_string_append_printf(str, "%lld", (long long)v->value.v_int64);
    break;
  case BSON_TYPE_DOUBLE: {
    double d = v->value.v_double;
    if (isfinite(d) && d == trunc(d) && fabs(d) < 1e15)
      bson_string_append_printf(str, "%.1f", d);
    else
      bson_string_append_printf(str, "%.17g", d);
    break;
  }
  case BSON_TYPE_OID:
    bson_oid_to_string(&v->value.v_oid, oid);
    bson_string_append_printf(str, "ObjectId('%s')", oid);
    break;
  case BSON_TYPE_BOOL:
    bson_string_append(str, v->value.v_bool ? "true" : "false");
    break;
  case BSON_TYPE_NULL:
    bson_string_append(str, "null");
    break;
  case BSON_TYPE_DATE_TIME:
    bson_string_append_printf(str, "new Date(%lld)",
                              (long long)v->value.v_datetime);
    break;
  case BSON_TYPE_DOCUMENT:
    format_container(str, v->value.v_doc.data, v->value.v_doc.data_len, true);
    break;
  case BSON_TYPE_ARRAY:
    format_container(str, v->value.v_doc.data, v->value.v_doc.data_len, false);
    break;
  default: {
    /* Anything rarer: relaxed extended JSON of the value alone. */
    bson_t tmp = BSON_INITIALIZER;
    bson_append_value(&tmp, "v", 1, v);
    char *json = bson_as_relaxed_extended_json(&tmp, NULL);
    /* json is '{ "v" : VALUE }' */
    if (json && strlen(json) > 10) {
      size_t n = strlen(json);
      bson_string_append_printf(str, "%.*s", (int)(n - 10), json + 8);
    }
    bson_free(json);
    bson_destroy(&tmp);
  }
  }
}

/* Reads a little-endian int32 at p. */
static int32_t read_i32(const uint8_t *p)
{
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
  return (int32_t)u;
}

/* Checks a BSON string (int32 length, bytes, NUL) at pos, ending at or
 * before end; advances pos past it. */
static bool skip_string(const uint8_t *data, size_t *pos, size_t end)
{
  if (end - *pos < 5)
    return false;
  int32_t l = read_i32(data + *pos);
  if (l < 1 || (size_t)l > end - *pos - 4)
    return false;
  if (data[*pos + 4 + (size_t)l - 1] != 0)
    return false;
  *pos += 4 + (size_t)l;
  return true;
}

/* Checks a NUL-terminated name at pos, before end; advances past it. */
static bool skip_cstring(const uint8_t *data, size_t *pos, size_t end)
{
  const void *nul = memchr(data + *pos, 0, end - *pos);
  if (!nul)
    return false;
  *pos = (size_t)((const uint8_t *)nul - data) + 1;
  return true;
}

/* Validates one document at data (len bytes, exactly), starting at nesting
 * depth. Returns a static reason on failure, NULL when well formed. */
static const char *validate_at(const uint8_t *data, size_t len, int depth)
{
  /* ends[d] is the offset of the terminating NUL of the document open at
   * level d; documents are walked with this explicit stack, not recursion. */
  size_t ends[BVAL_MAX_DEPTH + 1];
  int top = 0;
  if (len < 5 || read_i32(data) != (int32_t)len)
    return "document length mismatch";
  ends[0] = len - 1;
  size_t pos = 4;
  for (;;) {
    size_t end = ends[top];
    if (pos == end) {
      if (data[pos] != 0)
        return "document not terminated";
      pos++;
      if (top == 0)
        return pos == len ? NULL : "trailing bytes";
      top--;
      continue;
    }
    uint8_t type = data[pos++];
    if (type == 0)
      return "premature end of document";
    if (!skip_cstring(data, &pos, end))
      return "unterminated field name";
    size_t fixed = 0;
    switch (type) {
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DATE_TIME:
    case BSON_TYPE_TIMESTAMP:
    case BSON_TYPE_INT64:
      fixed = 8;
      break;
    case BSON_TYPE_INT32:
      fixed = 4;
      break;
    case BSON_TYPE_OID:
      fixed = 12;
      break;
    case BSON_TYPE_DECIMAL128:
      fixed = 16;
      break;
    case BSON_TYPE_BOOL:
      if (pos >= end || data[pos] > 1)
        return "invalid boolean";
      fixed = 1;
      break;
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_NULL:
    case BSON_TYPE_MINKEY:
    case BSON_TYPE_MAXKEY:
      break;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_CODE:
    case BSON_TYPE_SYMBOL:
      if (!skip_string(data, &pos, end))
        return "invalid string";
      break;
    case BSON_TYPE_REGEX:
      if (!skip_cstring(data, &pos, end) || !skip_cstring(data, &pos, end))
        return "invalid regex";
      break;
    case BSON_TYPE_DBPOINTER:
      if (!skip_string(data, &pos, end))
        return "invalid dbpointer";
      fixed = 12;
      break;
    case BSON_TYPE_BINARY: {
      if (end - pos < 5)
        return "truncated binary";
      int32_t l = read_i32(data + pos);
      if (l < 0 || (size_t)l > end - pos - 5)
        return "invalid binary length";
      pos += 5 + (size_t)l;
      break;
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
      if (end - pos < 5)
        return "truncated embedded document";
      int32_t l = read_i32(data + pos);
      if (l < 5 || (size_t)l > end - pos)
        return "invalid embedded document length";
      if (depth + top + 1 > BVAL_MAX_DEPTH)
        return "nesting too deep";
      ends[++top] = pos + (size_t)l - 1;
      pos += 4;
      continue;
    }
    case BSON_TYPE_CODEWSCOPE: {
      if (end - pos < 14)
        return "truncated code with scope";
      int32_t total = read_i32(data + pos);
      if (total < 14 || (size_t)total > end - pos)
        return "invalid code with scope length";
      size_t p = pos + 4, stop = pos + (size_t)total;
      if (!skip_string(data, &p, stop) || stop - p < 5)
        return "invalid code with scope";
      if (depth + top + 1 > BVAL_MAX_DEPTH)
        return "nesting too deep";
      /* The scope is bounded by the depth check, so this recursion is too. */
      const char *why = validate_at(data + p, stop - p, depth + top + 1);
      if (why)
        return why;
      pos = stop;
      break;
    }
    default:
      return "unknown element type";
    }
    if (fixed > end - pos)
      return "truncated element";
    pos += fixed;
  }
}

bool bval_validate(const uint8_t *data, size_t len, bson_error_t *error)
{
  const char *why = validate_at(data, len, 0);
  if (why) {
    bson_set_error(error, 1, 22, "invalid BSON: %s", why);
    return false;
  }
  return true;
}
