/* What a CSV file holds, read independently of the loader (plain libcsv,
 * RFC 4180, nothing trimmed), so integration tests can compare what landed
 * with the input field by field. For small test files: it reads the whole
 * file into memory. */
#ifndef LOADER_TEST_CSV_EXPECT_H
#define LOADER_TEST_CSV_EXPECT_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct csvx_row {
  char **fields; /* NUL-terminated field texts */
  size_t n;      /* how many */
} csvx_row_t;

typedef struct csvx_table {
  csvx_row_t header; /* the first record */
  csvx_row_t *rows;  /* the data records */
  size_t n_rows;     /* how many */
} csvx_table_t;

/* Reads path into *t. Returns false (and prints why) when it cannot. */
bool csvx_load(const char *path, csvx_table_t *t);

/* Frees what csvx_load() allocated. */
void csvx_free(csvx_table_t *t);

/* Returns the index of column name in the header, or -1. */
int csvx_column(const csvx_table_t *t, const char *name);

/* Returns the type the loader's inference gives text (README, "Types"):
 * BSON_TYPE_BOOL, _INT32, _INT64, _DOUBLE or _UTF8. Written independently
 * of the loader's types.c. */
bson_type_t csvx_inferred_type(const char *text);

/* Returns true when the BSON value at it is exactly what inference makes
 * of text: of csvx_inferred_type(text), and equal to it (a string equal to
 * text, an integer whose decimal form is text, a double equal to
 * strtod(text), a bool equal to "true"/"false"). A build that stored every
 * value as a string fails it. On a mismatch, writes why into why (cap
 * bytes). */
bool csvx_value_matches(const bson_iter_t *it, const char *text, char *why,
                        size_t cap);

/* Returns true when the value at it, whatever its type, renders as text
 * (the comparison of csvx_value_matches() without the type check). */
bool csvx_value_equals(const bson_iter_t *it, const char *text, char *why,
                       size_t cap);

/* Compares every document of coll with t: each document is matched to its
 * row by the value of key_column, has exactly the header's fields plus _id,
 * and every field matches its text (csvx_value_matches). Returns the
 * number of documents compared, or -1 after printing the first mismatch. */
struct _mongoc_collection_t;
long csvx_compare_collection(struct _mongoc_collection_t *coll,
                             const csvx_table_t *t, const char *key_column);

/* The same, for loads that keep every value a string (--no-infer, JSON
 * whose values are strings): every field must be its text, as a string. */
long csvx_compare_collection_strings(struct _mongoc_collection_t *coll,
                                     const csvx_table_t *t,
                                     const char *key_column);

#endif
