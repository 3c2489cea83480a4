/* Compiled query filters. See match.h.
 *
 * A filter compiles to a tree: $and/$or/$nor/$not nodes over leaves that each
 * test one path with one positive operator. Negative operators ($ne, $nin)
 * compile to NOT over their positive twin, because MongoDB negates the whole
 * path test: {a: {$ne: 1}} excludes a document when any element of a is 1. */
#include "match.h"

#include "bval.h"
#include "errors.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* What a node does. */
typedef enum {
  NODE_AND, /* all children match */
  NODE_OR,  /* at least one child matches */
  NODE_NOR, /* no child matches */
  NODE_NOT, /* its one child does not match */
  NODE_LEAF /* one operator tested at one path */
} node_kind_t;

/* The positive operators a leaf can test. */
typedef enum {
  OP_EQ,
  OP_GT,
  OP_GTE,
  OP_LT,
  OP_LTE,
  OP_IN,
  OP_EXISTS,
  OP_REGEX,
  OP_SIZE,
  OP_TYPE,
  OP_ALL
} op_t;

typedef struct node node_t;

/* One node of the compiled filter. */
struct node {
  node_kind_t kind;   /* and/or/nor/not or a leaf */
  op_t op;            /* leaf: operator */
  const char *path;   /* leaf: dotted path, points into the filter copy */
  bson_value_t value; /* leaf: operand, points into the filter copy */
  regex_t *re;        /* leaf OP_REGEX (or OP_EQ with a regex): compiled */
  node_t **kids;      /* and/or/nor/not: children */
  size_t nkids;       /* number of children */
};

struct matcher {
  bson_t *filter; /* owned copy of the filter; leaves point into it */
  node_t *root;   /* an AND node over the filter's fields */
};

/* Allocates a node of kind with no children. */
static node_t *node_new(node_kind_t kind)
{
  node_t *n = calloc(1, sizeof *n);
  if (n)
    n->kind = kind;
  return n;
}

/* Frees a node and its subtree. */
static void node_free(node_t *n)
{
  if (!n)
    return;
  for (size_t i = 0; i < n->nkids; i++)
    node_free(n->kids[i]);
  free(n->kids);
  if (n->re) {
    regfree(n->re);
    free(n->re);
  }
  free(n);
}

/* Appends kid to parent's children; frees kid and returns false on OOM. */
static bool node_add(node_t *parent, node_t *kid)
{
  node_t **k = realloc(parent->kids, (parent->nkids + 1) * sizeof *k);
  if (!k) {
    node_free(kid);
    return false;
  }
  parent->kids = k;
  parent->kids[parent->nkids++] = kid;
  return true;
}

/* Compiles a regex with MongoDB options (i, m, x, s) into POSIX ERE.
 * Returns NULL and fills error when the pattern is invalid. */
static regex_t *compile_regex(const char *pattern, const char *options,
                              bson_error_t *error)
{
  int flags = REG_EXTENDED | REG_NOSUB;
  for (const char *o = options; o && *o; o++) {
    if (*o == 'i')
      flags |= REG_ICASE;
    else if (*o == 'm')
      flags |= REG_NEWLINE;
  }
  regex_t *re = malloc(sizeof *re);
  if (!re || regcomp(re, pattern, flags) != 0) {
    free(re);
    bson_set_error(error, MTS_ERR_DOMAIN, 51091,
                   "Regular expression is invalid: %s", pattern);
    return NULL;
  }
  return re;
}

/* Makes a leaf for path with op and operand, compiling regexes. */
static node_t *leaf_new(const char *path, op_t op, const bson_value_t *value,
                        bson_error_t *error)
{
  node_t *n = node_new(NODE_LEAF);
  if (!n) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return NULL;
  }
  n->path = path;
  n->op = op;
  n->value = *value;
  if (value->value_type == BSON_TYPE_REGEX && (op == OP_EQ || op == OP_REGEX)) {
    n->op = OP_REGEX;
    n->re = compile_regex(value->value.v_regex.regex,
                          value->value.v_regex.options, error);
    if (!n->re) {
      node_free(n);
      return NULL;
    }
  }
  return n;
}

/* Wraps child in a NOT node. */
static node_t *not_new(node_t *child, bson_error_t *error)
{
  if (!child)
    return NULL;
  node_t *n = node_new(NODE_NOT);
  if (!n || !node_add(n, child)) {
    free(n);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return NULL;
  }
  return n;
}

static node_t *parse_filter(const uint8_t *data, uint32_t len, int depth,
                            bson_error_t *error);

/* True when a document value's first key starts with '$': an operator
 * document like {$gt: 1} rather than an embedded document to equal. */
static bool is_operator_doc(const bson_value_t *v)
{
  bson_iter_t it;
  if (v->value_type != BSON_TYPE_DOCUMENT)
    return false;
  if (!bson_iter_init_from_data(&it, v->value.v_doc.data,
                                v->value.v_doc.data_len) ||
      !bson_iter_next(&it))
    return false;
  return bson_iter_key(&it)[0] == '$';
}

/* Parses {$op: v, ...} for path into an AND of leaves. */
static node_t *parse_ops(const char *path, const bson_value_t *ops, int depth,
                         bson_error_t *error)
{
  bson_iter_t it;
  node_t *and = node_new(NODE_AND);
  const char *regex_options = "";
  if (!and)
    goto oom;
  if (!bson_iter_init_from_data(&it, ops->value.v_doc.data,
                                ops->value.v_doc.data_len))
    goto bad;
  /* $options may come before or after $regex: find it first. */
  bson_iter_t oi = it;
  if (bson_iter_find(&oi, "$options") && BSON_ITER_HOLDS_UTF8(&oi))
    regex_options = bson_iter_utf8(&oi, NULL);
  while (bson_iter_next(&it)) {
    const char *op = bson_iter_key(&it);
    const bson_value_t *v = bson_iter_value(&it);
    node_t *kid = NULL;
    bool is_array = v->value_type == BSON_TYPE_ARRAY;
    if (!strcmp(op, "$eq")) {
      kid = leaf_new(path, OP_EQ, v, error);
    } else if (!strcmp(op, "$ne")) {
      kid = not_new(leaf_new(path, OP_EQ, v, error), error);
    } else if (!strcmp(op, "$gt")) {
      kid = leaf_new(path, OP_GT, v, error);
    } else if (!strcmp(op, "$gte")) {
      kid = leaf_new(path, OP_GTE, v, error);
    } else if (!strcmp(op, "$lt")) {
      kid = leaf_new(path, OP_LT, v, error);
    } else if (!strcmp(op, "$lte")) {
      kid = leaf_new(path, OP_LTE, v, error);
    } else if (!strcmp(op, "$in") || !strcmp(op, "$nin") ||
               !strcmp(op, "$all")) {
      if (!is_array) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                       "%s needs an array", op);
        goto fail;
      }
      kid = leaf_new(path, op[1] == 'a' ? OP_ALL : OP_IN, v, error);
      if (kid && op[1] == 'n')
        kid = not_new(kid, error);
    } else if (!strcmp(op, "$exists")) {
      kid = leaf_new(path, OP_EXISTS, v, error);
    } else if (!strcmp(op, "$regex")) {
      if (v->value_type == BSON_TYPE_REGEX) {
        kid = leaf_new(path, OP_REGEX, v, error);
      } else if (v->value_type == BSON_TYPE_UTF8) {
        bson_value_t rv = {.value_type = BSON_TYPE_REGEX};
        rv.value.v_regex.regex = (char *)v->value.v_utf8.str;
        rv.value.v_regex.options = (char *)regex_options;
        kid = leaf_new(path, OP_REGEX, &rv, error);
      } else {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                       "$regex has to be a string");
        goto fail;
      }
    } else if (!strcmp(op, "$options")) {
      continue;
    } else if (!strcmp(op, "$size")) {
      kid = leaf_new(path, OP_SIZE, v, error);
    } else if (!strcmp(op, "$type")) {
      kid = leaf_new(path, OP_TYPE, v, error);
    } else if (!strcmp(op, "$not")) {
      if (v->value_type == BSON_TYPE_REGEX)
        kid = not_new(leaf_new(path, OP_REGEX, v, error), error);
      else if (is_operator_doc(v) && depth < BVAL_MAX_DEPTH)
        kid = not_new(parse_ops(path, v, depth + 1, error), error);
      else {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                       "$not needs a regex or a document");
        goto fail;
      }
    } else {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                     "unknown operator: %s", op);
      goto fail;
    }
    if (!kid)
      goto fail;
    if (!node_add(and, kid))
      goto oom;
  }
  return and;
bad:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE, "invalid operator");
  goto fail;
oom:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
fail:
  node_free(and);
  return NULL;
}

/* Parses an array of filters for $and/$or/$nor into a node of kind. */
static node_t *parse_logical(node_kind_t kind, const char *name,
                             const bson_value_t *v, int depth,
                             bson_error_t *error)
{
  bson_iter_t it;
  node_t *n = NULL;
  if (v->value_type != BSON_TYPE_ARRAY ||
      !bson_iter_init_from_data(&it, v->value.v_doc.data,
                                v->value.v_doc.data_len))
    goto bad;
  n = node_new(kind);
  if (!n)
    goto bad;
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it))
      goto bad;
    const bson_value_t *e = bson_iter_value(&it);
    node_t *kid = parse_filter(e->value.v_doc.data, e->value.v_doc.data_len,
                               depth + 1, error);
    if (!kid)
      goto fail;
    if (!node_add(n, kid))
      goto bad;
  }
  if (n->nkids == 0)
    goto bad;
  return n;
bad:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                 "%s must be a nonempty array", name);
fail:
  node_free(n);
  return NULL;
}

/* Parses one filter document into an AND node over its fields. */
static node_t *parse_filter(const uint8_t *data, uint32_t len, int depth,
                            bson_error_t *error)
{
  bson_iter_t it;
  node_t *and = node_new(NODE_AND);
  if (!and) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return NULL;
  }
  if (depth > BVAL_MAX_DEPTH || !bson_iter_init_from_data(&it, data, len)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE, "invalid filter");
    goto fail;
  }
  while (bson_iter_next(&it)) {
    const char *key = bson_iter_key(&it);
    const bson_value_t *v = bson_iter_value(&it);
    node_t *kid;
    if (key[0] == '$') {
      if (!strcmp(key, "$and"))
        kid = parse_logical(NODE_AND, key, v, depth, error);
      else if (!strcmp(key, "$or"))
        kid = parse_logical(NODE_OR, key, v, depth, error);
      else if (!strcmp(key, "$nor"))
        kid = parse_logical(NODE_NOR, key, v, depth, error);
      else if (!strcmp(key, "$comment"))
        continue;
      else {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                       "unknown top level operator: %s", key);
        goto fail;
      }
    } else if (is_operator_doc(v)) {
      kid = parse_ops(key, v, depth, error);
    } else {
      kid = leaf_new(key, OP_EQ, v, error);
    }
    if (!kid)
      goto fail;
    if (!node_add(and, kid)) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
      goto fail;
    }
  }
  return and;
fail:
  node_free(and);
  return NULL;
}

matcher_t *matcher_new(const bson_t *filter, bson_error_t *error)
{
  matcher_t *m = calloc(1, sizeof *m);
  if (!m) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return NULL;
  }
  m->filter = filter ? bson_copy(filter) : bson_new();
  m->root = parse_filter(bson_get_data(m->filter), m->filter->len, 0, error);
  if (!m->root) {
    matcher_destroy(m);
    return NULL;
  }
  return m;
}

void matcher_destroy(matcher_t *m)
{
  if (!m)
    return;
  node_free(m->root);
  bson_destroy(m->filter);
  free(m);
}

bool matcher_is_empty(const matcher_t *m)
{
  return m->root->nkids == 0;
}

/* Matches $type's operand (a number or an alias) against a value's type. */
static bool type_matches(const bson_value_t *want, bson_type_t have)
{
  if (want->value_type == BSON_TYPE_ARRAY) {
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, want->value.v_doc.data,
                                  want->value.v_doc.data_len))
      return false;
    while (bson_iter_next(&it))
      if (type_matches(bson_iter_value(&it), have))
        return true;
    return false;
  }
  int64_t code;
  if (bval_as_int64(want, &code))
    return code == (int64_t)have || (code == -1 && have == BSON_TYPE_MINKEY);
  if (want->value_type != BSON_TYPE_UTF8)
    return false;
  /* Aliases mongod accepts for $type. */
  static const struct {
    const char *alias; /* the name */
    bson_type_t type;  /* the type it stands for */
  } aliases[] = {
      {"double", BSON_TYPE_DOUBLE},   {"string", BSON_TYPE_UTF8},
      {"object", BSON_TYPE_DOCUMENT}, {"array", BSON_TYPE_ARRAY},
      {"binData", BSON_TYPE_BINARY},  {"objectId", BSON_TYPE_OID},
      {"bool", BSON_TYPE_BOOL},       {"date", BSON_TYPE_DATE_TIME},
      {"null", BSON_TYPE_NULL},       {"regex", BSON_TYPE_REGEX},
      {"int", BSON_TYPE_INT32},       {"timestamp", BSON_TYPE_TIMESTAMP},
      {"long", BSON_TYPE_INT64},      {"decimal", BSON_TYPE_DECIMAL128},
      {"minKey", BSON_TYPE_MINKEY},   {"maxKey", BSON_TYPE_MAXKEY},
  };
  const char *s = want->value.v_utf8.str;
  if (!strcmp(s, "number"))
    return bval_is_number(have);
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (!strcmp(s, aliases[i].alias))
      return aliases[i].type == have;
  return false;
}

/* True when a string value matches the leaf's compiled regex. */
static bool regex_matches(const node_t *n, const bson_value_t *v)
{
  if (v->value_type == BSON_TYPE_REGEX)
    return bval_compare(v, &n->value) == 0;
  if (v->value_type != BSON_TYPE_UTF8 || !n->re)
    return false;
  /* POSIX regexec needs a NUL-terminated string; BSON strings are. */
  return regexec(n->re, v->value.v_utf8.str, 0, NULL, 0) == 0;
}

/* Tests a positive operator against one value (no array descent). */
static bool test_one(const node_t *n, const bson_value_t *v)
{
  int c;
  switch (n->op) {
  case OP_EQ:
    return bval_compare(v, &n->value) == 0;
  case OP_GT:
  case OP_GTE:
  case OP_LT:
  case OP_LTE:
    if (bval_canonical_type(v->value_type) !=
        bval_canonical_type(n->value.value_type))
      return false;
    c = bval_compare(v, &n->value);
    return n->op == OP_GT    ? c > 0
           : n->op == OP_GTE ? c >= 0
           : n->op == OP_LT  ? c < 0
                             : c <= 0;
  case OP_IN: {
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, n->value.value.v_doc.data,
                                  n->value.value.v_doc.data_len))
      return false;
    while (bson_iter_next(&it))
      if (bval_compare(v, bson_iter_value(&it)) == 0)
        return true;
    return false;
  }
  case OP_REGEX:
    return regex_matches(n, v);
  case OP_TYPE:
    return type_matches(&n->value, v->value_type);
  default:
    return false;
  }
}

/* True when every element of the $all operand equals v or one of v's
 * elements. */
static bool test_all(const node_t *n, const bson_value_t *v)
{
  bson_iter_t want, have;
  if (!bson_iter_init_from_data(&want, n->value.value.v_doc.data,
                                n->value.value.v_doc.data_len))
    return false;
  bool any = false;
  while (bson_iter_next(&want)) {
    any = true;
    const bson_value_t *w = bson_iter_value(&want);
    bool found = bval_compare(v, w) == 0;
    if (!found && v->value_type == BSON_TYPE_ARRAY &&
        bson_iter_init_from_data(&have, v->value.v_doc.data,
                                 v->value.v_doc.data_len))
      while (!found && bson_iter_next(&have))
        found = bval_compare(bson_iter_value(&have), w) == 0;
    if (!found)
      return false;
  }
  return any;
}

/* Tests a leaf against the value found at its path: the value itself and,
 * when it is an array, each of its elements. */
static bool test_value(const node_t *n, const bson_value_t *v)
{
  switch (n->op) {
  case OP_EXISTS:
    return bval_truthy(&n->value);
  case OP_SIZE: {
    int64_t want, count = 0;
    bson_iter_t it;
    if (v->value_type != BSON_TYPE_ARRAY || !bval_as_int64(&n->value, &want))
      return false;
    if (bson_iter_init_from_data(&it, v->value.v_doc.data,
                                 v->value.v_doc.data_len))
      while (bson_iter_next(&it))
        count++;
    return count == want;
  }
  case OP_ALL:
    return test_all(n, v);
  default:
    break;
  }
  if (test_one(n, v))
    return true;
  if (v->value_type == BSON_TYPE_ARRAY) {
    bson_iter_t it;
    if (bson_iter_init_from_data(&it, v->value.v_doc.data,
                                 v->value.v_doc.data_len))
      while (bson_iter_next(&it))
        if (test_one(n, bson_iter_value(&it)))
          return true;
  }
  return false;
}

/* Tests a leaf when its path is absent: only null-accepting tests pass. */
static bool test_missing(const node_t *n)
{
  bson_value_t null = {.value_type = BSON_TYPE_NULL};
  switch (n->op) {
  case OP_EXISTS:
    return !bval_truthy(&n->value);
  case OP_EQ:
  case OP_GTE:
  case OP_LTE:
  case OP_IN:
    return n->value.value_type == BSON_TYPE_NULL || n->op == OP_IN
               ? test_one(n, &null)
               : false;
  default:
    return false;
  }
}

/* Evaluates a leaf at the dotted path (remaining part: path) inside the
 * document at data, traversing arrays of documents as MongoDB does. */
static bool eval_path(const node_t *n, const uint8_t *data, uint32_t len,
                      const char *path)
{
  bson_iter_t it;
  const char *dot = strchr(path, '.');
  int plen = dot ? (int)(dot - path) : (int)strlen(path);
  if (!bson_iter_init_from_data(&it, data, len) ||
      !bson_iter_find_w_len(&it, path, plen))
    return test_missing(n);
  const bson_value_t *v = bson_iter_value(&it);
  if (!dot)
    return test_value(n, v);
  const char *rest = dot + 1;
  if (v->value_type == BSON_TYPE_DOCUMENT)
    return eval_path(n, v->value.v_doc.data, v->value.v_doc.data_len, rest);
  if (v->value_type != BSON_TYPE_ARRAY)
    return test_missing(n);
  /* "a.0.b" addresses an element; "a.b" looks into every element. */
  if (rest[0] >= '0' && rest[0] <= '9' &&
      eval_path(n, v->value.v_doc.data, v->value.v_doc.data_len, rest))
    return true;
  bson_iter_t ai;
  bool any_doc = false;
  if (bson_iter_init_from_data(&ai, v->value.v_doc.data,
                               v->value.v_doc.data_len))
    while (bson_iter_next(&ai)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&ai))
        continue;
      any_doc = true;
      const bson_value_t *e = bson_iter_value(&ai);
      if (eval_path(n, e->value.v_doc.data, e->value.v_doc.data_len, rest))
        return true;
    }
  return any_doc ? false : test_missing(n);
}

/* Evaluates a node against the document. */
static bool eval(const node_t *n, const uint8_t *data, uint32_t len)
{
  switch (n->kind) {
  case NODE_AND:
    for (size_t i = 0; i < n->nkids; i++)
      if (!eval(n->kids[i], data, len))
        return false;
    return true;
  case NODE_OR:
    for (size_t i = 0; i < n->nkids; i++)
      if (eval(n->kids[i], data, len))
        return true;
    return false;
  case NODE_NOR:
    for (size_t i = 0; i < n->nkids; i++)
      if (eval(n->kids[i], data, len))
        return false;
    return true;
  case NODE_NOT:
    return !eval(n->kids[0], data, len);
  case NODE_LEAF:
    return eval_path(n, data, len, n->path);
  }
  return false;
}

bool matcher_matches(const matcher_t *m, const uint8_t *data, uint32_t len)
{
  return eval(m->root, data, len);
}

/* True when a leaf is a plain equality usable for lookups and upserts. */
static bool is_plain_equality(const node_t *n)
{
  if (n->kind != NODE_LEAF || n->op != OP_EQ)
    return false;
  bson_type_t t = n->value.value_type;
  return t != BSON_TYPE_ARRAY && t != BSON_TYPE_REGEX &&
         !is_operator_doc(&n->value);
}

/* Walks AND nodes (the top level and nested $and / operator documents),
 * calling fn on each plain equality leaf. */
static void walk_equalities(const node_t *n,
                            void (*fn)(const node_t *leaf, void *ctx),
                            void *ctx)
{
  if (n->kind == NODE_AND) {
    for (size_t i = 0; i < n->nkids; i++)
      walk_equalities(n->kids[i], fn, ctx);
  } else if (is_plain_equality(n)) {
    fn(n, ctx);
  }
}

/* State of one matcher_equality() search. */
typedef struct {
  const char *path;   /* the path looked for */
  bson_value_t value; /* the equality's operand, when found */
  bool found;         /* whether one was found */
} eq_search_t;

/* walk_equalities() callback for matcher_equality(). */
static void find_equality(const node_t *leaf, void *ctx)
{
  eq_search_t *s = ctx;
  if (!s->found && !strcmp(leaf->path, s->path)) {
    s->found = true;
    s->value = leaf->value;
  }
}

bool matcher_equality(const matcher_t *m, const char *path, bson_value_t *out)
{
  eq_search_t s = {.path = path};
  walk_equalities(m->root, find_equality, &s);
  if (s.found)
    *out = s.value;
  return s.found;
}

/* Closure of matcher_foreach_equality(). */
typedef struct {
  void (*fn)(const char *, const bson_value_t *, void *); /* user callback */
  void *ctx;                                              /* user context */
} eq_each_t;

/* walk_equalities() callback for matcher_foreach_equality(). */
static void each_equality(const node_t *leaf, void *ctx)
{
  eq_each_t *e = ctx;
  e->fn(leaf->path, &leaf->value, e->ctx);
}

void matcher_foreach_equality(const matcher_t *m,
                              void (*fn)(const char *path,
                                         const bson_value_t *value, void *ctx),
                              void *ctx)
{
  eq_each_t e = {fn, ctx};
  walk_equalities(m->root, each_equality, &e);
}
