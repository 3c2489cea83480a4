/* Error code names, from mongod's error_codes.yml. See errors.h. */
#include "errors.h"

#include <stddef.h>

/* One known code and its name. */
typedef struct {
  int code;         /* mongod's numeric code */
  const char *name; /* its codeName */
} code_name_t;

static const code_name_t names[] = {
    {1, "InternalError"},
    {2, "BadValue"},
    {6, "HostUnreachable"},
    {7, "HostNotFound"},
    {9, "FailedToParse"},
    {11, "UserNotFound"},
    {13, "Unauthorized"},
    {14, "TypeMismatch"},
    {17, "ProtocolError"},
    {18, "AuthenticationFailed"},
    {20, "IllegalOperation"},
    {22, "InvalidBSON"},
    {26, "NamespaceNotFound"},
    {27, "IndexNotFound"},
    {28, "PathNotViable"},
    {40, "ConflictingUpdateOperators"},
    {43, "CursorNotFound"},
    {48, "NamespaceExists"},
    {50, "MaxTimeMSExpired"},
    {52, "DollarPrefixedFieldName"},
    {53, "InvalidIdField"},
    {59, "CommandNotFound"},
    {63, "StaleShardVersion"},
    {64, "WriteConcernFailed"},
    {66, "ImmutableField"},
    {67, "CannotCreateIndex"},
    {72, "InvalidOptions"},
    {73, "InvalidNamespace"},
    {79, "UnknownReplWriteConcern"},
    {85, "IndexOptionsConflict"},
    {86, "IndexKeySpecsConflict"},
    {89, "NetworkTimeout"},
    {91, "ShutdownInProgress"},
    {96, "OperationFailed"},
    {100, "UnsatisfiableWriteConcern"},
    {112, "WriteConflict"},
    {115, "CommandNotSupported"},
    {189, "PrimarySteppedDown"},
    {225, "TransactionTooOld"},
    {238, "NotImplemented"},
    {262, "ExceededTimeLimit"},
    {334, "MechanismUnavailable"},
    {9001, "SocketException"},
    {10107, "NotWritablePrimary"},
    {10334, "BSONObjectTooLarge"},
    {11000, "DuplicateKey"},
    {121, "DocumentValidationFailure"},
    {11600, "InterruptedAtShutdown"},
    {11602, "InterruptedDueToReplStateChange"},
    {13435, "NotPrimaryNoSecondaryOk"},
    {13436, "NotPrimaryOrSecondary"},
    {15952, "Location15952"},
    {40324, "Location40324"},
    {40571, "Location40571"},
};

const char *errcode_name(int code)
{
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].code == code)
      return names[i].name;
  return "UnknownError";
}

bool errcode_is_retryable(int code)
{
  /* The retryable-writes specification's list of retryable error codes. */
  switch (code) {
  case 6:
  case 7:
  case 89:
  case 91:
  case 189:
  case 262:
  case 9001:
  case 10107:
  case 11600:
  case 11602:
  case 13435:
  case 13436:
    return true;
  default:
    return false;
  }
}
