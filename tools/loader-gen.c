/*
 * loader-gen: deterministic sample-data generator for tests and benchmarks.
 *
 *   loader-gen customers|products|mixed ROWS [--seed N] [-o FILE]
 *
 * Writes a CSV file (one header line, then ROWS records, LF line ends,
 * UTF-8) shaped like the data the loader is meant for: customers with
 * short mixed-type columns, products with quoted names, embedded quotes and
 * multi-line descriptions; mixed, customers as real exports look (non-ASCII
 * names, quoted commas and quotes, two-line addresses, long free text).
 *
 * The output is a pure function of (table, ROWS, seed), byte for byte on
 * every machine: the generator has its own PRNG (xoshiro256** seeded through
 * splitmix64), never calls rand(), never formats a floating-point number and
 * never consults the locale. Record i consumes the PRNG stream after record
 * i - 1 and nothing depends on ROWS, so fewer rows give a prefix of more rows
 * with the same seed.
 *
 * Fields are quoted exactly when RFC 4180 requires it: when they contain a
 * comma, a double quote, CR or LF; a double quote inside is doubled.
 *
 * Speed matters because benchmarks generate hundreds of megabytes: records
 * are formatted by hand into one large buffer that goes out with fwrite, no
 * stdio formatting on the hot path.
 *
 * Exit codes: 0 success, 1 the output could not be written, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROG "loader-gen"

enum {
  EXIT_IO = 1,    /* the output could not be opened or written */
  EXIT_USAGE = 2, /* bad command line */
};

#define ARRAY_LEN(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------------
 * PRNG: xoshiro256** (Blackman & Vigna), state filled by splitmix64 so that
 * any 64-bit seed, 0 included, gives a good state.
 */

typedef struct {
  uint64_t s[4]; /* xoshiro256** state, never all zero */
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_t *r)
{
  uint64_t *s = r->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* A number in [0, n) for n > 0, from the top 32 bits by multiply-and-shift
 * (Lemire); the bias is below 2^-32 * n, far below what samples can show. */
static inline uint32_t rng_below(rng_t *r, uint32_t n)
{
  return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* A number in [lo, hi], lo <= hi. */
static inline uint32_t rng_range(rng_t *r, uint32_t lo, uint32_t hi)
{
  return lo + rng_below(r, hi - lo + 1);
}

/* True with probability pct / 100. */
static inline bool rng_percent(rng_t *r, uint32_t pct)
{
  return rng_below(r, 100) < pct;
}

#define PICK(r, a) ((a)[rng_below((r), ARRAY_LEN(a))])

/* ------------------------------------------------------------------------
 * Output: one large buffer flushed with fwrite.
 */

#define OUT_CAP ((size_t)1 << 20)

typedef struct {
  FILE *fp;    /* where full buffers go; not owned */
  char *buf;   /* OUT_CAP bytes, owned */
  size_t len;  /* bytes pending in buf */
  bool failed; /* a write failed; later output is dropped */
  int err;     /* errno of the failed write */
} out_t;

/* Hands the pending bytes to stdio. A short write marks the output failed
 * and keeps errno for the final report. */
static void out_flush(out_t *o)
{
  if (o->len > 0 && !o->failed && fwrite(o->buf, 1, o->len, o->fp) != o->len) {
    o->failed = true;
    o->err = errno;
  }
  o->len = 0;
}

static inline void out_char(out_t *o, char c)
{
  if (o->len == OUT_CAP)
    out_flush(o);
  o->buf[o->len++] = c;
}

static inline void out_mem(out_t *o, const char *s, size_t n)
{
  if (OUT_CAP - o->len < n) {
    out_flush(o);
    if (n > OUT_CAP) {
      if (!o->failed && fwrite(s, 1, n, o->fp) != n) {
        o->failed = true;
        o->err = errno;
      }
      return;
    }
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static inline void out_str(out_t *o, const char *s)
{
  out_mem(o, s, strlen(s));
}

/* v in decimal, zero-padded on the left to at least width digits. */
static void out_uint(out_t *o, uint64_t v, unsigned width)
{
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n < width && n < sizeof tmp)
    tmp[n++] = '0';
  char digits[24];
  for (size_t i = 0; i < n; i++)
    digits[i] = tmp[n - 1 - i];
  out_mem(o, digits, n);
}

/* An amount of cents as a decimal with two places: -1234 is "-12.34". */
static void out_cents(out_t *o, int64_t cents)
{
  uint64_t mag;
  if (cents < 0) {
    out_char(o, '-');
    mag = (uint64_t)(-(cents + 1)) + 1;
  } else {
    mag = (uint64_t)cents;
  }
  out_uint(o, mag / 100, 1);
  out_char(o, '.');
  out_uint(o, mag % 100, 2);
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
 * civil_from_days, restricted to days >= 0). */
static void civil_from_days(uint32_t days, uint32_t *y, uint32_t *m,
                            uint32_t *d)
{
  const uint32_t z = days + 719468;
  const uint32_t era = z / 146097;
  const uint32_t doe = z - era * 146097;
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

/* An ISO 8601 date, 2021-03-14, from days since the epoch. */
static void out_date(out_t *o, uint32_t days)
{
  uint32_t y, m, d;
  civil_from_days(days, &y, &m, &d);
  out_uint(o, y, 4);
  out_char(o, '-');
  out_uint(o, m, 2);
  out_char(o, '-');
  out_uint(o, d, 2);
}

/* An ISO 8601 UTC timestamp, 2023-07-01T12:34:56Z, from seconds since the
 * epoch. */
static void out_timestamp(out_t *o, uint64_t secs)
{
  const uint32_t sod = (uint32_t)(secs % 86400);
  out_date(o, (uint32_t)(secs / 86400));
  out_char(o, 'T');
  out_uint(o, sod / 3600, 2);
  out_char(o, ':');
  out_uint(o, sod / 60 % 60, 2);
  out_char(o, ':');
  out_uint(o, sod % 60, 2);
  out_char(o, 'Z');
}

/* One CSV field, quoted exactly when RFC 4180 requires it (a comma, a double
 * quote, CR or LF inside), with inner double quotes doubled. */
static void out_field(out_t *o, const char *s, size_t n)
{
  bool quote = false;
  for (size_t i = 0; i < n && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
  if (!quote) {
    out_mem(o, s, n);
    return;
  }
  out_char(o, '"');
  const char *start = s;
  const char *end = s + n;
  const char *q;
  while ((q = memchr(start, '"', (size_t)(end - start))) != NULL) {
    out_mem(o, start, (size_t)(q - start) + 1);
    out_char(o, '"');
    start = q + 1;
  }
  out_mem(o, start, (size_t)(end - start));
  out_char(o, '"');
}

static inline void out_field_str(out_t *o, const char *s)
{
  out_field(o, s, strlen(s));
}

/* ------------------------------------------------------------------------
 * A small fixed-capacity string builder for composed fields (emails, product
 * names, descriptions); it truncates rather than overflows, and nothing the
 * tables below can compose comes near its capacity.
 */

typedef struct {
  char buf[512]; /* the text, not NUL-terminated */
  size_t len;    /* bytes used */
} sb_t;

static void sb_mem(sb_t *b, const char *s, size_t n)
{
  if (n > sizeof b->buf - b->len)
    n = sizeof b->buf - b->len;
  memcpy(b->buf + b->len, s, n);
  b->len += n;
}

static void sb_str(sb_t *b, const char *s)
{
  sb_mem(b, s, strlen(s));
}

static void sb_char(sb_t *b, char c)
{
  sb_mem(b, &c, 1);
}

static void sb_uint(sb_t *b, uint32_t v)
{
  char tmp[12];
  size_t n = sizeof tmp;
  do {
    tmp[--n] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  sb_mem(b, tmp + n, sizeof tmp - n);
}

/* Appends s folded to an e-mail local part: ASCII letters lowercased, digits
 * kept, Latin-1 accented letters in UTF-8 (U+00C0..U+00FF) folded to their
 * base letter (José -> jose, Zoë -> zoe), everything else (apostrophes,
 * hyphens, spaces, other scripts) dropped. */
static void sb_slug(sb_t *b, const char *s)
{
  /* Base letters for U+00C0..U+00FF; '_' drops the character (x, /). */
  static const char latin1[] = "aaaaaaaceeeeiiiidnooooo_ouuuuyts"
                               "aaaaaaaceeeeiiiidnooooo_ouuuuyty";
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned char c = *p++;
    if (c >= 'A' && c <= 'Z')
      sb_char(b, (char)(c - 'A' + 'a'));
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      sb_char(b, (char)c);
    else if (c == 0xC3 && *p >= 0x80 && *p <= 0xBF) {
      char f = latin1[*p++ - 0x80];
      if (f != '_')
        sb_char(b, f);
    }
  }
}

/* ------------------------------------------------------------------------
 * customers: customer_id,first_name,last_name,email,phone,city,zip,country,
 *            signup_date,active,balance
 */

static const char *const first_names[] = {
    "James",   "Mary",      "John",    "Patricia",  "Robert",    "Jennifer",
    "Michael", "Linda",     "David",   "Elizabeth", "William",   "Barbara",
    "Richard", "Susan",     "Joseph",  "Jessica",   "Thomas",    "Sarah",
    "Charles", "Karen",     "Daniel",  "Lisa",      "Matthew",   "Nancy",
    "Anthony", "Sandra",    "Mark",    "Ashley",    "Steven",    "Emily",
    "Paul",    "Michelle",  "Andrew",  "Amanda",    "Kevin",     "Melissa",
    "Brian",   "Stephanie", "Ryan",    "Rebecca",   "Jacob",     "Laura",
    "Wei",     "Mei",       "Hiroshi", "Yuki",      "Priya",     "Arjun",
    "Olivia",  "Liam",      "Noah",    "Emma",      "Ava",       "Lucas",
    "José",    "Zoë",       "Renée",   "Chloé",     "Björn",     "François",
    "Søren",   "Noël",      "Inés",    "Sofía",     "Jürgen",    "Lucía",
    "Ángel",   "Hélène",    "Åsa",     "Dónal",     "Mary-Kate", "Jean-Luc",
};

static const char *const last_names[] = {
    "Smith",    "Johnson",  "Williams",     "Brown",      "Jones",
    "Garcia",   "Miller",   "Davis",        "Wilson",     "Anderson",
    "Taylor",   "Thomas",   "Moore",        "Jackson",    "Martin",
    "Lee",      "Thompson", "White",        "Harris",     "Clark",
    "Lewis",    "Robinson", "Walker",       "Young",      "Allen",
    "King",     "Wright",   "Scott",        "Hill",       "Green",
    "Adams",    "Baker",    "Nelson",       "Carter",     "Mitchell",
    "Roberts",  "Turner",   "Campbell",     "Parker",     "Evans",
    "Collins",  "Murphy",   "Nguyen",       "Patel",      "Kim",
    "Chen",     "Nakamura", "Singh",        "Weber",      "Fischer",
    "Wagner",   "Dupont",   "Moreau",       "Rossi",      "O'Brien",
    "O'Connor", "O'Neil",   "D'Angelo",     "D'Souza",    "Müller",
    "Núñez",    "García",   "Ibáñez",       "Martínez",   "Gómez",
    "Schröder", "Lefèvre",  "Åström",       "Rodríguez",  "Smith-Jones",
    "McDonald", "MacLeod",  "van der Berg", "de la Cruz",
};

static const char *const email_domains[] = {
    "example.com",      "example.net",      "example.org",
    "mail.example.com", "post.example.net",
};

typedef struct {
  const char *name;         /* UTF-8; may contain a comma or apostrophe */
  const char *zip_prefix;   /* first digits of its postal codes */
  const char *phone_prefix; /* international prefix, + and area code */
} city_t;

typedef struct {
  const char *code;      /* ISO 3166-1 alpha-2 */
  uint32_t weight;       /* share of customers, in percent */
  uint32_t phone_digits; /* random digits after the city's prefix */
  const city_t *cities;  /* cities of the country */
  uint32_t ncities;      /* entries in cities */
} country_t;

/* US numbers stay in 555-0100..0199, the range reserved for fiction. Zip
 * prefixes such as 005 (Holtsville) and 021 (Boston) give leading zeros. */
static const city_t us_cities[] = {
    {"New York", "100", "+1-212-555-01"},
    {"Brooklyn", "112", "+1-718-555-01"},
    {"Los Angeles", "900", "+1-213-555-01"},
    {"Chicago", "606", "+1-312-555-01"},
    {"Houston", "770", "+1-713-555-01"},
    {"Phoenix", "850", "+1-602-555-01"},
    {"Philadelphia", "191", "+1-215-555-01"},
    {"San Antonio", "782", "+1-210-555-01"},
    {"San Diego", "921", "+1-619-555-01"},
    {"Dallas", "752", "+1-214-555-01"},
    {"San José", "951", "+1-408-555-01"},
    {"Boston", "021", "+1-617-555-01"},
    {"Holtsville", "005", "+1-631-555-01"},
    {"Providence", "029", "+1-401-555-01"},
    {"Hartford", "061", "+1-860-555-01"},
    {"Newark", "071", "+1-973-555-01"},
    {"Burlington", "054", "+1-802-555-01"},
    {"Portland, ME", "041", "+1-207-555-01"},
    {"Portland, OR", "972", "+1-503-555-01"},
    {"Washington, D.C.", "200", "+1-202-555-01"},
    {"Springfield, IL", "627", "+1-217-555-01"},
    {"Kansas City, MO", "641", "+1-816-555-01"},
    {"Seattle", "981", "+1-206-555-01"},
    {"Denver", "802", "+1-303-555-01"},
    {"Atlanta", "303", "+1-404-555-01"},
    {"Miami", "331", "+1-305-555-01"},
    {"Coeur d'Alene", "838", "+1-208-555-01"},
    {"Minneapolis", "554", "+1-612-555-01"},
};

static const city_t de_cities[] = {
    {"Berlin", "101", "+49-30-"},
    {"Hamburg", "201", "+49-40-"},
    {"München", "803", "+49-89-"},
    {"Köln", "506", "+49-221-"},
    {"Frankfurt am Main", "603", "+49-69-"},
    {"Düsseldorf", "402", "+49-211-"},
    {"Dresden", "010", "+49-351-"},
};

static const city_t fr_cities[] = {
    {"Paris", "750", "+33-1-"},         {"Lyon", "690", "+33-4-"},
    {"Marseille", "130", "+33-4-"},     {"Toulouse", "310", "+33-5-"},
    {"Nice", "060", "+33-4-"},          {"Besançon", "250", "+33-3-"},
    {"Saint-Étienne", "420", "+33-4-"},
};

static const city_t es_cities[] = {
    {"Madrid", "280", "+34-91-"},   {"Barcelona", "080", "+34-93-"},
    {"València", "460", "+34-96-"}, {"Sevilla", "410", "+34-95-"},
    {"Málaga", "290", "+34-95-"},   {"A Coruña", "150", "+34-98-"},
};

static const city_t it_cities[] = {
    {"Roma", "001", "+39-06-"},    {"Milano", "201", "+39-02-"},
    {"Napoli", "801", "+39-081-"}, {"Torino", "101", "+39-011-"},
    {"Forlì", "471", "+39-0543-"},
};

static const city_t mx_cities[] = {
    {"Ciudad de México", "067", "+52-55-"}, {"Guadalajara", "441", "+52-33-"},
    {"Monterrey", "640", "+52-81-"},        {"Mérida", "970", "+52-999-"},
    {"Querétaro", "760", "+52-442-"},
};

/* Every country here has five-digit postal codes, so zip is one shape. The
 * weights add up to 100. */
static const country_t countries[] = {
    {"US", 70, 2, us_cities, ARRAY_LEN(us_cities)},
    {"DE", 8, 7, de_cities, ARRAY_LEN(de_cities)},
    {"FR", 7, 8, fr_cities, ARRAY_LEN(fr_cities)},
    {"ES", 6, 7, es_cities, ARRAY_LEN(es_cities)},
    {"IT", 5, 7, it_cities, ARRAY_LEN(it_cities)},
    {"MX", 4, 8, mx_cities, ARRAY_LEN(mx_cities)},
};

static const country_t *pick_country(rng_t *r)
{
  uint32_t x = rng_below(r, 100);
  for (uint32_t i = 0; i < ARRAY_LEN(countries); i++) {
    if (x < countries[i].weight)
      return &countries[i];
    x -= countries[i].weight;
  }
  return &countries[0];
}

/* n random decimal digits. */
static void out_digits(out_t *o, rng_t *r, uint32_t n)
{
  for (uint32_t i = 0; i < n; i++)
    out_char(o, (char)('0' + rng_below(r, 10)));
}

#define DAY_2015_01_01 16436u
#define DAY_2024_12_31 20088u
#define DAY_2020_01_01 18262u

static const char customers_header[] =
    "customer_id,first_name,last_name,email,phone,city,zip,country,"
    "signup_date,active,balance\n";

/* Ends email (a local part) with '@' and a domain and writes it, then picks
 * the customer's country and city and writes a phone number there:
 * "email,phone,". Returns the city; *country is its country. */
static const city_t *out_email_phone(out_t *o, rng_t *r, sb_t *email,
                                     const country_t **country)
{
  sb_char(email, '@');
  sb_str(email, PICK(r, email_domains));
  out_field(o, email->buf, email->len);
  out_char(o, ',');
  *country = pick_country(r);
  const city_t *city = &(*country)->cities[rng_below(r, (*country)->ncities)];
  out_str(o, city->phone_prefix);
  out_digits(o, r, (*country)->phone_digits);
  out_char(o, ',');
  return city;
}

/* city,zip,country,signup_date,active, of a customer in city. */
static void out_place_signup(out_t *o, rng_t *r, const country_t *country,
                             const city_t *city)
{
  out_field_str(o, city->name);
  out_char(o, ',');
  out_str(o, city->zip_prefix);
  out_digits(o, r, 5 - (uint32_t)strlen(city->zip_prefix));
  out_char(o, ',');
  out_str(o, country->code);
  out_char(o, ',');
  out_date(o, rng_range(r, DAY_2015_01_01, DAY_2024_12_31));
  out_char(o, ',');
  out_str(o, rng_percent(r, 82) ? "true" : "false");
  out_char(o, ',');
}

/* One customer record; id counts from 1. */
static void customer_row(out_t *o, rng_t *r, uint64_t id)
{
  const char *first = PICK(r, first_names);
  const char *last = PICK(r, last_names);

  out_uint(o, id, 1);
  out_char(o, ',');
  out_field_str(o, first);
  out_char(o, ',');
  out_field_str(o, last);
  out_char(o, ',');

  /* email: a few common shapes of the name, ASCII-folded */
  sb_t email = {.len = 0};
  switch (rng_below(r, 10)) {
  case 0:
  case 1:
  case 2:
  case 3:
    sb_slug(&email, first);
    sb_char(&email, '.');
    sb_slug(&email, last);
    break;
  case 4:
  case 5:
    sb_slug(&email, first);
    sb_slug(&email, last);
    sb_uint(&email, rng_range(r, 1, 99));
    break;
  case 6:
  case 7: {
    sb_t initial = {.len = 0};
    sb_slug(&initial, first);
    sb_mem(&email, initial.buf, initial.len > 0 ? 1 : 0);
    sb_slug(&email, last);
    break;
  }
  case 8:
    sb_slug(&email, first);
    sb_char(&email, '_');
    sb_slug(&email, last);
    break;
  default:
    sb_slug(&email, last);
    sb_char(&email, '.');
    sb_slug(&email, first);
    sb_uint(&email, rng_range(r, 1970, 2005));
    break;
  }
  const country_t *country;
  const city_t *city = out_email_phone(o, r, &email, &country);
  out_place_signup(o, r, country, city);

  /* balance: mostly small credit, some zero, some owing */
  int64_t cents;
  uint32_t kind = rng_below(r, 100);
  if (kind < 10)
    cents = -(int64_t)rng_range(r, 1, 99999);
  else if (kind < 22)
    cents = 0;
  else if (kind < 85)
    cents = (int64_t)rng_range(r, 1, 49999);
  else
    cents = (int64_t)rng_range(r, 50000, 999999);
  out_cents(o, cents);
  out_char(o, '\n');
}

/* ------------------------------------------------------------------------
 * mixed: customers as real exports look (for the benchmark's second file):
 *   customer_id,first_name,last_name,company,email,phone,address,city,zip,
 *   country,signup_date,active,balance,notes
 * About one record in six has a non-ASCII name; companies carry commas and
 * quotes; a quarter of the addresses take two lines; notes are mostly empty
 * or short, and one in forty is a long free text (a few hundred to about
 * two thousand bytes, with commas, quotes and line breaks).
 */

static const char *const mixed_first_ascii[] = {
    "James",   "Mary",  "John",  "Patricia", "Robert", "Jennifer",
    "Michael", "Linda", "David", "Wei",      "Priya",  "Olivia",
    "Liam",    "Noah",  "Emma",  "Ava",      "Lucas",  "Mary-Kate"};

static const char *const mixed_first_utf8[] = {
    "Zoë",  "Ólafur", "José",  "Renée", "Björn",  "François", "Søren",
    "Inés", "Jürgen", "Ángel", "Åsa",   "Łukasz", "Dvořák",   "Ξένια"};

static const char *const mixed_last_ascii[] = {
    "Smith",  "Johnson", "Williams", "Brown",        "Jones",     "Garcia",
    "Miller", "Davis",   "O'Brien",  "D'Angelo",     "Nguyen",    "Patel",
    "Kim",    "Chen",    "McDonald", "van der Berg", "de la Cruz"};

static const char *const mixed_last_utf8[] = {
    "Müller", "Núñez",     "Gómez",   "Schröder", "Lefèvre",
    "Åström", "Rodríguez", "Þórsson", "Wałęsa",   "Παπαδόπουλος"};

static const char *const mixed_companies[] = {
    "Acme, Inc.",
    "Smith & Sons",
    "The \"Best\" Widgets Co.",
    "Globex Corporation",
    "Initech, LLC",
    "Müller GmbH",
    "Wayne Enterprises",
    "\"Quotes\", Commas, and Co.",
    "Stark Industries",
    "Umbrella Corp.",
};

static const char *const mixed_streets[] = {
    "Main St",        "Oak Avenue",  "Maple Rd",    "Elm Street", "Park Lane",
    "Rue de la Paix", "Hauptstraße", "Calle Mayor", "Via Roma",   "Broadway",
};

static const char *const mixed_words[] = {
    "the",      "customer", "asked",     "about", "delivery", "invoice",
    "refund",   "order",    "was",       "late",  "and",      "damaged",
    "please",   "call",     "before",    "noon",  "prefers",  "email",
    "contact",  "résumé",   "naïve",     "café",  "account",  "closed",
    "reopened", "after",    "complaint", "about", "billing",  "support",
};

/* Free text of about n bytes: words, commas, now and then a quoted phrase or
 * a line break. */
static void mixed_text(char *buf, size_t cap, size_t *len, rng_t *r, size_t n)
{
  size_t at = 0;
  while (at < n && at + 40 < cap) {
    const char *w = PICK(r, mixed_words);
    size_t wl = strlen(w);
    uint32_t k = rng_below(r, 20);
    if (k == 0) {
      buf[at++] = '"';
      memcpy(buf + at, w, wl);
      at += wl;
      buf[at++] = '"';
    } else {
      memcpy(buf + at, w, wl);
      at += wl;
    }
    if (k == 1 || k == 2)
      buf[at++] = ',';
    else if (k == 3)
      buf[at++] = '.';
    buf[at++] = k == 4 && rng_percent(r, 30) ? '\n' : ' ';
  }
  while (at > 0 && (buf[at - 1] == ' ' || buf[at - 1] == '\n'))
    at--;
  *len = at;
}

static const char mixed_header[] =
    "customer_id,first_name,last_name,company,email,phone,address,city,zip,"
    "country,signup_date,active,balance,notes\n";

/* One mixed record; id counts from 1. */
static void mixed_row(out_t *o, rng_t *r, uint64_t id)
{
  bool utf8 = rng_below(r, 6) == 0;
  const char *first =
      utf8 ? PICK(r, mixed_first_utf8) : PICK(r, mixed_first_ascii);
  const char *last =
      utf8 ? PICK(r, mixed_last_utf8) : PICK(r, mixed_last_ascii);
  out_uint(o, id, 1);
  out_char(o, ',');
  out_field_str(o, first);
  out_char(o, ',');
  out_field_str(o, last);
  out_char(o, ',');
  if (rng_percent(r, 60))
    out_field_str(o, PICK(r, mixed_companies));
  out_char(o, ',');

  sb_t email = {.len = 0};
  sb_slug(&email, first);
  sb_char(&email, '.');
  sb_slug(&email, last);
  const country_t *country;
  const city_t *city = out_email_phone(o, r, &email, &country);

  sb_t addr = {.len = 0};
  sb_uint(&addr, rng_range(r, 1, 9999));
  sb_char(&addr, ' ');
  sb_str(&addr, PICK(r, mixed_streets));
  if (rng_percent(r, 25)) {
    sb_str(&addr, rng_percent(r, 50) ? "\nApt " : "\nSuite ");
    sb_uint(&addr, rng_range(r, 1, 999));
  }
  out_field(o, addr.buf, addr.len);
  out_char(o, ',');
  out_place_signup(o, r, country, city);
  int64_t cents = rng_percent(r, 15) ? -(int64_t)rng_range(r, 1, 99999)
                                     : (int64_t)rng_range(r, 0, 999999);
  out_cents(o, cents);
  out_char(o, ',');

  char text[2560];
  size_t tlen = 0;
  uint32_t kind = rng_below(r, 40);
  if (kind == 0)
    mixed_text(text, sizeof text, &tlen, r, rng_range(r, 300, 2000));
  else if (kind < 12)
    mixed_text(text, sizeof text, &tlen, r, rng_range(r, 10, 60));
  out_field(o, text, tlen);
  out_char(o, '\n');
}

/* ------------------------------------------------------------------------
 * products: sku,name,category,price,stock,weight_kg,description,created_at
 */

typedef struct {
  const char *name;     /* UTF-8; may contain an apostrophe */
  const char *category; /* category column */
  uint32_t price_lo;    /* dollars, inclusive */
  uint32_t price_hi;    /* dollars, inclusive */
  uint32_t grams_lo;    /* weight range in grams, inclusive */
  uint32_t grams_hi;    /* weight range in grams, inclusive */
  uint8_t inches[4];    /* sizes it comes in, 0-terminated; none if empty */
} product_kind_t;

static const product_kind_t product_kinds[] = {
    {"Pizza Stone", "Kitchen", 25, 60, 2500, 4500, {12, 14, 16, 0}},
    {"Chef's Knife", "Kitchen", 30, 180, 150, 300, {6, 8, 10, 0}},
    {"Cutting Board", "Kitchen", 15, 70, 600, 2500, {12, 16, 18, 0}},
    {"Cast Iron Skillet", "Kitchen", 20, 90, 1800, 3600, {8, 10, 12, 0}},
    {"Coffee Grinder", "Kitchen", 25, 200, 800, 2200, {0}},
    {"Crème Brûlée Torch", "Kitchen", 18, 45, 250, 450, {0}},
    {"Tea Kettle", "Kitchen", 20, 120, 700, 1500, {0}},
    {"Garden Hose", "Garden", 20, 80, 1500, 5000, {0}},
    {"Pruning Shears", "Garden", 12, 60, 200, 400, {0}},
    {"Raised Bed Planter", "Garden", 60, 250, 8000, 25000, {24, 0}},
    {"Watering Can", "Garden", 10, 40, 400, 1200, {0}},
    {"Desk Lamp", "Office", 20, 150, 700, 2500, {0}},
    {"Notebook", "Office", 3, 25, 150, 500, {0}},
    {"Monitor Stand", "Office", 25, 120, 1500, 4000, {0}},
    {"Ergonomic Chair", "Office", 120, 900, 12000, 22000, {0}},
    {"Monitor", "Electronics", 130, 900, 3500, 9000, {24, 27, 32, 0}},
    {"USB-C Cable", "Electronics", 8, 30, 30, 90, {0}},
    {"Bluetooth Speaker", "Electronics", 25, 300, 300, 2000, {0}},
    {"Laptop Sleeve", "Electronics", 15, 60, 200, 600, {13, 14, 16, 0}},
    {"Mechanical Keyboard", "Electronics", 50, 250, 700, 1400, {0}},
    {"Camping Tent", "Outdoors", 80, 600, 1500, 6000, {0}},
    {"Sleeping Bag", "Outdoors", 40, 350, 800, 2200, {0}},
    {"Trekking Poles", "Outdoors", 30, 180, 350, 700, {0}},
    {"Water Bottle", "Outdoors", 10, 45, 150, 450, {0}},
    {"Cordless Drill", "Tools", 50, 300, 1200, 2200, {0}},
    {"Socket Wrench Set", "Tools", 25, 200, 1500, 6000, {0}},
    {"Tape Measure", "Tools", 6, 35, 150, 400, {0}},
    {"Spirit Level", "Tools", 10, 60, 300, 1500, {9, 24, 0}},
    {"Building Blocks Set", "Toys", 15, 150, 400, 2500, {0}},
    {"Jigsaw Puzzle", "Toys", 10, 40, 300, 900, {0}},
    {"Kite", "Toys", 12, 60, 150, 500, {0}},
};

static const char *const product_adjectives[] = {
    "Classic", "Premium",      "Compact",   "Heavy-Duty",  "Eco",
    "Deluxe",  "Professional", "Essential", "Ultra-Light", "Vintage",
    "Smart",   "Everyday",     "Nordic",    "Café",
};

static const char *const product_variants[] = {
    "round", "square",      "set of 4", "2-pack",          "large",
    "small", "matte black", "blue",     "stainless steel", "refurbished",
};

static const char *const product_editions[] = {
    "Pro", "Signature", "Limited Edition", "Original", "XL",
};

static const char *const product_features[] = {
    "Made from recycled materials.",
    "Dishwasher safe, BPA free.",
    "Includes a 2-year warranty.",
    "Hand-finished in small batches.",
    "Lightweight, durable and easy to clean.",
    "Rated \"excellent\" by our testers.",
    "Fits most standard sizes.",
    "Ships in plastic-free packaging.",
    "Water-resistant to 30 m.",
    "Batteries not included.",
};

static const char *const product_care[] = {
    "Wipe clean with a damp cloth.",      "Store in a dry place.",
    "Not suitable for children under 3.", "Hand wash only; do not soak.",
    "Assembly required, tools included.",
};

static const char products_header[] =
    "sku,name,category,price,stock,weight_kg,description,created_at\n";

/* Appends one of the kind's sizes and an inch mark: 12" . */
static void sb_inches(sb_t *b, rng_t *r, const product_kind_t *k)
{
  uint32_t n = 0;
  while (n < sizeof k->inches && k->inches[n] != 0)
    n++;
  sb_uint(b, k->inches[rng_below(r, n)]);
  sb_str(b, "\" ");
}

/* Weight in grams as kilograms with one to three decimals: 2000 is "2.0",
 * 1250 is "1.25", 35 is "0.035". */
static void out_kg(out_t *o, uint32_t grams)
{
  uint32_t frac = grams % 1000;
  unsigned places = 3;
  while (places > 1 && frac % 10 == 0) {
    frac /= 10;
    places--;
  }
  out_uint(o, grams / 1000, 1);
  out_char(o, '.');
  out_uint(o, frac, places);
}

/* One product record; id counts from 1 and becomes the SKU. */
static void product_row(out_t *o, rng_t *r, uint64_t id)
{
  const product_kind_t *k = &PICK(r, product_kinds);
  const bool sized = k->inches[0] != 0;

  out_str(o, "SKU-");
  out_uint(o, id, 6);
  out_char(o, ',');

  /* name: sometimes a comma, sometimes double quotes, or both */
  sb_t name = {.len = 0};
  uint32_t shape = rng_below(r, 100);
  if (sized && shape >= 70 && shape < 90) {
    sb_inches(&name, r, k);
    sb_str(&name, k->name);
    if (shape >= 80) {
      sb_str(&name, ", ");
      sb_str(&name, PICK(r, product_variants));
    }
  } else if (shape < 50) {
    sb_str(&name, PICK(r, product_adjectives));
    sb_char(&name, ' ');
    sb_str(&name, k->name);
  } else if (shape < 70) {
    sb_str(&name, PICK(r, product_adjectives));
    sb_char(&name, ' ');
    sb_str(&name, k->name);
    sb_str(&name, ", ");
    sb_str(&name, PICK(r, product_variants));
  } else if (shape < 90) {
    sb_str(&name, k->name);
    sb_str(&name, ", ");
    sb_str(&name, PICK(r, product_variants));
  } else {
    sb_str(&name, k->name);
    sb_str(&name, " \"");
    sb_str(&name, PICK(r, product_editions));
    sb_char(&name, '"');
  }
  out_field(o, name.buf, name.len);
  out_char(o, ',');

  out_str(o, k->category);
  out_char(o, ',');

  /* price: retail-looking cents */
  static const uint32_t cents_choices[] = {99, 99, 99, 49, 95, 0};
  uint32_t cents =
      rng_percent(r, 80) ? PICK(r, cents_choices) : rng_below(r, 100);
  out_cents(o, (int64_t)rng_range(r, k->price_lo, k->price_hi) * 100 + cents);
  out_char(o, ',');

  /* stock: some sold out, most modest, a few large */
  uint32_t stock_kind = rng_below(r, 100);
  uint32_t stock = stock_kind < 8    ? 0
                   : stock_kind < 90 ? rng_range(r, 1, 250)
                                     : rng_range(r, 251, 5000);
  out_uint(o, stock, 1);
  out_char(o, ',');

  out_kg(o, rng_range(r, k->grams_lo, k->grams_hi));
  out_char(o, ',');

  /* description: empty, one line, or two lines in one quoted field */
  sb_t desc = {.len = 0};
  uint32_t dshape = rng_below(r, 100);
  if (dshape < 12) {
    /* empty */
  } else if (dshape < 27) {
    sb_str(&desc, PICK(r, product_features));
    sb_char(&desc, '\n');
    sb_str(&desc, PICK(r, product_care));
  } else if (dshape < 70) {
    sb_str(&desc, PICK(r, product_features));
  } else {
    sb_str(&desc, PICK(r, product_features));
    sb_char(&desc, ' ');
    sb_str(&desc, PICK(r, product_care));
  }
  out_field(o, desc.buf, desc.len);
  out_char(o, ',');

  out_timestamp(o,
                (uint64_t)rng_range(r, DAY_2020_01_01, DAY_2024_12_31) * 86400 +
                    rng_below(r, 86400));
  out_char(o, '\n');
}

/* ------------------------------------------------------------------------
 * Command line and main.
 */

typedef struct {
  const char *name;   /* table name on the command line */
  const char *header; /* header line, LF-terminated */
  void (*row)(out_t *o, rng_t *r, uint64_t id); /* writes record id */
} table_t;

static const table_t tables[] = {
    {"customers", customers_header, customer_row},
    {"products", products_header, product_row},
    {"mixed", mixed_header, mixed_row},
};

typedef struct {
  const char *long_name; /* --long_name */
  char letter;           /* -letter */
  const char *arg;       /* argument name, NULL when it takes none */
  const char *help;      /* one line for --help */
} gen_option_t;

static const gen_option_t gen_options[] = {
    {"seed", 's', "N", "PRNG seed, a decimal integer 0..2^64-1 (default 1)"},
    {"output", 'o', "FILE", "write to FILE instead of standard output"},
    {"help", 'h', NULL, "show this help and exit"},
};

typedef struct {
  const table_t *table; /* what to generate */
  uint64_t rows;        /* records after the header */
  uint64_t seed;        /* PRNG seed */
  const char *output;   /* file name, NULL or "-" for standard output */
  bool help;            /* --help was given */
} gen_args_t;

static void usage(FILE *fp)
{
  fprintf(fp,
          "Usage: " PROG " customers|products|mixed ROWS [--seed N] [-o FILE]\n"
          "\n"
          "Write a CSV sample (header line + ROWS records, LF line ends,\n"
          "UTF-8, RFC 4180 quoting) that is identical on every machine for\n"
          "the same table, ROWS and seed.\n"
          "\n"
          "  customers  customer_id,first_name,last_name,email,phone,city,\n"
          "             zip,country,signup_date,active,balance\n"
          "  products   sku,name,category,price,stock,weight_kg,description,\n"
          "             created_at\n"
          "  mixed      customers as real exports look: non-ASCII names,\n"
          "             quoted commas and quotes, two-line addresses, notes\n"
          "\n"
          "Options:\n");
  for (uint32_t i = 0; i < ARRAY_LEN(gen_options); i++) {
    const gen_option_t *opt = &gen_options[i];
    char left[32];
    snprintf(left, sizeof left, "-%c, --%s%s%s", opt->letter, opt->long_name,
             opt->arg ? " " : "", opt->arg ? opt->arg : "");
    fprintf(fp, "  %-20s %s\n", left, opt->help);
  }
  fprintf(fp, "\n"
              "Exit status: 0 success, 1 the output could not be written,\n"
              "2 usage error.\n");
}

/* Parses a decimal unsigned 64-bit number: digits only, no sign, no
 * whitespace, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
  if (s[0] < '0' || s[0] > '9')
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *out = (uint64_t)v;
  return true;
}

/* Fills args from argv. Returns false after printing "loader-gen: message"
 * on stderr when the command line is wrong. */
static bool parse_args(int argc, char **argv, gen_args_t *args)
{
  enum { NOPT = ARRAY_LEN(gen_options) };
  struct option longopts[NOPT + 1];
  char shortopts[2 + 2 * NOPT + 1];
  size_t ns = 0;

  shortopts[ns++] = ':'; /* report a missing argument as ':' */
  for (uint32_t i = 0; i < NOPT; i++) {
    const gen_option_t *opt = &gen_options[i];
    longopts[i] = (struct option){opt->long_name,
                                  opt->arg ? required_argument : no_argument,
                                  NULL, opt->letter};
    shortopts[ns++] = opt->letter;
    if (opt->arg)
      shortopts[ns++] = ':';
  }
  longopts[NOPT] = (struct option){NULL, 0, NULL, 0};
  shortopts[ns] = '\0';

  *args = (gen_args_t){.table = NULL, .rows = 0, .seed = 1};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
    switch (c) {
    case 's':
      if (!parse_u64(optarg, &args->seed)) {
        fprintf(stderr, PROG ": bad seed '%s': want a decimal integer\n",
                optarg);
        return false;
      }
      break;
    case 'o':
      args->output = optarg;
      break;
    case 'h':
      args->help = true;
      return true;
    case ':':
      fprintf(stderr, PROG ": option '%s' needs an argument\n",
              argv[optind - 1]);
      return false;
    default:
      /* getopt sets optopt for an unknown short option, 0 for a long one */
      if (optopt != 0)
        fprintf(stderr, PROG ": unknown option '-%c' (see --help)\n", optopt);
      else
        fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
                argv[optind - 1]);
      return false;
    }
  }

  if (argc - optind != 2) {
    fprintf(stderr, PROG
            ": want a table and a row count: customers|products|mixed ROWS "
            "(see --help)\n");
    return false;
  }
  for (uint32_t i = 0; i < ARRAY_LEN(tables); i++) {
    if (strcmp(argv[optind], tables[i].name) == 0)
      args->table = &tables[i];
  }
  if (args->table == NULL) {
    fprintf(stderr,
            PROG ": unknown table '%s': want customers, products or mixed\n",
            argv[optind]);
    return false;
  }
  if (!parse_u64(argv[optind + 1], &args->rows)) {
    fprintf(stderr, PROG ": bad row count '%s': want a decimal integer\n",
            argv[optind + 1]);
    return false;
  }
  return true;
}

/* Writes the header and args->rows records to the chosen output. Returns
 * false after printing a message if the output could not be opened or
 * written; a partly written regular output file is removed. */
static bool generate(const gen_args_t *args)
{
  bool ok = false;
  const bool to_stdout = args->output == NULL || strcmp(args->output, "-") == 0;
  const char *where = to_stdout ? "standard output" : args->output;
  bool regular = false; /* output is a regular file, removed on failure */
  out_t o = {.fp = stdout};
  rng_t rng;
  struct stat st;

  if (!to_stdout) {
    o.fp = fopen(args->output, "wb");
    if (o.fp == NULL) {
      fprintf(stderr, PROG ": cannot open '%s': %s\n", args->output,
              strerror(errno));
      goto out;
    }
    regular = fstat(fileno(o.fp), &st) == 0 && S_ISREG(st.st_mode);
  }
  o.buf = malloc(OUT_CAP);
  if (o.buf == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    goto out_close;
  }

  rng_seed(&rng, args->seed);
  out_str(&o, args->table->header);
  for (uint64_t i = 0; i < args->rows && !o.failed; i++)
    args->table->row(&o, &rng, i + 1);
  out_flush(&o);
  if (!o.failed && fflush(o.fp) != 0) {
    o.failed = true;
    o.err = errno;
  }
  if (o.failed) {
    fprintf(stderr, PROG ": cannot write %s: %s\n", where, strerror(o.err));
    goto out_free;
  }
  ok = true;

out_free:
  free(o.buf);
out_close:
  if (!to_stdout && fclose(o.fp) != 0 && ok) {
    fprintf(stderr, PROG ": cannot write %s: %s\n", where, strerror(errno));
    ok = false;
  }
  /* a half-written sample must not pass for a whole one; a device or a pipe
   * given as FILE is of course left alone */
  if (regular && !ok)
    remove(args->output);
out:
  return ok;
}

int main(int argc, char **argv)
{
  gen_args_t args;

  if (!parse_args(argc, argv, &args))
    return EXIT_USAGE;
  if (args.help) {
    usage(stdout);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_IO;
  }
  return generate(&args) ? EXIT_SUCCESS : EXIT_IO;
}
