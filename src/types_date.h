/* types_date: date layouts compiled into tokens (types_layout.c) and
 * values parsed against them (types_date.c); private to the types module.
 *
 * date() and date_go() take Go's reference-time layout, as mongoimport does
 * ("2006-01-02T15:04:05Z07:00"); date_ms() takes a Java SimpleDateFormat
 * pattern ("yyyy-MM-dd'T'HH:mm:ss.SSSZ"). Both compile to the same tokens,
 * and one matcher, types_parse_date() (declared in loader/types.h), parses
 * values against them. */
#ifndef LOADER_TYPES_DATE_H
#define LOADER_TYPES_DATE_H

#include "loader/types.h"

/* What a layout token matches. */
enum types_token_kind {
  TK_LIT,       /* one literal byte */
  TK_YEAR4,     /* 2006 / yyyy */
  TK_YEAR2,     /* 06 / yy: 1969-2068 as Go does */
  TK_MONTH,     /* 1 or 01 / M or MM (width 2: exactly two digits) */
  TK_MON_ABBR,  /* Jan / MMM */
  TK_MON_FULL,  /* January / MMMM (Java: the short name too) */
  TK_DAY,       /* 2, 02, _2 / d, dd */
  TK_WDAY_ABBR, /* Mon / EEE (checked for form only) */
  TK_WDAY_FULL, /* Monday / EEEE (Java: the short name too) */
  TK_HOUR24,    /* 15 (one or two digits, as Go) / HH, H */
  TK_HOUR12,    /* 3, 03 / h, hh */
  TK_MIN,       /* 4, 04 / m, mm */
  TK_SEC,       /* 5, 05 / s, ss */
  TK_FRAC,      /* .000 / .999 (Go: the dot included) */
  TK_MILLIS,    /* SSS (Java: digits only) */
  TK_AMPM,      /* PM, pm (lit: that case only) / a (lit 0: any case) */
  TK_TZ,        /* -07, -0700, -07:00, -070000, -07:00:00 (width: 2, 4,
                   5, 6 or 8) / Z */
  TK_TZ_Z,      /* Z07, Z0700, Z07:00... / X, XX, XXX: "Z" or an offset */
  TK_TZ_NAME,   /* MST / z: a zone name, taken as UTC */
};

/* Compiles layout[0..len) (len > 0) into type's tokens: a Java pattern when
 * java, else a Go layout. Returns false and fills error (LOADER_ERROR_USAGE)
 * when the layout is too long, has an unterminated quote or an unsupported
 * pattern letter (Java). */
bool types_date_compile(types_type_t *type, bool java, const char *layout,
                        size_t len, bson_error_t *error);

#endif
