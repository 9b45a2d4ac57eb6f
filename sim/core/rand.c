/* Random streams.  The generator is xoshiro256** (Blackman and Vigna); a
 * stream's state comes from SplitMix64 over (seed XOR a 64-bit FNV-1a hash
 * of the component name), which is the seeding its authors recommend. */
#include "sim/core/rand.h"

#include <stdarg.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

#define FNV1A64_START 0xcbf29ce484222325ull

/* FNV-1a over @s, from @h: a byte at a time, so the hash of a name
 * continued piece by piece is the hash of the whole name. */
static uint64_t fnv1a64(uint64_t h, const char *s) {
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

static void seed_from(NlRand *r, uint64_t seed, uint64_t name_hash) {
  uint64_t x = seed ^ name_hash;
  /* Mix the seed in twice so that seeds differing in one bit still give
   * unrelated streams for the same name. */
  x = splitmix64(&x) ^ seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

void nl_rand_init(NlRand *r, uint64_t seed, const char *name) {
  g_return_if_fail(r != NULL && name != NULL);
  seed_from(r, seed, fnv1a64(FNV1A64_START, name));
}

void nl_rand_init_parts(NlRand *r, uint64_t seed, const char *first, ...) {
  g_return_if_fail(r != NULL && first != NULL);
  uint64_t h = FNV1A64_START;
  va_list ap;
  va_start(ap, first);
  for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
    h = fnv1a64(h, s);
  va_end(ap);
  seed_from(r, seed, h);
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t nl_rand_u64(NlRand *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double nl_rand_double(NlRand *r) {
  return (double)(nl_rand_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t nl_rand_below(NlRand *r, uint64_t n) {
  g_return_val_if_fail(n > 0, 0);
  /* Rejection sampling on the top of the range keeps it unbiased. */
  uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  uint64_t x;
  do
    x = nl_rand_u64(r);
  while (x >= limit);
  return x % n;
}

gboolean nl_rand_chance(NlRand *r, double p) {
  if (p <= 0.0)
    return FALSE;
  if (p >= 1.0)
    return TRUE;
  return nl_rand_double(r) < p;
}
