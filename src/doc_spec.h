/* doc_spec: the compiled header behind doc_builder, private to the
 * doc_builder module (doc_spec.c compiles it, doc_builder.c walks it).
 *
 * docb_spec_new() compiles the header into a tree: one node per distinct
 * path segment, leaves pointing at their column. "address.city" and
 * "address.zip" share the inner node "address" wherever their columns
 * stand, so the document nests them together. */
#ifndef LOADER_DOC_SPEC_H
#define LOADER_DOC_SPEC_H

#include "loader/doc_builder.h"

#include <stdint.h>

#define DOCB_NONE SIZE_MAX
/* Most parts a dotted column name may have: MongoDB nests documents and
 * arrays at most 100 levels deep. */
#define DOCB_MAX_DEPTH 100

/* One node of the field tree. */
typedef struct docb_node {
  const char *key;     /* path segment (points into spec->names) */
  size_t key_len;      /* its length */
  size_t column;       /* 0-based column of a leaf, DOCB_NONE for an inner
                          node */
  size_t first_child;  /* index of the first child, or DOCB_NONE */
  size_t last_child;   /* index of the last child, or DOCB_NONE */
  size_t next_sibling; /* index of the next sibling, or DOCB_NONE */
  bool array;          /* an inner node whose children are array indexes
                          0, 1, ... (--array-index-fields) */
} docb_node_t;

struct doc_spec {
  doc_options_t options; /* how values become BSON */
  size_t n_columns;      /* columns in the header */
  char *names;           /* the header names, NUL-separated (owned) */
  size_t *name_at;       /* offset of each column's name in names */
  docb_node_t *nodes;    /* the tree; nodes[0] is the root */
  size_t n_nodes;        /* nodes used */
  bool has_id;           /* a top-level "_id" column exists */
  types_type_t *types;   /* each column's type */
  types_type_t auto_mi;  /* auto() by mongoimport's rules: what
                            --parse-grace as-string stores with --infer-as
                            mongoimport */
  size_t *id_columns;    /* columns making up _id (--id-from FIELDS) */
  size_t n_id_columns;   /* how many */
  field_t *nulls;        /* the --null-values texts (into null_text) */
  size_t n_nulls;        /* how many */
  char *null_text;       /* their bytes, NUL-separated (owned) */
};

/* Returns column's name (its ".TYPE(ARG)" suffix removed). */
static inline const char *docb__name(const doc_spec_t *spec, size_t column)
{
  return spec->names + spec->name_at[column];
}

#endif
