/*
 * tok.h - the Bayes tokenizer: turns a parsed message (msg.h) into a set
 * of 64-bit token hashes.
 *
 * Tokens, each kind under its own prefix so the same word in different
 * places counts apart:
 *   visible body words (no prefix) and, optionally, sparse word pairs
 *   (OSB; off: on the SpamAssassin corpus they made (1-AUC) worse, the
 *   pairs of one phrase are strongly correlated evidence); invisible
 *   HTML text "I:"; Subject "S:"; address headers (From, To, Cc,
 *   Reply-To, Sender, ...) as words, whole addresses and their domains;
 *   Received relays (host names and addresses only, and the /24 of an
 *   IPv4 address); Message-ID host; X-Mailer and
 *   User-Agent; Content-Type; Date zone; List-Id (the other List-*
 *   headers repeat it); other headers as the start of the value plus its
 *   first six words (a long free-text header must not outvote the
 *   body); URI hosts with each parent domain and path pieces; MIME part
 *   types, charsets, encodings; attachment types and extensions; parser
 *   anomalies.
 * Words are case-folded (UTF-8 aware), at least 3 bytes long; longer
 * than 24 bytes become a "skip" token of their first 10 bytes; numbers
 * and prices ($19.99, 1,000) are kept. ID-like header words (long mixes
 * of letters and digits) are dropped: they never repeat.
 *
 * Headers whose names start with one of the ignore prefixes (config
 * bayes_ignore_headers: X-Spam-, X-Bogosity, ...) are skipped.
 *
 * The result is free of duplicates (each token counts once per message,
 * as in bogofilter), in no particular order. Hash 0 is never produced (it is the store's
 * totals key). Changing the tokenizer invalidates learned data; the
 * store's format string must change with it.
 *
 * SECURITY: reads untrusted mail text; every loop is bounded by the
 * lengths in the msg and by TOK_MAX_TOKENS.
 */
#ifndef HAMLET_TOK_H
#define HAMLET_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "engine/buf.h"
#include "engine/msg.h"

#define TOK_MAX_TOKENS	20000	/* per message, before deduplication */
/* set in the hash of every header token, clear in all others */
#define TOK_HDR_BIT	((uint64_t)1 << 63)

struct tok_opts {
	char	**ignore;	/* lowercased header-name prefixes */
	size_t	  nignore;
	int	  osb;		/* emit sparse word pairs (measured worse on
				   the SpamAssassin corpus: off) */
};

struct toklist {
	uint64_t *h;
	size_t	  n, cap;
	uint64_t *set;		/* duplicate filter (open addressing) */
	size_t	  setcap;
	int	  setbits;
	int	  keep_text;	/* tests: also record each token's text */
	struct buf text;	/* "token\n" per emitted token (not deduped) */
};

/* Parse a space-separated prefix list (may be NULL). */
void tok_opts_init(struct tok_opts *o, const char *ignore_list, int osb);
void tok_opts_free(struct tok_opts *o);

void toklist_init(struct toklist *l);
void toklist_clear(struct toklist *l);
void toklist_free(struct toklist *l);

/* Tokenize m into l (cleared first); l ends free of duplicates. */
void tok_msg(const struct msg *m, const struct tok_opts *o,
    struct toklist *l);

/* The hash of one token text (never 0). */
uint64_t tok_hash(const char *s, size_t n);

#endif
