/* doc_builder: a CSV header and column types turned into BSON documents.
 *
 * The header is compiled once per job into a doc_spec_t: field names
 * validated, dotted names ("address.city") arranged into a tree of nested
 * documents, a type per column. Building a document then walks that tree and
 * appends each value with its type; nothing is allocated per field or per
 * row. */
#ifndef LOADER_DOC_BUILDER_H
#define LOADER_DOC_BUILDER_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

#include "loader/csv_reader.h"

/* How values become BSON. */
typedef struct doc_options {
  bool infer;         /* infer int32/int64/double/bool from the text (else
                         every value is a string, exactly as in the file) */
  bool ignore_blanks; /* omit empty fields instead of storing "" */
  bool add_id;        /* generate an ObjectId _id client-side when the
                         header has no _id column */
} doc_options_t;

/* The defaults: infer types, keep blanks as "", add _id. */
void docb_options_default(doc_options_t *options);

typedef struct doc_spec doc_spec_t;

/* Compiles a header record into a spec. Returns NULL and fills error
 * (LOADER_ERROR_INPUT) naming the offending columns when a name is empty,
 * repeated, or conflicts with a dotted path ("a" and "a.b"). */
doc_spec_t *docb_spec_new(const csv_record_t *header,
                          const doc_options_t *options, bson_error_t *error);

/* Returns the number of columns the header declared. */
size_t docb_spec_columns(const doc_spec_t *spec);

/* Frees the spec; NULL is a no-op. */
void docb_spec_destroy(doc_spec_t *spec);

/* Why a record could not become a document. */
typedef struct doc_reject {
  size_t column;    /* 1-based column, or 0 when not about one column */
  char reason[256]; /* what was wrong, for a person */
} doc_reject_t;

typedef struct docb docb_t;

/* Creates a builder for one worker: it owns its own bson_context_t, so
 * ObjectIds are generated without locks or getpid() calls. */
docb_t *docb_new(const doc_spec_t *spec);

/* Appends the document for record to doc (an empty, initialised bson_t).
 * Returns false and fills why when the record is rejected (wrong field
 * count, invalid UTF-8, a value that doesn't fit its type); doc is then in an
 * undefined state and the caller discards it. */
bool docb_build(docb_t *builder, const csv_record_t *record, bson_t *doc,
                doc_reject_t *why);

/* Frees the builder; NULL is a no-op. */
void docb_destroy(docb_t *builder);

#endif
