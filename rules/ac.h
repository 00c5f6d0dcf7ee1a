/*
 * ac.h - a compact Aho-Corasick automaton over bytes, ASCII case folded:
 * finds, in one pass over a text, every literal of a set (the prefilter's
 * required strings). Built once at load, then read-only and shared by
 * threads; ac_scan() keeps no state in the automaton.
 */
#ifndef HAMLET_AC_H
#define HAMLET_AC_H

#include <stddef.h>
#include <stdint.h>

struct ac;

struct ac *ac_new(void);
void ac_free(struct ac *a);
/*
 * Add a literal (any bytes, folded to lowercase) before ac_build().
 * Returns its id (0, 1, ...); adding the same string twice returns the
 * first id. An empty literal is never reported.
 */
int ac_add(struct ac *a, const char *s, size_t len);
/* Finish: failure links and the full transition table. */
void ac_build(struct ac *a);
/* Number of literals. */
size_t ac_count(const struct ac *a);
/* States, for statistics. */
size_t ac_states(const struct ac *a);
/*
 * Mark seen[id] = 1 for every literal occurring in text (seen has
 * ac_count() bytes, zeroed by the caller). Returns the number of newly
 * marked literals.
 */
size_t ac_scan(const struct ac *a, const char *text, size_t len,
    unsigned char *seen);
/*
 * The same, also appending each newly marked id to found (ac_count()
 * ints, or NULL), and setting have to the bytes present in text (as
 * rx_bytes_present()): one pass for both.
 */
size_t ac_scan_found(const struct ac *a, const char *text, size_t len,
    unsigned char *seen, int *found /* OUT */, uint64_t have[4] /* OUT */);

#endif
