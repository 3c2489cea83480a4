/* Small helpers shared by several modules. */
#ifndef LOADER_UTIL_H
#define LOADER_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Returns a monotonic clock reading in seconds. */
double util_now(void);

/* The loader's one hash: 64-bit FNV-1a of len bytes at data, continuing
 * from h (UTIL_HASH64_SEED to start). Not cryptographic: it tells files,
 * plans and keys apart. */
#define UTIL_HASH64_SEED 14695981039346656037u
uint64_t util_hash64(const void *data, size_t len, uint64_t h);

/* Returns a copy of uri with any password replaced by "***", for printing.
 * Never returns NULL; the caller frees the result with free(). */
char *util_redact_uri(const char *uri);

/* Returns uri with password, percent-encoded, set as its user's password
 * ("scheme://user@host" -> "scheme://user:PASSWORD@host"), newly
 * allocated. Returns NULL when uri names no user, or has a password
 * already. */
char *util_uri_with_password(const char *uri, const char *password);

/* Returns the file name of path without directories and without its last
 * extension ("data/customers.csv" -> "customers"; "a.csv.gz" -> "a"), newly
 * allocated; the caller frees it. */
char *util_collection_from_path(const char *path);

/* Writes n with thousands separators ("1,234,567") into buf of size cap and
 * returns buf. */
char *util_group_thousands(uint64_t n, char *buf, size_t cap);

#endif
