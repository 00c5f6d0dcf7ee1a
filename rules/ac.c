/*
 * ac.c - Aho-Corasick (1975) as a full DFA over byte classes.
 *
 * Only bytes that occur in some literal get a class of their own; every
 * other byte shares class 0, so the table is states x (classes + 1) ints.
 * Text bytes are folded with tolower() through the same map. Each state
 * records the literal ending there (or -1) and a link to the nearest
 * suffix state that ends a literal, so a scan reports every literal.
 *
 * Ownership: the automaton owns its arrays; ac_free() releases them.
 * SECURITY: ac_scan() reads untrusted text; it only indexes tables with
 * class numbers from a 256-entry map, so any byte is safe.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xalloc.h"
#include "rules/ac.h"
#include "rules/rx.h"

#define AC_ROWS_MAX	0x40000000u	/* rows past this: next[] walk */
#define AC_SPLIT_MIN	512	/* a text walked in two halves at once */

struct ac {
	unsigned char	 cls[256];	/* byte -> class (0 = in no literal) */
	int		 ncls;		/* classes incl. 0 */
	int		*next;		/* trie then DFA: [state * ncls + c] */
	int		*fail;
	int		*out;		/* literal ending here, or -1 */
	int		*dict;		/* next suffix state with out, or -1 */
	/*
	 * The scan's table: [row + c] -> the next state's row. States
	 * that end no literal have rows below emit (a power of two), those
	 * that end one (themselves or by a suffix) rows from emit on: a
	 * walk tests "row >= emit", or for two walks "(row | row2) >=
	 * emit", no flag to mask off each byte.
	 */
	uint32_t	*trans;
	uint32_t	 emit;
	size_t		 nquiet;	/* states below emit */
	size_t		 nstates;
	size_t		 cap;
	size_t		 nlits;
	char		**lits;		/* the literals, to build later */
	size_t		*litlen;
	size_t		 maxlen;	/* the longest literal */
	int		 built;
};

struct ac *
ac_new(void)
{
	struct ac *a = xcalloc(1, sizeof(*a));

	return a;
}

void
ac_free(struct ac *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nlits; i++)
		free(a->lits[i]);
	free(a->lits);
	free(a->litlen);
	free(a->next);
	free(a->fail);
	free(a->out);
	free(a->dict);
	free(a->trans);
	free(a);
}

int
ac_add(struct ac *a, const char *s, size_t len)
{
	char *l = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		l[i] = (char)tolower((unsigned char)s[i]);
	l[len] = '\0';
	for (size_t i = 0; i < a->nlits; i++)
		if (a->litlen[i] == len && memcmp(a->lits[i], l, len) == 0) {
			free(l);
			return (int)i;
		}
	a->lits = xreallocarray(a->lits, a->nlits + 1, sizeof(*a->lits));
	a->litlen = xreallocarray(a->litlen, a->nlits + 1, sizeof(size_t));
	a->lits[a->nlits] = l;
	a->litlen[a->nlits] = len;
	if (len > a->maxlen)
		a->maxlen = len;
	return (int)a->nlits++;
}

static int
new_state(struct ac *a)
{
	if (a->nstates == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		a->next = xreallocarray(a->next, a->cap * (size_t)a->ncls,
		    sizeof(int));
		a->out = xreallocarray(a->out, a->cap, sizeof(int));
	}
	for (int c = 0; c < a->ncls; c++)
		a->next[a->nstates * (size_t)a->ncls + (size_t)c] = -1;
	a->out[a->nstates] = -1;
	return (int)a->nstates++;
}

/* the row of (renumbered) state id in trans[], and back */
static uint32_t
ac_row(const struct ac *a, size_t id)
{
	size_t nc = (size_t)a->ncls;

	return (uint32_t)(id < a->nquiet ? id * nc : a->emit +
	    (id - a->nquiet) * nc);
}

static int
ac_state(const struct ac *a, size_t row)
{
	size_t nc = (size_t)a->ncls;

	return (int)(row < a->emit ? row / nc : a->nquiet +
	    (row - a->emit) / nc);
}

void
ac_build(struct ac *a)
{
	int *queue;
	size_t qh = 0, qt = 0;

	/* byte classes: one per distinct (folded) byte used by literals */
	memset(a->cls, 0, sizeof(a->cls));
	a->ncls = 1;
	for (size_t i = 0; i < a->nlits; i++)
		for (size_t j = 0; j < a->litlen[i]; j++) {
			unsigned char b = (unsigned char)a->lits[i][j];

			if (a->cls[b] == 0)
				a->cls[b] = (unsigned char)a->ncls++;
		}
	for (int b = 'A'; b <= 'Z'; b++)
		a->cls[b] = a->cls[tolower(b)];
	new_state(a);		/* root */
	for (size_t i = 0; i < a->nlits; i++) {
		int s = 0;

		for (size_t j = 0; j < a->litlen[i]; j++) {
			int c = a->cls[(unsigned char)a->lits[i][j]];
			size_t k = (size_t)s * (size_t)a->ncls + (size_t)c;

			if (a->next[k] < 0) {
				int t = new_state(a);

				a->next[k] = t;	/* next may have moved */
			}
			s = a->next[(size_t)s * (size_t)a->ncls + (size_t)c];
		}
		a->out[s] = (int)i;
	}
	a->fail = xcalloc(a->nstates, sizeof(int));
	a->dict = xcalloc(a->nstates, sizeof(int));
	queue = xcalloc(a->nstates, sizeof(int));
	a->dict[0] = -1;
	for (int c = 0; c < a->ncls; c++) {
		int t = a->next[c];

		if (t < 0)
			a->next[c] = 0;
		else {
			a->fail[t] = 0;
			a->dict[t] = -1;
			queue[qt++] = t;
		}
	}
	while (qh < qt) {
		int s = queue[qh++];

		for (int c = 0; c < a->ncls; c++) {
			size_t k = (size_t)s * (size_t)a->ncls + (size_t)c;
			int t = a->next[k];
			int f = a->next[(size_t)a->fail[s] * (size_t)a->ncls +
			    (size_t)c];

			if (t < 0) {
				a->next[k] = f;
				continue;
			}
			a->fail[t] = f;
			a->dict[t] = a->out[f] >= 0 ? f : a->dict[f];
			queue[qt++] = t;
		}
	}
	if (a->nstates * (size_t)a->ncls >= AC_ROWS_MAX / 2) {
		free(queue);
		a->built = 1;	/* too big for the packed table: next[] */
		return;
	}
	/*
	 * The scan's table numbers states breadth first: a text spends
	 * most of its bytes in the few states near the root, which then sit
	 * together at the start of the table (6,600 states x 56 classes of
	 * the SpamAssassin body literals are 1.5 MB, more than a core's
	 * cache). The states that end a literal come after all others,
	 * from row emit on (the rows between are never read). out[] and
	 * dict[] follow the new numbers.
	 */
	{
		size_t ns = a->nstates, nc = (size_t)a->ncls, nq = 0, ne = 0;
		int *newid = xcalloc(ns, sizeof(int));
		int *out2 = xcalloc(ns, sizeof(int));
		int *dict2 = xcalloc(ns, sizeof(int));
		uint32_t emit = 1;

		/* root first, then breadth first; quiet ones, then the rest */
		for (size_t pass = 0; pass < 2; pass++)
			for (size_t q = 0; q <= qt; q++) {
				size_t st = q == 0 ? 0 : (size_t)queue[q - 1];
				/* the root, where walks begin, at row 0 */
				int loud = st != 0 && (a->out[st] >= 0 ||
				    a->dict[st] >= 0);

				if ((size_t)loud != pass)
					continue;
				newid[st] = (int)(nq + ne);
				if (loud)
					ne++;
				else
					nq++;
			}
		while (emit < nq * nc)
			emit <<= 1;
		a->emit = emit;
		a->nquiet = nq;
		a->trans = xcalloc(emit + ne * nc, sizeof(uint32_t));
		for (size_t st = 0; st < ns; st++) {
			size_t ni = (size_t)newid[st];
			uint32_t row = ac_row(a, ni);

			out2[ni] = a->out[st];
			dict2[ni] = a->dict[st] >= 0 ? newid[a->dict[st]] : -1;
			for (size_t c = 0; c < nc; c++)
				a->trans[row + c] = ac_row(a,
				    (size_t)newid[a->next[st * nc + c]]);
		}
		free(a->out);
		free(a->dict);
		a->out = out2;
		a->dict = dict2;
		free(newid);
	}
	free(queue);
	a->built = 1;
}

size_t
ac_count(const struct ac *a)
{
	return a->nlits;
}

size_t
ac_states(const struct ac *a)
{
	return a->nstates;
}

/*
 * Record the literals that end at state st (its own output and those of
 * its dictionary suffix links), each once per text: seen[] marks them,
 * found[] (when not NULL) lists them. Returns the new count.
 */
static size_t
emit_state(const struct ac *a, int st, unsigned char *seen, int *found,
    size_t nfound)
{
	for (int u = a->out[st] >= 0 ? st : a->dict[st]; u > 0;
	    u = a->dict[u]) {
		if (!seen[a->out[u]]) {
			seen[a->out[u]] = 1;
			if (found != NULL)
				found[nfound] = a->out[u];
			nfound++;
		}
	}
	return nfound;
}

size_t
ac_scan_found(const struct ac *a, const char *text, size_t len,
    unsigned char *seen, int *found, uint64_t have[4])
{
	const unsigned char *p = (const unsigned char *)text;
	const uint32_t *trans = a->trans;
	const unsigned char *cls = a->cls;
	size_t ncls = (size_t)a->ncls, nfound = 0;
	size_t s = 0;		/* a row of trans: widened once, not per byte */
	const uint32_t emit = a->emit;

	have[0] = have[1] = have[2] = have[3] = 0;
	if (!a->built || a->nlits == 0) {
		for (size_t i = 0; i < len; i++)
			have[p[i] >> 6] |= (uint64_t)1 << (p[i] & 63);
		return 0;
	}
	if (trans == NULL) {
		int st = 0;

		for (size_t i = 0; i < len; i++) {
			have[p[i] >> 6] |= (uint64_t)1 << (p[i] & 63);
			st = a->next[(size_t)st * ncls + cls[p[i]]];
			nfound = emit_state(a, st, seen, found, nfound);
		}
		return nfound;
	}
	if (len >= AC_SPLIT_MIN && len / 2 > a->maxlen) {
		/*
		 * Two walks at once, over the first half and over the rest
		 * from maxlen - 1 bytes before it: a walk is a chain of
		 * dependent table loads, two independent chains overlap
		 * their latencies. The state after maxlen - 1 bytes does
		 * not depend on where a walk began, and every literal ending
		 * in the second half begins at or after the second start:
		 * the two find exactly the literals of the text (seen[]
		 * keeps each once). The two walks also mark the bytes
		 * present: together they cover the whole text. (With only
		 * empty literals, maxlen is 0: the second walk starts at the
		 * middle, not one byte after it.)
		 */
		unsigned char flags[256];
		size_t mid = len / 2,
		    b = mid - (a->maxlen > 0 ? a->maxlen - 1 : 0), s2 = 0;
		const unsigned char *q = p + b;

		memset(flags, 0, sizeof(flags));
		for (size_t i = 0; i < mid; i++) {
			unsigned c = p[i], c2 = q[i];
			uint32_t t = trans[s + cls[c]];
			uint32_t t2 = trans[s2 + cls[c2]];

			flags[c] = 1;
			flags[c2] = 1;
			s = t;
			s2 = t2;
			/* one test for both walks: emits are rare */
			if ((t | t2) >= emit) {
				if (t >= emit)
					nfound = emit_state(a, ac_state(a, s),
					    seen, found, nfound);
				if (t2 >= emit)
					nfound = emit_state(a, ac_state(a, s2),
					    seen, found, nfound);
			}
		}
		for (size_t i = b + mid; i < len; i++) {
			uint32_t t2 = trans[s2 + cls[p[i]]];

			flags[p[i]] = 1;
			s2 = t2;
			if (t2 >= emit)
				nfound = emit_state(a, ac_state(a, s2), seen,
				    found, nfound);
		}
		rx_bytes_pack(flags, have);
		return nfound;
	}
	if (len >= RX_BYTES_PACK_MIN) {
		/* the bytes present as flags, packed at the end */
		unsigned char flags[256];

		memset(flags, 0, sizeof(flags));
		for (size_t i = 0; i < len; i++) {
			uint32_t t = trans[s + cls[p[i]]];

			flags[p[i]] = 1;
			s = t;
			if (t >= emit)
				nfound = emit_state(a, ac_state(a, s), seen,
				    found, nfound);
		}
		rx_bytes_pack(flags, have);
		return nfound;
	}
	for (size_t i = 0; i < len; i++) {
		uint32_t t = trans[s + cls[p[i]]];

		have[p[i] >> 6] |= (uint64_t)1 << (p[i] & 63);
		s = t;
		if (t >= emit)
			nfound = emit_state(a, ac_state(a, s), seen, found,
			    nfound);
	}
	return nfound;
}

size_t
ac_scan(const struct ac *a, const char *text, size_t len,
    unsigned char *seen)
{
	uint64_t have[4];

	return ac_scan_found(a, text, len, seen, NULL, have);
}
