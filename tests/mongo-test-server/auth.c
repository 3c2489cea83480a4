/* Users, SCRAM-SHA-1 / SCRAM-SHA-256 and PLAIN. See auth.h.
 *
 * The exchange, as libmongoc and mongod run it:
 *   saslStart    {mechanism, payload: "n,,n=USER,r=CNONCE",
 *                 options: {skipEmptyExchange: true}}
 *             -> {conversationId: 1, done: false,
 *                 payload: "r=CNONCE SNONCE,s=SALT,i=ITERATIONS"}
 *   saslContinue {conversationId: 1, payload: "c=biws,r=NONCE,p=PROOF"}
 *             -> {conversationId: 1, done: true (skipEmptyExchange) or false,
 *                 payload: "v=SERVER-SIGNATURE"}
 *   saslContinue {conversationId: 1, payload: ""} -> {done: true}
 * A wrong proof, an unknown user or a malformed message is code 18
 * AuthenticationFailed, as mongod answers (it never says which). */
#include "auth.h"

#include "errors.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Digest of a mechanism: SHA-1 or SHA-256. */
static const EVP_MD *mech_md(int mech)
{
  return mech == 1 ? EVP_sha1() : EVP_sha256();
}

/* HMAC(key, data) into out; returns the length. */
static unsigned hmac(int mech, const uint8_t *key, size_t key_len,
                     const void *data, size_t len, uint8_t *out)
{
  unsigned n = 0;
  if (!HMAC(mech_md(mech), key, (int)key_len, data, len, out, &n))
    return 0;
  return n;
}

/* H(data) into out; returns the length. */
static unsigned digest(int mech, const uint8_t *data, size_t len, uint8_t *out)
{
  unsigned n = 0;
  if (!EVP_Digest(data, len, out, &n, mech_md(mech), NULL))
    return 0;
  return n;
}

/* Base64 of len bytes, malloc'd and NUL-terminated. */
static char *b64_encode(const uint8_t *data, size_t len)
{
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  return out;
}

/* Decodes base64 text (len chars) into out (room for len bytes); returns
 * the length, or -1 when text is not base64. */
static long b64_decode(const char *text, size_t len, uint8_t *out)
{
  if (len % 4)
    return -1;
  if (len == 0)
    return 0;
  int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
  if (n < 0)
    return -1;
  if (text[len - 1] == '=')
    n--;
  if (text[len - 2] == '=')
    n--;
  return n;
}

/* Derives a credential from password (mongod's keys for a user). */
static bool derive(int mech, const char *password, int iterations,
                   size_t salt_len, scram_cred_t *cred)
{
  uint8_t salted[32], client_key[32];
  size_t hlen = mech == 1 ? 20 : 32;
  cred->salt_len = salt_len;
  cred->iterations = iterations;
  if (RAND_bytes(cred->salt, (int)salt_len) != 1 ||
      PKCS5_PBKDF2_HMAC(password, (int)strlen(password), cred->salt,
                        (int)salt_len, iterations, mech_md(mech), (int)hlen,
                        salted) != 1)
    return false;
  return hmac(mech, salted, hlen, "Client Key", 10, client_key) == hlen &&
         digest(mech, client_key, hlen, cred->stored_key) == hlen &&
         hmac(mech, salted, hlen, "Server Key", 10, cred->server_key) == hlen;
}

bool auth_add_user(user_set_t *set, const char *spec, char *why, size_t why_len)
{
  const char *colon = strchr(spec, ':');
  if (!colon || colon == spec) {
    snprintf(why, why_len, "--user takes NAME:PASSWORD");
    return false;
  }
  size_t name_len = (size_t)(colon - spec);
  const char *password = colon + 1;
  /* SASLprep of printable ASCII is the identity; anything else would need
   * the full profile, which this fixture does not carry. */
  for (const char *p = password; *p; p++) {
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E) {
      snprintf(why, why_len,
               "--user: the password must be printable ASCII (SASLprep "
               "is not implemented beyond it)");
      return false;
    }
  }
  user_t u = {0};
  u.name = strndup(spec, name_len);
  u.password = strdup(password);
  if (!u.name || !u.password)
    goto oom;
  if (auth_find_user(set, u.name)) {
    snprintf(why, why_len, "--user: %s is given twice", u.name);
    free(u.name);
    free(u.password);
    return false;
  }
  /* SCRAM-SHA-1's password is MongoDB's digest: hex MD5 of
   * "NAME:mongo:PASSWORD". */
  uint8_t md5[16];
  char hex[33];
  char *pre = malloc(name_len + strlen(password) + 8);
  if (!pre)
    goto oom;
  sprintf(pre, "%s:mongo:%s", u.name, password);
  unsigned n = 0;
  bool ok = EVP_Digest(pre, strlen(pre), md5, &n, EVP_md5(), NULL) == 1;
  free(pre);
  for (int i = 0; i < 16; i++)
    sprintf(hex + 2 * i, "%02x", md5[i]);
  if (!ok || !derive(1, hex, MTS_SCRAM_SHA1_ITERATIONS, 16, &u.sha1) ||
      !derive(256, password, MTS_SCRAM_SHA256_ITERATIONS, 28, &u.sha256)) {
    snprintf(why, why_len, "--user: cannot derive SCRAM keys (libcrypto)");
    free(u.name);
    free(u.password);
    return false;
  }
  user_t *grown = realloc(set->users, (set->n + 1) * sizeof *grown);
  if (!grown)
    goto oom;
  set->users = grown;
  set->users[set->n++] = u;
  return true;
oom:
  free(u.name);
  free(u.password);
  snprintf(why, why_len, "out of memory");
  return false;
}

void auth_free_users(user_set_t *set)
{
  for (size_t i = 0; i < set->n; i++) {
    free(set->users[i].name);
    free(set->users[i].password);
  }
  free(set->users);
  set->users = NULL;
  set->n = 0;
}

const user_t *auth_find_user(const user_set_t *set, const char *name)
{
  for (size_t i = 0; i < set->n; i++)
    if (!strcmp(set->users[i].name, name))
      return &set->users[i];
  return NULL;
}

void auth_conn_reset(auth_conn_t *c)
{
  free(c->auth_message);
  free(c->nonce);
  free(c->gs2_header);
  c->auth_message = c->nonce = c->gs2_header = NULL;
  c->mech = 0;
  c->step = 0;
  c->user = NULL;
  c->skip_empty_exchange = false;
}

bool auth_exempt(const char *command)
{
  static const char *const exempt[] = {
      "hello",        "isMaster", "ismaster",    "buildInfo",
      "buildinfo",    "ping",     "saslStart",   "saslContinue",
      "authenticate", "getnonce", "endSessions", "logout",
  };
  for (size_t i = 0; i < sizeof exempt / sizeof exempt[0]; i++)
    if (!strcmp(command, exempt[i]))
      return true;
  return false;
}

/* Copies the "payload" field (binary, or base64 text as some drivers send)
 * into a malloc'd NUL-terminated buffer; NULL when absent or malformed. */
static char *payload_of(const bson_t *body, size_t *len)
{
  bson_iter_t it;
  char *out = NULL;
  if (!bson_iter_init_find(&it, body, "payload"))
    return NULL;
  if (BSON_ITER_HOLDS_BINARY(&it)) {
    uint32_t n;
    const uint8_t *data;
    bson_iter_binary(&it, NULL, &n, &data);
    out = malloc((size_t)n + 1);
    if (out) {
      memcpy(out, data, n);
      out[n] = '\0';
      *len = n;
    }
  } else if (BSON_ITER_HOLDS_UTF8(&it)) {
    uint32_t n;
    const char *text = bson_iter_utf8(&it, &n);
    out = malloc((size_t)n + 1);
    long d = out ? b64_decode(text, n, (uint8_t *)out) : -1;
    if (d < 0) {
      free(out);
      return NULL;
    }
    out[d] = '\0';
    *len = (size_t)d;
  }
  return out;
}

/* Appends the reply fields of one step. */
static void append_step(bson_t *reply, bool done, const char *payload)
{
  BSON_APPEND_INT32(reply, "conversationId", 1);
  BSON_APPEND_BOOL(reply, "done", done);
  bson_append_binary(reply, "payload", -1, BSON_SUBTYPE_BINARY,
                     (const uint8_t *)payload, (uint32_t)strlen(payload));
}

/* Fails the conversation with 18, as mongod does for every cause. */
static bool auth_failed(auth_conn_t *c, bson_error_t *error)
{
  auth_conn_reset(c);
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_AUTH_FAILED,
                 "Authentication failed.");
  return false;
}

/* Un-escapes a SCRAM saslname ("=2C" is ',', "=3D" is '=') in place;
 * false when an escape is malformed. */
static bool unescape_name(char *s)
{
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r == '=') {
      if (!strncmp(r, "=2C", 3))
        *w++ = ',';
      else if (!strncmp(r, "=3D", 3))
        *w++ = '=';
      else
        return false;
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
  return true;
}

/* PLAIN: "[authzid]\0NAME\0PASSWORD", one step. */
static bool plain_start(const user_set_t *users, auth_conn_t *c,
                        const char *msg, size_t len, bson_t *reply,
                        bson_error_t *error)
{
  const char *nul1 = memchr(msg, 0, len);
  const char *nul2 =
      nul1 ? memchr(nul1 + 1, 0, len - (size_t)(nul1 + 1 - msg)) : NULL;
  if (!nul2)
    return auth_failed(c, error);
  const user_t *u = auth_find_user(users, nul1 + 1);
  size_t pw_len = len - (size_t)(nul2 + 1 - msg);
  if (!u || pw_len != strlen(u->password) ||
      memcmp(nul2 + 1, u->password, pw_len) != 0)
    return auth_failed(c, error);
  c->authenticated = u;
  append_step(reply, true, "");
  return true;
}

bool auth_sasl_start(const user_set_t *users, auth_conn_t *c, const char *db,
                     const bson_t *body, bson_t *reply, bson_error_t *error)
{
  bson_iter_t it, opt;
  const char *mechanism = NULL;
  size_t len = 0;
  auth_conn_reset(c);
  if (bson_iter_init_find(&it, body, "mechanism") && BSON_ITER_HOLDS_UTF8(&it))
    mechanism = bson_iter_utf8(&it, NULL);
  if (!mechanism) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                   "Auth mechanism not specified");
    return false;
  }
  int mech = !strcmp(mechanism, "SCRAM-SHA-1")     ? 1
             : !strcmp(mechanism, "SCRAM-SHA-256") ? 256
             : !strcmp(mechanism, "PLAIN")         ? -1
                                                   : 0;
  if (!mech) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_MECHANISM_UNAVAILABLE,
                   "Received authentication for mechanism %s which is not "
                   "enabled",
                   mechanism);
    return false;
  }
  char *msg = payload_of(body, &len);
  if (!msg)
    return auth_failed(c, error);
  if (mech == -1) {
    bool ok = plain_start(users, c, msg, len, reply, error);
    free(msg);
    return ok;
  }
  if (bson_iter_init_find(&it, body, "options") &&
      BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &opt) &&
      bson_iter_find(&opt, "skipEmptyExchange"))
    c->skip_empty_exchange = bson_iter_as_bool(&opt);

  /* client-first: gs2-header "n,," (no channel binding, no authzid),
   * then client-first-bare "n=NAME,r=NONCE[,extensions]". */
  char *bare = NULL, *name = NULL;
  if (strlen(msg) != len || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
    goto fail;
  char *comma = strchr(msg + 2, ',');
  if (!comma || comma != msg + 2) /* an authzid is not supported */
    goto fail;
  bare = comma + 1;
  if (strncmp(bare, "n=", 2))
    goto fail;
  char *name_end = strchr(bare + 2, ',');
  if (!name_end || strncmp(name_end, ",r=", 3))
    goto fail;
  name = strndup(bare + 2, (size_t)(name_end - bare - 2));
  if (!name || !unescape_name(name))
    goto fail;
  const char *cnonce = name_end + 3;
  size_t cnonce_len = strcspn(cnonce, ",");
  if (cnonce_len == 0)
    goto fail;
  const user_t *u = strcmp(db, "admin") ? NULL : auth_find_user(users, name);
  if (!u)
    goto fail;
  const scram_cred_t *cred = mech == 1 ? &u->sha1 : &u->sha256;

  uint8_t snonce_raw[24];
  if (RAND_bytes(snonce_raw, sizeof snonce_raw) != 1)
    goto fail;
  char *snonce = b64_encode(snonce_raw, sizeof snonce_raw);
  char *salt = b64_encode(cred->salt, cred->salt_len);
  c->nonce = snonce
                 ? bson_strdup_printf("%.*s%s", (int)cnonce_len, cnonce, snonce)
                 : NULL;
  char *server_first = c->nonce && salt
                           ? bson_strdup_printf("r=%s,s=%s,i=%d", c->nonce,
                                                salt, cred->iterations)
                           : NULL;
  free(snonce);
  free(salt);
  if (!server_first)
    goto fail;
  c->auth_message = bson_strdup_printf("%s,%s", bare, server_first);
  c->gs2_header = bson_strdup_printf("%.*s", (int)(bare - msg), msg);
  c->mech = mech;
  c->user = u;
  c->step = 1;
  append_step(reply, false, server_first);
  bson_free(server_first);
  free(name);
  free(msg);
  return true;
fail:
  free(name);
  free(msg);
  return auth_failed(c, error);
}

/* Checks the client-final message and builds the server-final one. */
static bool scram_final(auth_conn_t *c, const char *msg, bson_t *reply,
                        bson_error_t *error)
{
  size_t hlen = c->mech == 1 ? 20 : 32;
  const scram_cred_t *cred = c->mech == 1 ? &c->user->sha1 : &c->user->sha256;
  /* c=base64(gs2-header),r=NONCE[,extensions],p=PROOF */
  const char *p = strstr(msg, ",p=");
  if (!p || strncmp(msg, "c=", 2))
    return auth_failed(c, error);
  char *binding =
      b64_encode((const uint8_t *)c->gs2_header, strlen(c->gs2_header));
  size_t blen = binding ? strlen(binding) : 0;
  bool binding_ok = binding && !strncmp(msg + 2, binding, blen) &&
                    !strncmp(msg + 2 + blen, ",r=", 3);
  free(binding);
  if (!binding_ok)
    return auth_failed(c, error);
  const char *nonce = msg + 2 + blen + 3;
  size_t nonce_len = strcspn(nonce, ",");
  if (nonce_len != strlen(c->nonce) || strncmp(nonce, c->nonce, nonce_len))
    return auth_failed(c, error);
  uint8_t proof[64];
  const char *proof_text = p + 3;
  if (strlen(proof_text) > 88 ||
      b64_decode(proof_text, strlen(proof_text), proof) != (long)hlen)
    return auth_failed(c, error);

  /* AuthMessage = client-first-bare "," server-first ","
   *               client-final-without-proof */
  char *am =
      bson_strdup_printf("%s,%.*s", c->auth_message, (int)(p - msg), msg);
  uint8_t sig[32], key[32], stored[32];
  bool ok = hmac(c->mech, cred->stored_key, hlen, am, strlen(am), sig) == hlen;
  for (size_t i = 0; i < hlen; i++)
    key[i] = proof[i] ^ sig[i];
  ok = ok && digest(c->mech, key, hlen, stored) == hlen &&
       CRYPTO_memcmp(stored, cred->stored_key, hlen) == 0;
  uint8_t server_sig[32];
  ok = ok && hmac(c->mech, cred->server_key, hlen, am, strlen(am),
                  server_sig) == hlen;
  bson_free(am);
  if (!ok)
    return auth_failed(c, error);
  char *v = b64_encode(server_sig, hlen);
  char *final = v ? bson_strdup_printf("v=%s", v) : NULL;
  free(v);
  if (!final)
    return auth_failed(c, error);
  c->step = 2;
  if (c->skip_empty_exchange) {
    c->authenticated = c->user;
    auth_conn_reset(c);
    append_step(reply, true, final);
  } else {
    append_step(reply, false, final);
  }
  bson_free(final);
  return true;
}

bool auth_sasl_continue(auth_conn_t *c, const bson_t *body, bson_t *reply,
                        bson_error_t *error)
{
  bson_iter_t it;
  int64_t id = -1;
  size_t len = 0;
  if (bson_iter_init_find(&it, body, "conversationId") &&
      (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) ||
       BSON_ITER_HOLDS_DOUBLE(&it)))
    id = bson_iter_as_int64(&it);
  if (id != 1 || c->step == 0) {
    auth_conn_reset(c);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_PROTOCOL_ERROR,
                   "No SASL session state found");
    return false;
  }
  char *msg = payload_of(body, &len);
  if (!msg || strlen(msg) != len) {
    free(msg);
    return auth_failed(c, error);
  }
  bool ok;
  if (c->step == 1) {
    ok = scram_final(c, msg, reply, error);
  } else if (len == 0) { /* the empty exchange that ends it */
    c->authenticated = c->user;
    auth_conn_reset(c);
    append_step(reply, true, "");
    ok = true;
  } else {
    ok = auth_failed(c, error);
  }
  free(msg);
  return ok;
}
