/* Update operators. See update.h. */
#include "update.h"

#include "bval.h"
#include "errors.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void update_new_oid(bson_oid_t *oid)
{
  static atomic_uint counter;
  static atomic_uint_fast64_t random_part;
  uint64_t r = atomic_load(&random_part);
  if (!r) {
    /* Five bytes unique to this process, set by the first caller. */
    uint64_t seed = ((uint64_t)getpid() << 24) ^ (uint64_t)time(NULL) ^
                    (uint64_t)(uintptr_t)&counter;
    seed =
        (seed * 6364136223846793005ULL + 1442695040888963407ULL) | (1ULL << 40);
    uint_fast64_t expected = 0;
    atomic_compare_exchange_strong(&random_part, &expected, seed);
    r = atomic_load(&random_part);
  }
  uint32_t t = (uint32_t)time(NULL);
  uint32_t c = atomic_fetch_add(&counter, 1);
  uint8_t *b = oid->bytes;
  b[0] = (uint8_t)(t >> 24);
  b[1] = (uint8_t)(t >> 16);
  b[2] = (uint8_t)(t >> 8);
  b[3] = (uint8_t)t;
  for (int i = 0; i < 5; i++)
    b[4 + i] = (uint8_t)(r >> (8 * i));
  b[9] = (uint8_t)(c >> 16);
  b[10] = (uint8_t)(c >> 8);
  b[11] = (uint8_t)c;
}

void update_id_first(const bson_t *doc, bson_t *out)
{
  bson_iter_t it;
  bson_init(out);
  if (bson_iter_init_find(&it, doc, "_id")) {
    bson_append_iter(out, "_id", 3, &it);
  } else {
    bson_oid_t oid;
    update_new_oid(&oid);
    BSON_APPEND_OID(out, "_id", &oid);
  }
  bson_iter_init(&it, doc);
  while (bson_iter_next(&it))
    if (strcmp(bson_iter_key(&it), "_id"))
      bson_append_iter(out, bson_iter_key(&it), (int)bson_iter_key_len(&it),
                       &it);
}

bool update_is_operator(const bson_t *update)
{
  bson_iter_t it;
  return bson_iter_init(&it, update) && bson_iter_next(&it) &&
         bson_iter_key(&it)[0] == '$';
}

/* Writes into out (initialised here) a copy of the document at data with
 * the value at dotted path set to value, or removed when value is NULL.
 * Missing intermediate documents are created when setting. */
static bool set_path(const uint8_t *data, uint32_t len, const char *path,
                     const bson_value_t *value, bson_t *out,
                     bson_error_t *error)
{
  bson_iter_t it;
  const char *dot = strchr(path, '.');
  size_t plen = dot ? (size_t)(dot - path) : strlen(path);
  bool found = false;
  bson_init(out);
  if (!bson_iter_init_from_data(&it, data, len))
    goto bad;
  while (bson_iter_next(&it)) {
    const char *key = bson_iter_key(&it);
    uint32_t klen = bson_iter_key_len(&it);
    if (klen != plen || memcmp(key, path, plen)) {
      bson_append_iter(out, key, (int)klen, &it);
      continue;
    }
    found = true;
    if (!dot) {
      if (value)
        bson_append_value(out, key, (int)klen, value);
      continue;
    }
    bool is_doc = BSON_ITER_HOLDS_DOCUMENT(&it);
    if (!is_doc && !BSON_ITER_HOLDS_ARRAY(&it)) {
      if (!value) {
        bson_append_iter(out, key, (int)klen, &it);
        continue;
      }
      bson_string_t *s = bson_string_new(NULL);
      bval_format(s, bson_iter_value(&it));
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_PATH_NOT_VIABLE,
                     "Cannot create field '%.*s' in element {%.*s: %s}",
                     (int)strcspn(dot + 1, "."), dot + 1, (int)plen, path,
                     s->str);
      bson_string_free(s, true);
      return false;
    }
    uint32_t sublen;
    const uint8_t *sub;
    bson_t child;
    if (is_doc)
      bson_iter_document(&it, &sublen, &sub);
    else
      bson_iter_array(&it, &sublen, &sub);
    if (!set_path(sub, sublen, dot + 1, value, &child, error)) {
      bson_destroy(&child);
      return false;
    }
    if (is_doc)
      bson_append_document(out, key, (int)klen, &child);
    else
      bson_append_array(out, key, (int)klen, &child);
    bson_destroy(&child);
  }
  if (!found && value) {
    if (!dot) {
      bson_append_value(out, path, (int)plen, value);
    } else {
      bson_t empty = BSON_INITIALIZER, child;
      bool ok = set_path(bson_get_data(&empty), empty.len, dot + 1, value,
                         &child, error);
      if (ok)
        bson_append_document(out, path, (int)plen, &child);
      bson_destroy(&child);
      bson_destroy(&empty);
      if (!ok)
        return false;
    }
  }
  return true;
bad:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_INVALID_BSON, "invalid document");
  return false;
}

/* Replaces *cur with a copy where path is set to value (NULL: unset). */
static bool edit(bson_t *cur, const char *path, const bson_value_t *value,
                 bson_error_t *error)
{
  bson_t next;
  if (!set_path(bson_get_data(cur), cur->len, path, value, &next, error)) {
    bson_destroy(&next);
    return false;
  }
  bson_destroy(cur);
  bson_steal(cur, &next);
  return true;
}

/* Adds two numbers with MongoDB's type promotion: int32 + int32 stays
 * int32 unless it overflows, then int64; any double makes a double. */
static bool add_numbers(const bson_value_t *a, const bson_value_t *b,
                        bson_value_t *out)
{
  if (!bval_is_number(a->value_type) || !bval_is_number(b->value_type))
    return false;
  if (a->value_type == BSON_TYPE_DOUBLE || b->value_type == BSON_TYPE_DOUBLE ||
      a->value_type == BSON_TYPE_DECIMAL128 ||
      b->value_type == BSON_TYPE_DECIMAL128) {
    double x = 0, y = 0;
    bval_as_double(a, &x);
    bval_as_double(b, &y);
    out->value_type = BSON_TYPE_DOUBLE;
    out->value.v_double = x + y;
    return true;
  }
  int64_t x = 0, y = 0, sum;
  bval_as_int64(a, &x);
  bval_as_int64(b, &y);
  if (__builtin_add_overflow(x, y, &sum)) {
    out->value_type = BSON_TYPE_DOUBLE;
    out->value.v_double = (double)x + (double)y;
  } else if (a->value_type == BSON_TYPE_INT32 &&
             b->value_type == BSON_TYPE_INT32 && sum >= INT32_MIN &&
             sum <= INT32_MAX) {
    out->value_type = BSON_TYPE_INT32;
    out->value.v_int32 = (int32_t)sum;
  } else {
    out->value_type = BSON_TYPE_INT64;
    out->value.v_int64 = sum;
  }
  return true;
}

/* Applies {$push: {path: v}} or {$push: {path: {$each: [...]}}}. */
static bool apply_push(bson_t *cur, const char *path, const bson_value_t *arg,
                       bson_error_t *error)
{
  bson_value_t old;
  bson_t arr = BSON_INITIALIZER;
  uint32_t n = 0;
  char buf[16];
  const char *key;
  bson_iter_t it;
  bool ok = false;
  if (bval_get_path(cur, path, &old)) {
    if (old.value_type != BSON_TYPE_ARRAY) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                     "The field '%s' must be an array but is of another type",
                     path);
      goto out;
    }
    if (bson_iter_init_from_data(&it, old.value.v_doc.data,
                                 old.value.v_doc.data_len))
      while (bson_iter_next(&it)) {
        bson_uint32_to_string(n++, &key, buf, sizeof buf);
        bson_append_iter(&arr, key, -1, &it);
      }
  }
  bson_iter_t each;
  if (arg->value_type == BSON_TYPE_DOCUMENT &&
      bson_iter_init_from_data(&it, arg->value.v_doc.data,
                               arg->value.v_doc.data_len) &&
      bson_iter_find(&it, "$each")) {
    if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &each)) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                     "The argument to $each in $push must be an array");
      goto out;
    }
    while (bson_iter_next(&each)) {
      bson_uint32_to_string(n++, &key, buf, sizeof buf);
      bson_append_iter(&arr, key, -1, &each);
    }
  } else {
    bson_uint32_to_string(n++, &key, buf, sizeof buf);
    bson_append_value(&arr, key, -1, arg);
  }
  bson_value_t v = {.value_type = BSON_TYPE_ARRAY};
  v.value.v_doc.data = (uint8_t *)bson_get_data(&arr);
  v.value.v_doc.data_len = arr.len;
  ok = edit(cur, path, &v, error);
out:
  bson_destroy(&arr);
  return ok;
}

/* Applies one operator's field list to cur. */
static bool apply_operator(bson_t *cur, const char *op, bson_iter_t *fields,
                           bool inserting, bson_error_t *error)
{
  while (bson_iter_next(fields)) {
    const char *path = bson_iter_key(fields);
    const bson_value_t *arg = bson_iter_value(fields);
    if (!strcmp(op, "$set")) {
      if (!edit(cur, path, arg, error))
        return false;
    } else if (!strcmp(op, "$setOnInsert")) {
      if (inserting && !edit(cur, path, arg, error))
        return false;
    } else if (!strcmp(op, "$unset")) {
      if (!edit(cur, path, NULL, error))
        return false;
    } else if (!strcmp(op, "$inc")) {
      bson_value_t old, sum;
      if (!bval_is_number(arg->value_type)) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                       "Cannot increment with non-numeric argument: {%s: "
                       "...}",
                       path);
        return false;
      }
      if (!bval_get_path(cur, path, &old)) {
        sum = *arg;
      } else if (!add_numbers(&old, arg, &sum)) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                       "Cannot apply $inc to a value of non-numeric type. "
                       "The field '%s' is of non-numeric type",
                       path);
        return false;
      }
      if (!edit(cur, path, &sum, error))
        return false;
    } else if (!strcmp(op, "$push")) {
      if (!apply_push(cur, path, arg, error))
        return false;
    } else {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "Unknown modifier: %s. Expected a valid update modifier "
                     "or pipeline-style update specified as an array",
                     op);
      return false;
    }
  }
  return true;
}

bool update_apply(const bson_t *doc, const bson_t *update, bool inserting,
                  bson_t *out, bson_error_t *error)
{
  bson_iter_t it, fields, id_old, id_new;
  bool has_old_id = bson_iter_init_find(&id_old, doc, "_id");
  bson_init(out);
  if (!update_is_operator(update)) {
    /* Replacement: keep the old _id (first), then the new fields. */
    if (has_old_id)
      bson_append_iter(out, "_id", 3, &id_old);
    bson_iter_init(&it, update);
    while (bson_iter_next(&it)) {
      const char *key = bson_iter_key(&it);
      if (key[0] == '$') {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_DOLLAR_PREFIXED,
                       "The dollar ($) prefixed field '%s' is not allowed "
                       "in a replacement document",
                       key);
        return false;
      }
      if (!strcmp(key, "_id") && has_old_id) {
        if (bval_compare(bson_iter_value(&it), bson_iter_value(&id_old))) {
          bson_string_t *s = bson_string_new(NULL);
          bval_format(s, bson_iter_value(&it));
          bson_set_error(error, MTS_ERR_DOMAIN, ERR_IMMUTABLE_FIELD,
                         "After applying the update, the (immutable) field "
                         "'_id' was found to have been altered to _id: %s",
                         s->str);
          bson_string_free(s, true);
          return false;
        }
        continue;
      }
      bson_append_iter(out, key, (int)bson_iter_key_len(&it), &it);
    }
    return true;
  }
  bson_destroy(out);
  bson_copy_to(doc, out);
  bson_iter_init(&it, update);
  while (bson_iter_next(&it)) {
    const char *op = bson_iter_key(&it);
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &fields)) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "Modifiers operate on fields but we found type %d "
                     "instead. For example: {$mod: {<field>: ...}} not "
                     "{%s: ...}",
                     (int)bson_iter_type(&it), op);
      return false;
    }
    if (op[0] != '$') {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "Unknown modifier: %s. Expected a valid update "
                     "modifier or pipeline-style update specified as an "
                     "array",
                     op);
      return false;
    }
    if (!apply_operator(out, op, &fields, inserting, error))
      return false;
  }
  if (has_old_id) {
    bool has_new = bson_iter_init_find(&id_new, out, "_id");
    if (!has_new ||
        bval_compare(bson_iter_value(&id_new), bson_iter_value(&id_old))) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_IMMUTABLE_FIELD,
                     "Performing an update on the path '_id' would modify "
                     "the immutable field '_id'");
      return false;
    }
  }
  return true;
}

/* State for seeding an upsert document from its query's equalities. */
typedef struct {
  bson_t *doc;         /* the document being built */
  bson_error_t *error; /* where a failure is reported */
  bool ok;             /* false once an edit failed */
} seed_t;

/* matcher_foreach_equality() callback: copies one equality. */
static void seed_field(const char *path, const bson_value_t *value, void *ctx)
{
  seed_t *s = ctx;
  if (s->ok && path[0] != '$')
    s->ok = edit(s->doc, path, value, s->error);
}

bool update_upsert_doc(const matcher_t *query, const bson_t *update,
                       bson_t *out, bson_error_t *error)
{
  bson_t seed = BSON_INITIALIZER, applied;
  bool ok = false;
  bson_init(out);
  if (update_is_operator(update)) {
    seed_t s = {&seed, error, true};
    matcher_foreach_equality(query, seed_field, &s);
    if (!s.ok)
      goto out;
  } else {
    /* A replacement takes only _id from the query. */
    bson_value_t id;
    if (matcher_equality(query, "_id", &id))
      bson_append_value(&seed, "_id", 3, &id);
  }
  if (!update_apply(&seed, update, true, &applied, error)) {
    bson_destroy(&applied);
    goto out;
  }
  bson_destroy(out);
  update_id_first(&applied, out);
  bson_destroy(&applied);
  ok = true;
out:
  bson_destroy(&seed);
  return ok;
}
