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

#include "loader/batch.h"
#include "loader/record.h"
#include "loader/types.h"

/* What a value that does not fit its declared type does (--parse-grace). */
typedef enum docb_grace {
  DOCB_GRACE_STOP,       /* the job stops at it */
  DOCB_GRACE_SKIP_ROW,   /* its row is rejected (default) */
  DOCB_GRACE_SKIP_FIELD, /* the row loads without that field */
  DOCB_GRACE_AS_STRING,  /* the value loads as a string */
} docb_grace_t;

/* Where a document's _id comes from when the header has no _id column
 * (--id-from). */
typedef enum docb_id {
  DOCB_ID_OBJECTID, /* a new ObjectId per document (default) */
  DOCB_ID_LINE,     /* an ObjectId made of the file's identity and the
                       record's physical line: the same in every run */
  DOCB_ID_FIELDS,   /* the value of key columns (several: a document) */
} docb_id_t;

/* Whose rules type untyped and auto() values (--infer-as). */
typedef enum docb_infer_as {
  DOCB_INFER_LOADER,      /* the loader's: types_infer() (default) */
  DOCB_INFER_MONGOIMPORT, /* mongoimport's: types_infer_mongoimport() */
} docb_infer_as_t;

/* How values become BSON. */
typedef struct doc_options {
  bool infer;               /* infer int32/int64/double/bool from the text of
                               untyped columns (else: strings, exactly as in
                               the file) */
  bool ignore_blanks;       /* omit empty fields instead of storing "" */
  bool add_id;              /* give each document an _id when the header has
                               no _id column (--id-from none: don't) */
  docb_id_t id_from;        /* how that _id is made */
  const char *id_fields;    /* --id-from FIELD[,FIELD] (borrowed) */
  bool columns_have_types;  /* header names may end in ".TYPE(ARG)" */
  const char *types;        /* --types "name:TYPE(ARG),...", or NULL
                               (borrowed) */
  docb_grace_t grace;       /* what a value that doesn't fit its type does */
  const char *null_values;  /* --null-values "NULL,\\N,...": fields whose
                               text is exactly one of these are stored as
                               null, typed or not; NULL: none (borrowed) */
  docb_infer_as_t infer_as; /* whose rules infer untyped values; with
                               mongoimport's, --parse-grace as-string
                               stores a bad value as they type it */
  bool array_index_fields;  /* numeric name parts ("tags.0", "items.1.sku")
                               are array indexes (--array-index-fields) */
} doc_options_t;

/* The defaults: infer types, keep blanks as "", add _id, skip-row. */
void docb_options_default(doc_options_t *options);

/* Checks the syntax of a --types list ("name:TYPE(ARG),..."): returns false
 * and fills error (LOADER_ERROR_USAGE) naming the bad entry. */
bool docb_types_check(const char *types, bson_error_t *error);

typedef struct doc_spec doc_spec_t;

/* Compiles a header — the column names, with their ".TYPE(ARG)" suffix
 * removed when options->columns_have_types — into a spec: types from the
 * suffixes and options->types, and the tree of dotted names. Returns NULL
 * and fills error (LOADER_ERROR_INPUT) naming the offending columns when a
 * name is empty, repeated, or conflicts with a dotted path ("a" and "a.b"),
 * when a type is malformed, or when --types or --id-from names a column the
 * header lacks. With options->array_index_fields, a name part that is a
 * natural number without a leading zero (not the first part) is an array
 * index: an array's indexes must start at 0 and each new one must be the
 * next, in column order ("t.0,x,t.1" is fine, "t.1" or "t.0,t.2" is not),
 * and a path cannot be both an array and a document ("t.0,t.a"). */
doc_spec_t *docb_spec_new(const field_t *names, size_t n_names,
                          const doc_options_t *options, bson_error_t *error);

/* Makes the spec for JSON documents: no columns; only the options that
 * apply to whole documents (_id). Returns NULL when out of memory. */
doc_spec_t *docb_spec_new_json(const doc_options_t *options,
                               bson_error_t *error);

/* Returns the number of columns the header declared. */
size_t docb_spec_columns(const doc_spec_t *spec);

/* Frees the spec; NULL is a no-op. */
void docb_spec_destroy(doc_spec_t *spec);

/* Why a record could not become a document, or what was left out of it. */
typedef struct doc_reject {
  size_t column;    /* 1-based column, or 0 when not about one column */
  char reason[256]; /* what was wrong, for a person */
  bool stop;        /* --parse-grace stop: the job must stop here */
  size_t skipped;   /* --parse-grace skip-field: fields left out of a
                       document that was built (column and reason describe
                       the first) */
} doc_reject_t;

typedef struct docb docb_t;

/* Creates a builder for one worker: it owns its own bson_context_t, so
 * ObjectIds are generated without locks or getpid() calls. */
docb_t *docb_new(const doc_spec_t *spec);

/* Appends the document for record at the end of out (growing out->data
 * with realloc()): the batch's bytes, from batch_begin_bytes(), so that the
 * document is encoded where it will be sent from. An array holds the values
 * that are there, in column order: one left out (blank under --ignore-blanks,
 * bad under skip-field) leaves no hole, the next moves up. Under
 * --ignore-blanks a document or array left empty is left out too. Returns false
 * and fills why when the record is rejected (wrong field count, invalid UTF-8,
 * a value that doesn't fit its type under skip-row or stop, a document too
 * large); out->len is then past bytes of no use, and the caller takes them out
 * (batch_rollback()). Returns true with why->skipped > 0 when skip-field left
 * values out. */
bool docb_build_bytes(docb_t *builder, const record_t *record,
                      batch_bytes_t *out, doc_reject_t *why);

/* As docb_build_bytes(), appending the document to doc (an empty,
 * initialised bson_t; undefined when it returns false), for callers that
 * hold a bson_t: one more copy. */
bool docb_build(docb_t *builder, const record_t *record, bson_t *doc,
                doc_reject_t *why);

/* Appends the document for a parsed JSON object (of a spec made by
 * docb_spec_new_json) at the end of out, as docb_build_bytes() does: its
 * _id first when it has none and the
 * options ask for one (a new ObjectId, the line's, or the values of the
 * --id-from fields, looked up by dotted name), then its fields. Returns
 * false and fills why when an --id-from field is missing or the document
 * is too large (out->len then past bytes of no use). */
bool docb_build_json(docb_t *builder, const bson_t *parsed, uint64_t line,
                     batch_bytes_t *out, doc_reject_t *why);

/* Makes the --id-from line ObjectId of the record at line of the file
 * whose identity hashes to seed. */
void docb_line_oid(uint32_t seed, uint64_t line, bson_oid_t *oid);

/* Sets the file identity --id-from line mixes into each _id. */
void docb_set_id_seed(docb_t *builder, uint32_t seed);

/* Frees the builder; NULL is a no-op. */
void docb_destroy(docb_t *builder);

#endif
