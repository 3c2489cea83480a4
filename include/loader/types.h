/* types: column types, and text turned into typed BSON values.
 *
 * A type is written as mongoimport writes it in typed headers: auto(),
 * string(), int32(), int64(), double(), decimal(), boolean(),
 * date(GO_LAYOUT) (also date_go), date_ms(JAVA_LAYOUT),
 * date_oracle(ORACLE_FORMAT), binary(hex|base64|base32).
 * Date layouts are compiled once into tokens; converting a value allocates
 * nothing (binary values reuse a scratch buffer of the caller's). */
#ifndef LOADER_TYPES_H
#define LOADER_TYPES_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum types_kind {
  TYPES_AUTO,             /* inferred from the text */
  TYPES_STRING,           /* the text as it is */
  TYPES_INT32,            /* 32-bit integer */
  TYPES_INT64,            /* 64-bit integer */
  TYPES_DOUBLE,           /* IEEE double */
  TYPES_DECIMAL,          /* Decimal128 */
  TYPES_BOOLEAN,          /* true/false, 1/0, t/f (Go's ParseBool) */
  TYPES_DATE,             /* a date in a layout, stored as a BSON date */
  TYPES_BINARY_HEX,       /* hex digits, stored as binary */
  TYPES_BINARY_BASE64,    /* base64, stored as binary */
  TYPES_BINARY_BASE32,    /* base32 (RFC 4648, padded), stored as binary */
  TYPES_AUTO_MONGOIMPORT, /* inferred by mongoimport's rules
                             (types_infer_mongoimport()); never parsed from
                             a spec: doc_spec makes auto() columns this
                             with --infer-as mongoimport */
} types_kind_t;

/* Most tokens a date layout may compile to. */
#define TYPES_MAX_TOKENS 48

/* One element of a compiled date layout. */
typedef struct types_token {
  uint8_t kind;  /* what it matches (a private enum of types.c) */
  uint8_t width; /* digits for fixed-width numbers and fractions */
  char lit;      /* the byte a literal token matches */
} types_token_t;

typedef struct types_type {
  types_kind_t kind;                      /* the type */
  types_token_t tokens[TYPES_MAX_TOKENS]; /* date layout, for TYPES_DATE */
  size_t n_tokens;                        /* tokens used */
  bool java; /* a date_ms() layout: Java's rules where Go's differ */
} types_type_t;

/* Parses a type written as "NAME(ARG)" (spec[0..len)). Returns false and
 * fills error (LOADER_ERROR_USAGE) naming what is wrong: an unknown type,
 * a bad layout, a missing argument. */
bool types_parse(const char *spec, size_t len, types_type_t *type,
                 bson_error_t *error);

/* Looks for a type suffix ".NAME(ARG)" at the end of a header name. On
 * success stores the length of the name without it in *base_len and the
 * suffix (without the dot) in *spec and *spec_len, and returns true. */
bool types_split_suffix(const char *name, size_t len, size_t *base_len,
                        const char **spec, size_t *spec_len);

/* A reusable buffer for decoded binary values. */
typedef struct types_scratch {
  uint8_t *buf; /* decoded bytes */
  size_t cap;   /* allocated size */
} types_scratch_t;

/* Appends text (text[0..len), len > 0, valid UTF-8) as type to doc under
 * key. Returns false with a reason in why (cap bytes) when the text does not
 * fit the type; doc is unchanged then. Sets *too_large (and returns false)
 * when doc cannot grow. */
bool types_append(bson_t *doc, const char *key, int key_len,
                  const types_type_t *type, const char *text, size_t len,
                  types_scratch_t *scratch, char *why, size_t cap,
                  bool *too_large);

/* Appends text with an inferred type: canonical integers as int32 (int64
 * when they don't fit; text beyond int64), decimals and exponents as double,
 * true/false as bool, anything else as a string. A leading zero or '+'
 * keeps a value a string. Returns false only when doc cannot grow. */
bool types_append_inferred(bson_t *doc, const char *key, int key_len,
                           const char *text, size_t len);

/* What an untyped value is inferred to be. */
typedef enum types_inferred {
  TYPES_INFERRED_STRING, /* the text */
  TYPES_INFERRED_INT32,  /* *i, fits 32 bits */
  TYPES_INFERRED_INT64,  /* *i */
  TYPES_INFERRED_DOUBLE, /* *d */
  TYPES_INFERRED_BOOL,   /* *i: 1 true, 0 false */
} types_inferred_t;

/* Classifies text (len > 0) by the inference rules of
 * types_append_inferred() and stores the number in *i or *d. */
types_inferred_t types_infer(const char *s, size_t len, int64_t *i, double *d);

/* Returns true when text starting with byte c is a string for
 * types_infer() whatever follows: only '-', a digit, 't' and 'f' can begin
 * a number or a boolean. A check without a call, for the common case. */
static inline bool types_infer_is_text(unsigned char c)
{
  return (c < '0' || c > '9') && c != '-' && c != 't' && c != 'f';
}

/* Classifies text as mongoimport does an untyped CSV/TSV value: Go's
 * strconv.ParseInt (an optional sign, decimal digits: "+5", "007" and "-0"
 * are integers) as int32 when it fits, else int64; then Go's
 * strconv.ParseFloat ("1.0", "1e3", ".5", "NaN", "Infinity", "1_000",
 * "0x1p4", numbers beyond int64) as double unless it overflows; anything
 * else is a string ("true" too). Never TYPES_INFERRED_BOOL. */
types_inferred_t types_infer_mongoimport(const char *s, size_t len, int64_t *i,
                                         double *d);

/* Go's strconv.ParseInt(s, 10, 64): true with the value in *out when
 * s[0..len) is an optional sign and decimal digits within int64. */
bool types_go_int(const char *s, size_t len, int64_t *out);

/* Go's strconv.ParseFloat(s, 64): true with the value in *out when
 * s[0..len) is a Go float (decimal or 0x hex with a p exponent, '_'
 * between digits, inf/infinity/nan in any case) that does not overflow. */
bool types_go_float(const char *s, size_t len, double *out);

/* Parses text in a compiled date layout into milliseconds since the Unix
 * epoch (UTC). Returns false when the text does not match. */
bool types_parse_date(const types_type_t *type, const char *text, size_t len,
                      int64_t *ms);

#endif
