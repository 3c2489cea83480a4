/* Collection validators, as mongod enforces them: a collection made with
 * create {validator: <query>, validationLevel, validationAction} (or given
 * one later by collMod) refuses inserted, replaced, updated and upserted
 * documents that do not match the query with 121 DocumentValidationFailure,
 * errmsg "Document failed validation" and errInfo shaped as mongod 5+'s
 * ({failingDocumentId, details: {operatorName, specifiedAs, reason,
 * consideredValue} or {operatorName: "$and", clausesNotSatisfied: [...]}}),
 * unless the write command says bypassDocumentValidation: true.
 *
 * The query is compiled by match.c (its operators, nothing else:
 * $jsonSchema and $expr are refused with 238 NotImplemented rather than
 * taken for something else). validationLevel "off", "strict" (default) and
 * "moderate" (an update of a document that did not match already is not
 * checked); validationAction "error" (default) or "warn" (nothing is
 * refused, as mongod only logs). */
#ifndef MTS_VALIDATE_H
#define MTS_VALIDATE_H

#include <bson/bson.h>
#include <stdbool.h>

#include "commands.h"
#include "store.h"

typedef struct validator validator_t;

/* Compiles the validator of a create or collMod command body. Sets *out to
 * NULL when the body has no "validator" field (or an empty one), else to a
 * new validator (validator_free()). Returns false and fills error (2
 * BadValue, 238 NotImplemented, 14 TypeMismatch) when it is invalid. */
bool validator_from_command(const bson_t *body, validator_t **out,
                            bson_error_t *error);

/* Frees a validator; NULL is a no-op. */
void validator_free(validator_t *v);

/* Checks doc against v (NULL: no validator). old is the document an update
 * replaces, or NULL for an insert. Returns true when the write may go on;
 * else fills error with 121 and appends errInfo to info. */
bool validator_check(const validator_t *v, const doc_t *doc, const doc_t *old,
                     bson_t *info, bson_error_t *error);

/* Returns true when a write command's body asks to bypass validation. */
bool validator_bypassed(const bson_t *body);

/* collMod {collMod: name, validator?, validationLevel?, validationAction?}:
 * replaces the collection's validator settings; 26 NamespaceNotFound when
 * absent. */
bool cmd_coll_mod(cmd_ctx_t *ctx, bson_error_t *error);

#endif
