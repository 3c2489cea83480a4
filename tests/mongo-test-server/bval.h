/* BSON values the way MongoDB sees them: canonical type order, numeric
 * equality across int32, int64, double and decimal128 (1 == 1L == 1.0),
 * a hash consistent with that equality, dotted-path lookup, mongod-style
 * formatting for error messages, and a validator that bounds nesting depth
 * so every recursive walk in the server is safe on hostile input. */
#ifndef MTS_BVAL_H
#define MTS_BVAL_H

#include <bson/bson.h>

#include <stdbool.h>
#include <stdint.h>

/* Deepest document nesting accepted anywhere (mongod's BSONDepth limit). */
#define BVAL_MAX_DEPTH 200

/* Returns the rank of a BSON type in MongoDB's sort order: types in the same
 * bracket (all numbers; string and symbol; null and undefined) share it. */
int bval_canonical_type(bson_type_t type);

/* Compares two values in MongoDB's order: by canonical type, then by value.
 * Returns <0, 0 or >0. Numbers compare by numeric value across types. */
int bval_compare(const bson_value_t *a, const bson_value_t *b);

/* Compares two whole documents (or arrays, with names ignored when
 * compare_names is false) element by element, as mongod's woCompare. */
int bval_compare_docs(const uint8_t *a, uint32_t alen, const uint8_t *b,
                      uint32_t blen, bool compare_names);

/* Returns a hash of a value such that bval_compare(a, b) == 0 implies equal
 * hashes. seed chains several values into one hash. */
uint64_t bval_hash(const bson_value_t *value, uint64_t seed);

/* Finds the value at a dotted path ("a.b.c") in doc, descending through
 * embedded documents and, for numeric parts, array positions. Returns false
 * when absent. out points into doc's memory. */
bool bval_get_path(const bson_t *doc, const char *path, bson_value_t *out);

/* Appends value to str as mongod prints it in messages ({ _id: 1 },
 * "text", ObjectId('...')). */
void bval_format(bson_string_t *str, const bson_value_t *value);

/* Appends the document as mongod prints it: "{ a: 1, b: \"x\" }". */
void bval_format_doc(bson_string_t *str, const uint8_t *data, uint32_t len);

/* Checks that len bytes at data hold exactly one well-formed BSON document:
 * consistent lengths, terminated strings and names, known element types and
 * nesting no deeper than BVAL_MAX_DEPTH. Iterative, so hostile input can't
 * exhaust the stack. Fills error (code 22 InvalidBSON) and returns false
 * otherwise. */
bool bval_validate(const uint8_t *data, size_t len, bson_error_t *error);

/* Reads a number of any numeric type as a double; false when not numeric. */
bool bval_as_double(const bson_value_t *value, double *out);

/* Reads an integral value (int32, int64, or a double/decimal holding an
 * integer) as int64; false otherwise. */
bool bval_as_int64(const bson_value_t *value, int64_t *out);

/* True for the numeric types: int32, int64, double, decimal128. */
bool bval_is_number(bson_type_t type);

/* Truthiness as MongoDB's $project / options read it: false, null, 0 and
 * missing are false, everything else is true. */
bool bval_truthy(const bson_value_t *value);

#endif
