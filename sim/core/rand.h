/* Random streams derived from the scenario seed by component name, so that
 * adding a host never changes another host's randomness.
 */
#ifndef NL_RAND_H
#define NL_RAND_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* xoshiro256** state.  Value type: copy it to fork a stream. */
typedef struct {
  uint64_t s[4];
} NlRand;

/**
 * nl_rand_init: seeds @r from @seed and @name ("host:alice/link-loss").
 * The same (seed, name) always gives the same sequence.
 */
void nl_rand_init(NlRand *r, uint64_t seed, const char *name);

/**
 * nl_rand_init_parts: nl_rand_init with the name given in pieces, the
 * NULL-terminated strings from @first on ("link:", node, "/", network):
 * the stream of their concatenation, without putting it together (a large
 * world seeds thousands).
 */
void nl_rand_init_parts(NlRand *r, uint64_t seed, const char *first, ...)
    G_GNUC_NULL_TERMINATED;

uint64_t nl_rand_u64(NlRand *r);

/* Uniform in [0, 1). */
double nl_rand_double(NlRand *r);

/* Uniform in [0, @n), without modulo bias.  @n must be > 0. */
uint64_t nl_rand_below(NlRand *r, uint64_t n);

/* TRUE with probability @p (0 → never, 1 → always). */
gboolean nl_rand_chance(NlRand *r, double p);

G_END_DECLS

#endif
