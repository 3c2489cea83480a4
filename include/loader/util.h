/* Small helpers shared by several modules. */
#ifndef LOADER_UTIL_H
#define LOADER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns a monotonic clock reading in seconds. */
double util_now(void);

/* The loader's one hash: 64-bit FNV-1a of len bytes at data, continuing
 * from h (UTIL_HASH64_SEED to start). Not cryptographic: it tells files,
 * plans and keys apart. */
#define UTIL_HASH64_SEED 14695981039346656037u
uint64_t util_hash64(const void *data, size_t len, uint64_t h);

/* Decodes the two hex digits at s (0-9, a-f, A-F: "7f") into *byte, for
 * binary(hex) values and %XX escapes. Returns false, leaving *byte alone,
 * when either is not a hex digit; s[1] is not read when s[0] is not one. */
bool util_hex_pair(const char *s, uint8_t *byte);

/* Returns true when s[0..len) is UTF-8 the loader stores as a string: what
 * libbson's bson_utf8_validate(s, len, true) accepts (NUL bytes are data;
 * no surrogates), less any C0 or C1 byte, so that the
 * overlong C0 80 of "modified UTF-8" is refused. ASCII goes eight bytes at
 * a time. test_util checks it against libbson on every sequence of up to
 * three bytes and on random longer ones. */
bool util_utf8_valid(const char *s, size_t len);

/* Returns a copy of uri safe to print, whatever it looks like (it need not
 * parse): the password replaced by "***", the user name kept
 * ("mongodb://alice:***@host/db"), and so the values of options whose name
 * holds "pass", "pwd", "token", "secret" or "credential", and of the
 * secret properties of authMechanismProperties (AWS_SESSION_TOKEN), each
 * up to the end of the string. A password may hold unescaped '/', '?',
 * '#', '@' or ':': the credentials run from "://" (or the start of uri,
 * when it has none) to the last '@' of the string. Never returns NULL; the
 * caller frees the result with free(). */
char *util_redact_uri(const char *uri);

/* Overwrites with '*', in place, what util_redact_uri() would hide in uri
 * (a copy of argv's URI is already taken: this keeps the password out of
 * /proc/PID/cmdline and ps while the load runs). */
void util_scrub_uri(char *uri);

/* Returns a copy of message (an error from a driver or a server about uri)
 * without what util_redact_uri() hides in uri, nor any fragment of it a
 * driver may have cut out of the URI: "***" replaces each secret, raw and
 * percent-decoded, and each piece of one (between the characters URIs are
 * split at) of four characters or more, wherever they occur; each word of
 * two characters or more found inside a secret, and each one-character
 * word that is a whole piece; and each quoted run ("...", '...', `...`)
 * holding a piece or sharing four characters with a secret. Over-redacts
 * short words when the password holds unescaped delimiters. Never returns
 * NULL; the caller frees the result with free(). */
char *util_redact_message(const char *message, const char *uri);

/* Returns true when uri names a user and no password, not even an empty one
 * ("scheme://user@host..."), as --password-file requires; the '@' must come
 * before the first '/', '?' or '#' after "://". */
bool util_uri_names_user_only(const char *uri);

/* Returns the file name of path without directories and without its last
 * extension ("data/customers.csv" -> "customers"; "a.csv.gz" -> "a"), newly
 * allocated; the caller frees it. */
char *util_collection_from_path(const char *path);

/* Writes n with thousands separators ("1,234,567") into buf of size cap and
 * returns buf. */
char *util_group_thousands(uint64_t n, char *buf, size_t cap);

#endif
