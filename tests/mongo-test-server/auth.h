/* Users and authentication: SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802 /
 * RFC 7677, as MongoDB's authentication specification profiles them:
 * saslStart / saslContinue, speculative authentication in hello), and
 * PLAIN. Users come from --user NAME:PASSWORD and live in the admin
 * database. Once any user exists, every command but the handshake needs an
 * authenticated connection. */
#ifndef MTS_AUTH_H
#define MTS_AUTH_H

#include <bson/bson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Iteration counts mongod uses by default (scramIterationCount,
 * scramSHA256IterationCount). */
#define MTS_SCRAM_SHA1_ITERATIONS 10000
#define MTS_SCRAM_SHA256_ITERATIONS 15000

/* One SCRAM credential: what mongod stores for a user and a mechanism. */
typedef struct {
  uint8_t salt[32];       /* random salt */
  size_t salt_len;        /* 16 (SHA-1) or 28 (SHA-256), as mongod */
  int iterations;         /* PBKDF2 iterations */
  uint8_t stored_key[32]; /* H(ClientKey) */
  uint8_t server_key[32]; /* HMAC(SaltedPassword, "Server Key") */
} scram_cred_t;

/* A user of the admin database. */
typedef struct {
  char *name;          /* user name */
  char *password;      /* clear text, for PLAIN */
  scram_cred_t sha1;   /* SCRAM-SHA-1 (password: MongoDB's MD5 digest) */
  scram_cred_t sha256; /* SCRAM-SHA-256 (password: SASLprep'd, ASCII) */
} user_t;

/* All users. Read-only once the server runs. */
typedef struct {
  user_t *users; /* the users */
  size_t n;      /* how many */
} user_set_t;

/* Adds the user of spec "NAME:PASSWORD" (derives its SCRAM keys). Returns
 * false with a reason in why when spec is malformed, the name is taken,
 * the password is not printable ASCII, or memory runs out. */
bool auth_add_user(user_set_t *set, const char *spec, char *why,
                   size_t why_len);

/* Frees every user. */
void auth_free_users(user_set_t *set);

/* Finds a user by name, or NULL. */
const user_t *auth_find_user(const user_set_t *set, const char *name);

/* An authentication conversation on one connection, and its outcome. */
typedef struct {
  int mech;                    /* 0 none, 1 SCRAM-SHA-1, 256 SCRAM-SHA-256 */
  int step;                    /* 1 after saslStart, 2 after the proof */
  bool skip_empty_exchange;    /* done after the proof (options) */
  const user_t *user;          /* the user being authenticated */
  char *auth_message;          /* client-first-bare "," server-first */
  char *nonce;                 /* combined nonce */
  char *gs2_header;            /* "n,," or similar, to check c= against */
  const user_t *authenticated; /* the user this connection is, or NULL */
} auth_conn_t;

/* Frees a conversation's strings (not the outcome). */
void auth_conn_reset(auth_conn_t *c);

/* saslStart (also speculativeAuthenticate's document): body holds
 * mechanism and payload; db is the database it ran on. Appends
 * conversationId / done / payload to reply, or fills error (code 18). */
bool auth_sasl_start(const user_set_t *users, auth_conn_t *c, const char *db,
                     const bson_t *body, bson_t *reply, bson_error_t *error);

/* saslContinue: the next step of the conversation. */
bool auth_sasl_continue(auth_conn_t *c, const bson_t *body, bson_t *reply,
                        bson_error_t *error);

/* True for the commands mongod runs without authentication. */
bool auth_exempt(const char *command);

#endif
