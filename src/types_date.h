/* types_date: date layouts compiled into tokens (private to the types
 * module).
 *
 * date() and date_go() take Go's reference-time layout, as mongoimport does
 * ("2006-01-02T15:04:05Z07:00"); date_ms() takes a Java SimpleDateFormat
 * pattern ("yyyy-MM-dd'T'HH:mm:ss.SSSZ"). Both compile to the same tokens,
 * and one matcher, types_parse_date() (declared in loader/types.h), parses
 * values against them. */
#ifndef LOADER_TYPES_DATE_H
#define LOADER_TYPES_DATE_H

#include "loader/types.h"

/* Compiles layout[0..len) (len > 0) into type's tokens: a Java pattern when
 * java, else a Go layout. Returns false and fills error (LOADER_ERROR_USAGE)
 * when the layout is too long, has an unterminated quote or an unsupported
 * pattern letter (Java). */
bool types_date_compile(types_type_t *type, bool java, const char *layout,
                        size_t len, bson_error_t *error);

#endif
