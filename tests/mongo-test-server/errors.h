/* Server error codes and names, as mongod reports them. Handlers fill a
 * bson_error_t with domain MTS_ERR_DOMAIN and one of these codes; the command
 * layer turns it into {ok: 0, errmsg, code, codeName}. */
#ifndef MTS_ERRORS_H
#define MTS_ERRORS_H

#include <stdbool.h>

/* bson_error_t.domain of every error the server reports to a client. */
#define MTS_ERR_DOMAIN 1

enum {
  ERR_INTERNAL = 1,
  ERR_BAD_VALUE = 2,
  ERR_FAILED_TO_PARSE = 9,
  ERR_UNAUTHORIZED = 13,
  ERR_TYPE_MISMATCH = 14,
  ERR_ILLEGAL_OPERATION = 20,
  ERR_PROTOCOL_ERROR = 17,
  ERR_AUTH_FAILED = 18,
  ERR_INVALID_BSON = 22,
  ERR_NAMESPACE_NOT_FOUND = 26,
  ERR_INDEX_NOT_FOUND = 27,
  ERR_PATH_NOT_VIABLE = 28,
  ERR_CANNOT_CREATE_INDEX = 67,
  ERR_CURSOR_NOT_FOUND = 43,
  ERR_WRITE_CONCERN_FAILED = 64,
  ERR_NAMESPACE_EXISTS = 48,
  ERR_DOLLAR_PREFIXED = 52,
  ERR_INVALID_ID_FIELD = 53,
  ERR_COMMAND_NOT_FOUND = 59,
  ERR_IMMUTABLE_FIELD = 66,
  ERR_INVALID_OPTIONS = 72,
  ERR_INVALID_NAMESPACE = 73,
  ERR_UNKNOWN_REPL_WRITE_CONCERN = 79,
  ERR_INDEX_OPTIONS_CONFLICT = 85,
  ERR_INDEX_KEY_SPECS_CONFLICT = 86,
  ERR_UNSATISFIABLE_WRITE_CONCERN = 100,
  ERR_DOCUMENT_VALIDATION_FAILURE = 121,
  ERR_TRANSACTION_TOO_OLD = 225,
  ERR_NOT_IMPLEMENTED = 238,
  ERR_MECHANISM_UNAVAILABLE = 334,
  ERR_DUPLICATE_KEY = 11000,
  ERR_NOT_WRITABLE_PRIMARY = 10107,
  ERR_BSON_TOO_LARGE = 10334,
  ERR_UNKNOWN_STAGE = 40324,
  ERR_OP_MSG_NO_DB = 40571,
  ERR_UNKNOWN_GROUP_OP = 15952,
};

/* Returns mongod's codeName for code, or "UnknownError"-style "Location<N>"
 * names for codes without one. Never NULL; a static string. */
const char *errcode_name(int code);

/* True when the retryable-writes spec labels code RetryableWriteError. */
bool errcode_is_retryable(int code);

#endif
