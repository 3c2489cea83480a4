/* Command dispatch and the helpers command handlers share. Each handler
 * reads the request, appends its reply fields to ctx->reply and returns
 * true, or fills error (domain MTS_ERR_DOMAIN, a mongod code) and returns
 * false; the dispatcher adds ok / errmsg / code / codeName / errorLabels. */
#ifndef MTS_COMMANDS_H
#define MTS_COMMANDS_H

#include "server.h"
#include "wire.h"

#include <bson/bson.h>

/* Everything a handler needs about the command being run. */
typedef struct cmd_ctx {
  server_t *srv;        /* the server */
  conn_t *conn;         /* the connection it came on */
  const request_t *req; /* the parsed request */
  const bson_t *body;   /* the command document */
  const char *name;     /* the command name: body's first key */
  const char *db;       /* the database ($db, or OP_QUERY's namespace) */
  bson_t *reply;        /* reply under construction */
  bool drop_connection; /* a fault asks to close without replying */
  const bson_t *replay; /* a retried write's recorded reply, or NULL */
  bool replayed;        /* the reply is the recorded one: nothing ran */
  bool applied;         /* a write command ran (its reply may be recorded) */
  int wc_error;         /* a fault's writeConcernError code, or 0 */
  bson_t *error_info;   /* fields a failed command adds to its error reply
                           (createIndexes' keyPattern, keyValue), or NULL */
} cmd_ctx_t;

/* Runs the request's command and fills reply (initialised by the caller).
 * Sets *drop when the connection must be closed without a reply. */
void cmd_dispatch(server_t *srv, conn_t *conn, const request_t *req,
                  bson_t *reply, bool *drop);

/* Iterates the documents of an insert/update/delete: a kind-1 section
 * named field, else an array field of the body. */
typedef struct {
  const docseq_t *seq; /* the kind-1 section, or NULL for a body array */
  size_t pos;          /* position in seq */
  bson_iter_t it;      /* position in the body array */
} docs_iter_t;

/* Starts iterating field; error 40414 when absent, 14 when not an array. */
bool cmd_docs_init(const cmd_ctx_t *ctx, const char *field, docs_iter_t *it,
                   bson_error_t *error);

/* Next document; false at the end. Error 14 for a non-document element. */
bool cmd_docs_next(docs_iter_t *it, const uint8_t **data, uint32_t *len,
                   bool *bad);

/* The collection name the command's first field holds (a string); error 2
 * when it is not a valid one. */
bool cmd_coll_name(const cmd_ctx_t *ctx, const char **name,
                   bson_error_t *error);

/* Reads an optional document field (NULL when absent); error 14 when it has
 * another type. out is a static view. */
bool cmd_opt_doc(const bson_t *body, const char *field, bson_t *out,
                 bool *present, bson_error_t *error);

/* Reads an optional integral number field into *out (unchanged when
 * absent); error 14 when not a number. */
bool cmd_opt_int64(const bson_t *body, const char *field, int64_t *out,
                   bson_error_t *error);

/* Appends a mongod-shaped write error {index, code, errmsg[, keyPattern,
 * keyValue]} to the array under construction, which holds *count elements
 * (incremented). */
void cmd_append_write_error(bson_t *errors, uint32_t *count, uint32_t index,
                            const bson_error_t *error, const bson_t *info);

/* For a write command retried with the (lsid, txnNumber) of one already
 * run: copies the recorded reply into ctx->reply and returns true; the
 * handler then returns true without running anything. False otherwise:
 * the handler runs the write and sets ctx->applied. */
bool cmd_replayed(cmd_ctx_t *ctx);

/* Appends value to an array under construction holding *count elements. */
void cmd_array_append(bson_t *array, uint32_t *count,
                      const bson_value_t *value);

/* Appends a document to an array under construction. */
void cmd_array_append_doc(bson_t *array, uint32_t *count, const uint8_t *data,
                          uint32_t len);

/* Handlers, by group. */
bool cmd_insert(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_update(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_delete(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_find(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_get_more(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_kill_cursors(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_count(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_distinct(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_aggregate(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_list_collections(cmd_ctx_t *ctx, bson_error_t *error);
bool cmd_list_indexes(cmd_ctx_t *ctx, bson_error_t *error);

/* Opens a cursor over docs (the cursor takes the references and the
 * array), sends the first batch of at most batch_size (<0: default 101)
 * documents, and appends {cursor: {firstBatch, id, ns}} to the reply.
 * projection may be NULL. single_batch closes it after the first batch. */
bool cmd_reply_cursor(cmd_ctx_t *ctx, const char *ns, doc_t **docs,
                      size_t ndocs, int64_t batch_size,
                      const bson_t *projection, bool single_batch,
                      bson_error_t *error);

#endif
