/*
 * test_rules.c - unit tests of the rules module: regex delimiters and
 * flags, literal extraction, Aho-Corasick, meta expressions (boolean and
 * arithmetic), the .cf parser (conditionals, ReplaceTags, if-unset,
 * scores), body paragraphs, the prefilter against running every regex,
 * and the PCRE2 match limit on a catastrophic pattern.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/msg.h"
#include "engine/xalloc.h"
#include "engine/pool.h"
#include "rules/ac.h"
#include "rules/htmlmeta.h"
#include "rules/metaexpr.h"
#include "rules/relays.h"
#include "rules/rfcdate.h"
#include "rules/rmatch.h"
#include "rules/rules.h"
#include "rules/ruleset.h"
#include "rules/rx.h"
#include "tests/unit/testhelp.h"

static int
resolve(const char *name, size_t len, void *arg)
{
	(void)arg;
	if (len == 1 && (name[0] >= 'A' && name[0] <= 'E'))
		return name[0] - 'A';
	return -1;
}

static double
meta(const char *src, const double *vals)
{
	struct metaexpr *m;
	char err[128];
	double v;

	if (metaexpr_compile(src, resolve, NULL, &m, err, sizeof(err)) != ST_OK)
		return -999;
	v = metaexpr_eval(m, vals);
	metaexpr_free(m);
	return v;
}

static void
test_meta(void)
{
	double v[5] = { 1, 0, 3, 0, 2 };
	struct metaexpr *m;
	char err[128];

	test_cond("meta and", meta("A && C", v) == 3);
	test_cond("meta or", meta("B || C", v) == 3);
	test_cond("meta not", meta("!B && !D", v) == 1);
	test_cond("meta arithmetic", meta("(A + C + E) > 5", v) == 1);
	test_cond("meta arithmetic false", meta("A + B + D >= 2", v) == 0);
	test_cond("meta precedence * over +", meta("A + C * E", v) == 7);
	test_cond("meta division", meta("C / 2", v) == 1.5);
	test_cond("meta divide by zero is 0", meta("C / B", v) == 0);
	test_cond("meta == and !=", meta("(C == 3) + (E != 2)", v) == 1);
	test_cond("meta unary minus", meta("-C + 4", v) == 1);
	test_cond("meta <= <", meta("(E <= 2) && (E < 2)", v) == 0);
	test_cond("meta unknown name fails",
	    metaexpr_compile("A && ZZ", resolve, NULL, &m, err,
	    sizeof(err)) != ST_OK);
	test_cond("meta unbalanced fails",
	    metaexpr_compile("(A && C", resolve, NULL, &m, err,
	    sizeof(err)) != ST_OK);
	test_cond("meta trailing junk fails",
	    metaexpr_compile("A C", resolve, NULL, &m, err,
	    sizeof(err)) != ST_OK);
}

/* ---- short-circuit evaluation (metaexpr_eval_fn, metaexpr_plan) ---- */

struct fetchlog {
	const double	*vals;
	int		 fetched[5];
};

static double
fetch_logged(int var, void *arg)
{
	struct fetchlog *l = arg;

	l->fetched[var]++;
	return l->vals[var];
}

static double
cost_by_var(int var, void *arg)
{
	const double *cost = arg;

	return cost[var];
}

/* a random expression over A..E with every operator, depth-bounded */
static void
rand_expr(char *out, size_t cap, unsigned *seed, int depth)
{
	static const char *const bin[] = { "&&", "||", "+", "-", "*", "/", "<",
	    "<=", ">", ">=", "==", "!=", "&&", "||", "&&" };
	size_t n = strlen(out);

	if (n + 64 > cap)
		return;
	*seed = *seed * 1103515245u + 12345u;
	switch (depth <= 0 ? 0 : (*seed >> 16) % 5) {
	case 0:
		snprintf(out + n, cap - n, "%c", 'A' + (int)((*seed >> 8) % 5));
		break;
	case 1:
		snprintf(out + n, cap - n, "!");
		rand_expr(out, cap, seed, depth - 1);
		break;
	case 2:
		snprintf(out + n, cap - n, "%u", (*seed >> 8) % 3);
		break;
	default:
		snprintf(out + n, cap - n, "(");
		rand_expr(out, cap, seed, depth - 1);
		n = strlen(out);
		*seed = *seed * 1103515245u + 12345u;
		snprintf(out + n, cap - n, " %s ", bin[(*seed >> 16) % 15]);
		rand_expr(out, cap, seed, depth - 1);
		n = strlen(out);
		snprintf(out + n, cap - n, ")");
		break;
	}
}

static void
test_meta_lazy(void)
{
	static const double pool[] = { 0, 1, 2, 3, -1, 0.5, 0 };
	struct metaexpr *m;
	char err[128], src[1024];
	unsigned seed = 7;
	int same = 1, truth = 1, bsame = 1, n = 0;

	/* && stops at a false operand, the cheap one first */
	{
		double v[5] = { 1, 0, 3, 0, 2 }, cost[5] = { 5, 0, 1, 0, 0 };
		struct fetchlog l = { v, { 0 } };

		metaexpr_compile("A && B && C", resolve, NULL, &m, err,
		    sizeof(err));
		(void)metaexpr_plan(m, 0, cost_by_var, cost);
		test_cond("lazy and: false", metaexpr_eval_fn(m, fetch_logged,
		    &l) == 0);
		test_cond("lazy and: cheap false operand first, A and C not "
		    "fetched", l.fetched[1] == 1 && l.fetched[0] == 0 &&
		    l.fetched[2] == 0);
		metaexpr_free(m);
	}
	/* numeric ||: the first true operand as written, not the cheapest */
	{
		double v[5] = { 2, 0, 3, 0, 2 }, cost[5] = { 9, 0, 0, 0, 0 };
		struct fetchlog l = { v, { 0 } };

		metaexpr_compile("(A || C) + 1", resolve, NULL, &m, err,
		    sizeof(err));
		double c = metaexpr_plan(m, 0, cost_by_var, cost);

		test_cond("plan cost is the sum of its variables (and a "
		    "little per node)", c > 9 && c < 9.1);
		test_cond("lazy or in arithmetic keeps its value",
		    metaexpr_eval_fn(m, fetch_logged, &l) == 3);
		metaexpr_free(m);
	}
	/* boolean ||: a cheap true operand decides, A not fetched */
	{
		double v[5] = { 2, 0, 3, 0, 2 }, cost[5] = { 9, 0, 0, 0, 0 };
		struct fetchlog l = { v, { 0 } };

		metaexpr_compile("!(A || C)", resolve, NULL, &m, err,
		    sizeof(err));
		(void)metaexpr_plan(m, 1, cost_by_var, cost);
		test_cond("lazy or under ! short-circuits on the cheap operand",
		    metaexpr_eval_fn(m, fetch_logged, &l) == 0 &&
		    l.fetched[0] == 0 && l.fetched[2] == 1);
		metaexpr_free(m);
	}
	/*
	 * Random expressions and values: the short-circuit tree under any
	 * plan gives metaexpr_eval()'s value (its truth when only the truth
	 * is used).
	 */
	for (int e = 0; e < 400; e++) {
		src[0] = '\0';
		rand_expr(src, sizeof(src), &seed, 5);
		if (metaexpr_compile(src, resolve, NULL, &m, err, sizeof(err)) !=
		    ST_OK)
			continue;
		for (int t = 0; t < 20; t++) {
			double v[5], cost[5], a, b;
			int boolroot;
			struct fetchlog l;

			for (int k = 0; k < 5; k++) {
				seed = seed * 1103515245u + 12345u;
				v[k] = pool[(seed >> 16) % 7];
				cost[k] = (double)((seed >> 8) % 4);
			}
			boolroot = (int)(seed >> 4) & 1;
			(void)metaexpr_plan(m, boolroot, cost_by_var, cost);
			l.vals = v;
			a = metaexpr_eval(m, v);
			b = metaexpr_eval_fn(m, fetch_logged, &l);
			if (boolroot)
				truth &= (a != 0) == (b != 0);
			else
				same &= a == b;
			n++;
		}
		metaexpr_free(m);
	}
	/*
	 * Bounded sums: terms of known max (whole numbers in [0, 3]), some
	 * values known up front; same value as the full evaluation.
	 */
	for (int e = 0; e < 400; e++) {
		static const double maxes[5] = { 3, 3, 3, 3, 3 };

		src[0] = '\0';
		rand_expr(src, sizeof(src), &seed, 5);
		if (metaexpr_compile(src, resolve, NULL, &m, err, sizeof(err)) !=
		    ST_OK)
			continue;
		for (int t = 0; t < 20; t++) {
			double v[5], cost[5];
			unsigned char known[5];
			struct fetchlog l;

			for (int k = 0; k < 5; k++) {
				seed = seed * 1103515245u + 12345u;
				v[k] = (double)((seed >> 16) % 4);
				cost[k] = (double)((seed >> 8) % 4);
				known[k] = (seed >> 4) & 1;
			}
			(void)metaexpr_plan(m, 0, cost_by_var, cost);
			metaexpr_set_bounds(m, cost_by_var, (void *)maxes);
			l.vals = v;
			bsame &= metaexpr_eval(m, v) == metaexpr_eval_bounded(m,
			    v, known, 1, fetch_logged, &l);
			n++;
		}
		metaexpr_free(m);
	}
	/* and sums of every size against every threshold */
	for (int e = 0; e < 200; e++) {
		static const double maxes[5] = { 3, 3, 3, 3, 3 };
		static const char *const sums[] = { "A + B", "A + B + C",
		    "A + B + C + D + E", "B + A + B", "E + D" };

		seed = seed * 1103515245u + 12345u;
		snprintf(src, sizeof(src), "%s %s %u", sums[(seed >> 16) % 5],
		    (seed >> 8) & 1 ? ">" : ">=", (seed >> 20) % 9);
		if (metaexpr_compile(src, resolve, NULL, &m, err, sizeof(err)) !=
		    ST_OK) {
			bsame = 0;
			continue;
		}
		for (int t = 0; t < 20; t++) {
			double v[5], cost[5];
			unsigned char known[5];
			struct fetchlog l;

			for (int k = 0; k < 5; k++) {
				seed = seed * 1103515245u + 12345u;
				v[k] = (double)((seed >> 16) % 4);
				cost[k] = (double)((seed >> 8) % 4);
				known[k] = (seed >> 4) & 1;
			}
			(void)metaexpr_plan(m, 1, cost_by_var, cost);
			metaexpr_set_bounds(m, cost_by_var, (void *)maxes);
			l.vals = v;
			bsame &= metaexpr_eval(m, v) == metaexpr_eval_bounded(m,
			    v, known, 1, fetch_logged, &l);
		}
		metaexpr_free(m);
	}
	test_cond("random metas: enough cases", n > 8000);
	test_cond("random metas: bounded sums give the full value", bsame);
	/* A + B + C > 1, A known 0: B (cheaper) 0 decides, C not fetched */
	{
		double v[5] = { 0, 0, 1, 0, 0 }, cost[5] = { 0, 1, 5, 0, 0 };
		static const double one[5] = { 1, 1, 1, 1, 1 };
		unsigned char known[5] = { 1, 0, 0, 1, 1 };
		struct fetchlog l = { v, { 0 } };

		metaexpr_compile("A + B + C > 1", resolve, NULL, &m, err,
		    sizeof(err));
		(void)metaexpr_plan(m, 1, cost_by_var, cost);
		metaexpr_set_bounds(m, cost_by_var, (void *)one);
		test_cond("bounded sum: false once the maxima cannot reach",
		    metaexpr_eval_bounded(m, v, known, 1, fetch_logged, &l) ==
		    0 && l.fetched[1] == 1 && l.fetched[2] == 0);
		metaexpr_free(m);
	}
	test_cond("random metas: short-circuit value equals full value", same);
	test_cond("random metas: boolean plan keeps the truth", truth);
}

static void
test_rx(void)
{
	char *pat;
	unsigned fl;
	const char *end;
	struct rx_lits l;
	pcre2_code *re;
	char err[256];

	test_cond("rx /re/i", rx_parse("/fo\\/o/i", &pat, &fl, &end) ==
	    ST_OK && strcmp(pat, "fo\\/o") == 0 && fl == PCRE2_CASELESS);
	free(pat);
	test_cond("rx m{re}sm", rx_parse("m{a{2}b}sm", &pat, &fl, &end) ==
	    ST_OK && strcmp(pat, "a{2}b") == 0 &&
	    fl == (PCRE2_DOTALL | PCRE2_MULTILINE));
	free(pat);
	test_cond("rx m!re!x", rx_parse("m!a b!x", &pat, &fl, &end) == ST_OK &&
	    fl == PCRE2_EXTENDED);
	free(pat);
	test_cond("rx no delimiter", rx_parse("abc", &pat, &fl, &end) != ST_OK);
	test_cond("rx e modifier refused",
	    rx_parse("/a/e", &pat, &fl, &end) != ST_OK);
	re = rx_compile("(?<!\\\\)\\bfoo\\d+", 0, err, sizeof(err));
	test_cond("rx compiles lookbehind", re != NULL);
	pcre2_code_free(re);
	test_cond("rx bad pattern reported",
	    rx_compile("a(b", 0, err, sizeof(err)) == NULL && err[0] != 0);

	test_cond("lits simple", rx_literals("\\bcredit card\\b", 0, &l) &&
	    l.n == 1 && strcmp(l.s[0], "credit card") == 0);
	test_cond("lits alternation", rx_literals("(?:viagra|cialis) now", 0,
	    &l) && l.n == 2 && strcmp(l.s[0], "viagra") == 0);
	test_cond("lits longer run wins", rx_literals("(?:ab|cd) pharmacy",
	    0, &l) && l.n == 1 && strcmp(l.s[0], " pharmacy") == 0);
	test_cond("lits top alternation", rx_literals("foobar|bazqux", 0, &l) &&
	    l.n == 2);
	test_cond("lits optional char dropped", rx_literals("colou?r", 0, &l) &&
	    l.n == 1 && strcmp(l.s[0], "colo") == 0);
	test_cond("lits case folded", rx_literals("FREE", 0, &l) &&
	    strcmp(l.s[0], "free") == 0);
	test_cond("lits none for classes", !rx_literals("\\d+\\s\\w+", 0, &l));
	{
		static const char *const av[] = { "https://", "http://",
		    NULL };
		const char *news = "^https?:\\/\\/(?:[\\w-]+\\.)*"
		    "(?:nytimes|bbc)\\.";

		test_cond("lits: http taken, fewer", rx_literals(news, 0, &l) &&
		    l.n == 1 && strcmp(l.s[0], "http") == 0);
		test_cond("lits: http avoided when there are others",
		    rx_literals_avoid(news, 0, av, &l) && l.n == 2 &&
		    strcmp(l.s[0], "nytimes") == 0 &&
		    strcmp(l.s[1], "bbc") == 0);
		test_cond("lits: http kept when there is nothing else",
		    rx_literals_avoid("^https:\\/\\/\\d", 0, av, &l) &&
		    l.n == 1 && strcmp(l.s[0], "https://") == 0);
		test_cond("lits: avoiding is for one walk",
		    rx_literals(news, 0, &l) && strcmp(l.s[0], "http") == 0);
	}
	test_cond("lits none with empty branch", !rx_literals("(?:abc|)", 0,
	    &l) || l.n == 0);
	test_cond("lits none for x flag", !rx_literals("abc def",
	    PCRE2_EXTENDED, &l));
	test_cond("lits optional group", rx_literals("(?:hello )?world", 0,
	    &l) && strcmp(l.s[0], "world") == 0);
	test_cond("lits hex escape", rx_literals("\\x41bc", 0, &l) &&
	    strcmp(l.s[0], "abc") == 0);
	test_cond("lits quantified group", rx_literals("(?:abc)+x", 0, &l) &&
	    strcmp(l.s[0], "abc") == 0);
}

/* 1 when the split of pat (flags) has n groups, 0 when there is none */
static int
split_groups(const char *pat, unsigned flags, size_t n)
{
	char err[128];
	pcre2_code *re = rx_compile(pat, flags, err, sizeof(err));
	struct rx_split *s = re != NULL ? rx_split_new(pat, flags, re) : NULL;
	int ok = n == 0 ? s == NULL : s != NULL && s->n == n;

	rx_split_free(s);
	pcre2_code_free(re);
	return ok;
}

/* rx_split_match() agrees with one search of the whole pattern */
static int
split_agrees(const char *pat, unsigned flags, const char *const *texts)
{
	char err[128];
	pcre2_code *re = rx_compile(pat, flags, err, sizeof(err));
	struct rx_split *s = re != NULL ? rx_split_new(pat, flags, re) : NULL;
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	int ok = s != NULL;

	for (size_t i = 0; ok && texts[i] != NULL; i++) {
		size_t len = strlen(texts[i]);
		int whole = pcre2_match(re, (PCRE2_SPTR)texts[i], len, 0, 0,
		    md, NULL) >= 0;

		ok = rx_split_match(s, texts[i], len, md, NULL) == whole;
	}
	pcre2_match_data_free(md);
	rx_split_free(s);
	pcre2_code_free(re);
	return ok;
}

/* rx_within_line(): its verdicts, and no match crossing a newline */
static void
test_within_line(void)
{
	static const char *const yes[] = { "^[^\\n]{998,}$", "abc\\d+\\w",
	    "(?:ab|c\\S)+", "[^<\\n]{5}x", "(?<=b)foo", "[a-z\\]]{3}",
	    "[^\\s]{4}", "\\h\\V\\/" };
	static const char *const no[] = { "a\\sb", "[^a]{3}", "a.b",
	    "[\\W]x", "\\Ra", "(?s)a", "[\\x00-\\x7f]", "a\\nb", "\\x0ax",
	    "[[:space:]]", "(a)\\1", "\\Hx", "[\\t-z]", "\\Dq", "[\\x01-z]",
	    "[!-~\\t-z]", "(?<=\\s)foo", "[\x01-z]", "[\\\x01-z]" };
	int ok = 1;
	unsigned seed = 7;
	char text[400];
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!rx_within_line(yes[i], 0)) {
			printf("  within a line, not seen: %s\n", yes[i]);
			ok = 0;
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (rx_within_line(no[i], 0)) {
			printf("  may cross a line, taken: %s\n", no[i]);
			ok = 0;
		}
	test_cond("within a line: verdicts", ok);
	test_cond("within a line: x flag refused",
	    !rx_within_line("abc", PCRE2_EXTENDED));
	/* what is said to stay within a line never matches a newline */
	ok = 1;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		char err[128];
		pcre2_code *re = rx_compile(yes[i], PCRE2_MULTILINE, err,
		    sizeof(err));

		if (re == NULL) {
			ok = 0;
			continue;
		}
		for (int round = 0; round < 200; round++) {
			PCRE2_SIZE start = 0, *ov;

			for (size_t k = 0; k < sizeof(text); k++) {
				seed = seed * 1103515245u + 12345u;
				text[k] = "ab c\n<\\/]9_\t\r"[(seed >> 16) % 13];
			}
			while (start < sizeof(text) && pcre2_match(re,
			    (PCRE2_SPTR)text, sizeof(text), start, 0, md,
			    NULL) > 0) {
				ov = pcre2_get_ovector_pointer(md);
				if (memchr(text + ov[0], '\n', ov[1] - ov[0]))
					ok = 0;
				start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
			}
		}
		pcre2_code_free(re);
	}
	pcre2_match_data_free(md);
	test_cond("within a line: no match holds a newline", ok);
}

/* rx_letter_run(): its verdicts, and every match holds such a run */
static void
test_letter_run(void)
{
	static const struct {
		const char	*pat;
		size_t		 n;
	} v[] = {
		{ "\\b[a-z]{25,}\\b", 25 }, { "x[A-Za-z]{3}y[a-zA-Z]{7,9}", 7 },
		{ "(?<!\\w)[A-Z]{4}+", 4 }, { "[a-z]{5}|b", 0 },
		{ "(?:[a-z]{30})?x", 0 }, { "(?i)[a-z]{30}", 0 },
		{ "\\Q[a-z]{30}\\E", 0 }, { "[a-z0-9]{30}", 0 },
		{ "[^a-z]{30}", 0 }, { "\\[a-z]{30}", 0 },
		{ "[]a-z]{30}", 0 }, { "a(?=[a-z]{9})[a-z]{6}", 6 },
		{ "[a-z]{2,}", 2 }, { "[a-z]{,3}", 0 },
		/* not quantifiers in PCRE2 10.42: literal text */
		{ "[a-z]{16,", 0 }, { "[a-z]{5,x}", 0 }, { "[a-z]{3,4}", 3 },
	};
	int ok = 1;
	unsigned seed = 11;
	char text[300];
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (rx_letter_run(v[i].pat, 0) != v[i].n) {
			printf("  letter run of %s: %zu, not %zu\n", v[i].pat,
			    rx_letter_run(v[i].pat, 0), v[i].n);
			ok = 0;
		}
	test_cond("letter runs: verdicts", ok);
	test_cond("anchors: found outside classes only",
	    rx_has_anchor("a^") && rx_has_anchor("\\Aa") &&
	    rx_has_anchor("a\\z") && rx_has_anchor("a$") &&
	    rx_has_anchor("a\\G") && !rx_has_anchor("[^a]b") &&
	    !rx_has_anchor("\\$x[$]") && !rx_has_anchor("\\^\\b"));
	{
		static const struct {
			const char	*pat;
			unsigned	 flags;
			size_t		 n;
		} u[] = {
			{ "\\b[A-Z]{4,}\\b[\\s,.!]+(?:\\b[A-Z]{4,}\\b"
			    "[\\s,.!]+){4}", 0, 4 },
			{ "\\b[A-Z]{4,}\\b", PCRE2_CASELESS, 0 },
			{ "(?i)[A-Z]{9}", 0, 0 }, { "(?:[A-Z]{4,} ){5}", 0, 0 },
			{ "[a-z]{20}", 0, 0 }, { "[A-Za-z]{6}", 0, 0 },
			{ "x[A-Z]{2}y[A-Z]{7,}", 0, 7 }, { "[A-Z]{5}|x", 0, 0 },
			{ "[A-Z]{4,", 0, 0 }, { "[A-Z]{4,5", 0, 0 },
		};

		ok = 1;
		for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
			if (rx_upper_run(u[i].pat, u[i].flags) != u[i].n) {
				printf("  upper run of %s: %zu, not %zu\n",
				    u[i].pat, rx_upper_run(u[i].pat,
				    u[i].flags), u[i].n);
				ok = 0;
			}
		test_cond("upper-case runs: verdicts", ok);
		ok = rx_digit_run("\\b[a-z]{2,6}\\d{3,}[a-z]{1,4}\\d{2,}",
		    PCRE2_CASELESS) == 3 && rx_digit_run("x[0-9]{5}", 0) == 5 &&
		    rx_digit_run("(?:\\d{4})", 0) == 0 &&
		    rx_digit_run("\\d{4}|x", 0) == 0 &&
		    rx_digit_run("\\d+", 0) == 0 &&
		    rx_digit_run("\\\\d{4}", 0) == 0 &&
		    rx_digit_run("[0-9a]{4}", 0) == 0 &&
		    rx_digit_run("\\d{3,", 0) == 0 &&
		    rx_digit_run("[0-9]{3,x}", 0) == 0 &&
		    rx_digit_run("x\\d{3,5}", 0) == 3;
		test_cond("digit runs: verdicts", ok);
	}
	/* a match of a pattern said to need n letters holds n in a row */
	ok = 1;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char err[128];
		pcre2_code *re;

		if (v[i].n == 0 || (re = rx_compile(v[i].pat, PCRE2_CASELESS,
		    err, sizeof(err))) == NULL)
			continue;
		for (int round = 0; round < 300; round++) {
			PCRE2_SIZE *ov;
			size_t run = 0, best = 0;

			for (size_t k = 0; k < sizeof(text); k++) {
				seed = seed * 1103515245u + 12345u;
				text[k] = (seed >> 16) % 9 == 0 ? ' ' :
				    "abXYxy"[(seed >> 20) % 6];
			}
			if (pcre2_match(re, (PCRE2_SPTR)text, sizeof(text), 0,
			    0, md, NULL) <= 0)
				continue;
			ov = pcre2_get_ovector_pointer(md);
			for (size_t k = ov[0]; k < ov[1]; k++) {
				run = text[k] != ' ' ? run + 1 : 0;
				if (run > best)
					best = run;
			}
			if (best < v[i].n)
				ok = 0;
		}
		pcre2_code_free(re);
	}
	pcre2_match_data_free(md);
	test_cond("letter runs: every match holds one", ok);
	/* rmatch_has_letters() against the longest run, byte by byte */
	ok = 1;
	for (int round = 0; round < 3000; round++) {
		size_t len, run = 0, best = 0, urun = 0, ubest = 0, drun = 0;
		size_t dbest = 0;
		struct rtext t;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % 120;
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			text[k] = (seed >> 16) % (2 + round % 13) == 0 ?
			    "1 _@[`{"[(seed >> 20) % 7] : "azAZ5"[(seed >> 21) % 5];
			run = text[k] >= 'A' ? run + 1 : 0;
			if (strchr("_`{[@", text[k]) != NULL)
				run = 0;
			if (run > best)
				best = run;
			urun = text[k] >= 'A' && text[k] <= 'Z' ? urun + 1 : 0;
			if (urun > ubest)
				ubest = urun;
			drun = text[k] >= '0' && text[k] <= '9' ? drun + 1 : 0;
			if (drun > dbest)
				dbest = drun;
		}
		t.p = text;
		t.len = len;
		for (size_t n = 1; n < 40; n++)
			if (rmatch_has_letters(&t, n) != (best >= n) ||
			    rmatch_has_upper(&t, n) != (ubest >= n) ||
			    rmatch_has_digits(&t, n) != (dbest >= n))
				ok = 0;
	}
	test_cond("letter runs: found exactly when there", ok);
}

/*
 * Combs: what rx_comb_new() reads from a pattern; every match holds the
 * comb; rx_comb_in() answers as a byte-by-byte look (texts of every
 * length around the 64-byte words).
 */
static void
test_comb(void)
{
	static const struct {
		const char	*pat;
		unsigned	 flags;
		int		 b;		/* 0: no comb */
		unsigned	 n, last;
	} v[] = {
		{ " [a-z] (?<=\\b[a-z] [a-z] )[a-z] [a-z] [a-z] (?:[a-z] )*"
		    "[a-z]\\b", PCRE2_CASELESS, ' ', 5, 8 },
		{ "a-\\d-.-(?=x)[^-]-", 0, '-', 4, 6 },
		{ "x\\.\\b\\w\\.\\s\\.", 0, '.', 3, 4 },
		{ "\\*\\*\\*", 0, '*', 3, 2 },
		{ " a b c d|x", 0, 0, 0, 0 },
		{ " a b+ c d e", 0, 0, 0, 0 },
		{ " a (?:b) c d e", 0, 0, 0, 0 },
		{ " a b", 0, 0, 0, 0 },
		{ " a b c d", PCRE2_EXTENDED, 0, 0, 0 },
		{ "(*UTF) a b c d", 0, 0, 0, 0 },
		{ "\\x20a\\x20b\\x20c\\x20", 0, 0, 0, 0 },
		{ "aAaAaA", 0, 0, 0, 0 },
	};
	static const char *const sound[] = {
		" [a-z] (?<=\\b[a-z] [a-z] )[a-z] [a-z] [a-z] (?:[a-z] )*"
		    "[a-z]\\b",
		"a-\\d-.-(?=x)[^-]-",
		"(?<=--)- . -\\W-",
	};
	int ok = 1, held = 1, same = 1, matches = 0;
	unsigned seed = 5;
	char text[300];
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct rx_comb *c = rx_comb_new(v[i].pat, v[i].flags);

		if ((c == NULL) != (v[i].b == 0) || (c != NULL &&
		    (c->b != v[i].b || c->n != v[i].n || c->off[0] != 0 ||
		    c->off[c->n - 1] != v[i].last))) {
			printf("  comb of /%s/: %s\n", v[i].pat, c == NULL ?
			    "none" : "other");
			ok = 0;
		}
		free(c);
	}
	test_cond("comb: read from the patterns", ok);
	for (size_t i = 0; i < sizeof(sound) / sizeof(sound[0]); i++) {
		char err[128];
		pcre2_code *re = rx_compile(sound[i], PCRE2_CASELESS, err,
		    sizeof(err));
		struct rx_comb *c = rx_comb_new(sound[i], PCRE2_CASELESS);

		if (re == NULL || c == NULL) {
			held = 0;
			continue;
		}
		for (int round = 0; round < 3000; round++) {
			size_t len;

			seed = seed * 1103515245u + 12345u;
			len = (seed >> 16) % sizeof(text);
			for (size_t k = 0; k < len; k++) {
				seed = seed * 1103515245u + 12345u;
				text[k] = (seed >> 16) % 3 == 0 ? " -"[c->b ==
				    '-'] : "ab-.x1 "[(seed >> 20) % 7];
			}
			if (pcre2_match(re, (PCRE2_SPTR)text, len, 0, 0, md,
			    NULL) <= 0)
				continue;
			matches++;
			if (!rx_comb_in(c, text, len))
				held = 0;
		}
		pcre2_code_free(re);
		free(c);
	}
	test_cond("comb: every match holds it", held && matches > 20);
	for (int round = 0; round < 20000; round++) {
		struct rx_comb c;
		size_t len;
		int want = 0;

		memset(&c, 0, sizeof(c));
		c.b = ' ';
		seed = seed * 1103515245u + 12345u;
		c.n = 1 + (seed >> 16) % 4;
		for (unsigned k = 1; k < c.n; k++) {
			seed = seed * 1103515245u + 12345u;
			c.off[k] = c.off[k - 1] + 1 + (seed >> 16) % 21;
		}
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(text);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			text[k] = (seed >> 16) % (2 + round % 5) == 0 ? ' ' :
			    'a';
		}
		for (size_t i = 0; i + c.off[c.n - 1] < len && !want; i++) {
			unsigned k = 0;

			while (k < c.n && text[i + c.off[k]] == ' ')
				k++;
			want = k == c.n;
		}
		if (rx_comb_in(&c, text, len) != want)
			same = 0;
	}
	test_cond("comb: found exactly when there", same);
	pcre2_match_data_free(md);
}

/*
 * The body text's whitespace collapsed as SpamAssassin does, against a
 * plain byte-by-byte model, on random texts long enough for the
 * sixteen-byte copy (words and runs of every length, bytes >= 0x80).
 */
static void
test_collapse(void)
{
	static const char ws[] = " \t\n\r\f\v";
	struct ruleset *rs = ruleset_new();
	unsigned seed = 17;
	int same = 1;

	for (int round = 0; round < 400 && same; round++) {
		struct pool *p = pool_new();
		struct msg m;
		struct rscan *sc;
		char text[700], want[800];
		size_t len, wl = 0, got = 0, i = 0;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(text);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			text[k] = (seed >> 16) % (3 + round % 29) == 0 ?
			    ws[(seed >> 22) % 6] : (seed >> 20) % 7 == 0 ?
			    (char)(0x80 + (seed >> 24) % 128) :
			    "abc9.<"[(seed >> 24) % 6];
		}
		while (i < len) {
			size_t j = i, nnl = 0, first = 0, last = 0;

			if (strchr(ws, text[i]) == NULL) {
				want[wl++] = text[i++];
				continue;
			}
			for (; j < len && strchr(ws, text[j]) != NULL; j++)
				if (text[j] == '\n') {
					if (nnl++ == 0)
						first = j;
					last = j;
				}
			if (nnl >= 2) {
				if (first > i)
					want[wl++] = ' ';
				want[wl++] = '\n';
				if (last + 1 < j)
					want[wl++] = ' ';
			} else
				want[wl++] = ' ';
			i = j;
		}
		memset(&m, 0, sizeof(m));
		m.visible = text;
		m.visible_len = len;
		sc = rmatch_new(p, rs, &m, NULL, 0);
		rmatch_build_texts(sc);
		/* after the Subject line ("\n"), the lines in order */
		for (size_t k = 1; k < sc->nbody && same; k++) {
			if (got + sc->body[k].len > wl ||
			    memcmp(sc->body[k].p, want + got,
			    sc->body[k].len) != 0)
				same = 0;
			got += sc->body[k].len;
		}
		if (got != wl)
			same = 0;
		pool_free(p);
	}
	test_cond("body: whitespace collapsed as the model does", same);
	rules_free(rs);
}

static void
test_rx_split(void)
{
	static const char *const code[] = { "x#include", "#include",
	    "foo();", "();", "$a->b", "a$a->b", "printf", "sprintf",
	    "make install", "gcc", "gcc-3", "nothing here", "", NULL };
	static const char *const toll[] = { "TOLL-FREE", "call 1-800-555-1234",
	    "tollfree", "x1-800-555-1234", "Free", NULL };

	/* #, (, $, p, s, d, m, g: four groups of two bytes */
	test_cond("split: bytes in pairs", split_groups("(?<=\\w)\\#include|"
	    "(?<=\\w)\\(\\);|(?<=\\w)\\$\\w+->\\w|\\bprintf|\\bsub \\w+ \\{|"
	    "\\bdef \\w+\\(|\\bmake install\\b|\\bgcc\\b", 0, 4));
	test_cond("split: a caseless letter fills a group",
	    split_groups("free|1800|x", PCRE2_CASELESS, 3));
	test_cond("split: same first byte, one group", split_groups("ab|ac|zz|"
	    "zy|q", 0, 2));
	test_cond("split: none with a first byte already",
	    split_groups("abc|abd", 0, 0));
	test_cond("split: none in one group", split_groups("ab|cd", 0, 0));
	test_cond("split: none for one alternative", split_groups("[ab]c", 0,
	    0));
	test_cond("split: none without a first byte",
	    split_groups("ab|[cd]e|fg", 0, 0));
	test_cond("split: none with a back reference",
	    split_groups("(a)x|b\\1|c", 0, 0));
	test_cond("split: none with option settings",
	    split_groups("(?i)ab|cd|ef", 0, 0));
	test_cond("split: none with verbs", split_groups("ab(*SKIP)|cd|ef",
	    0, 0));
	test_cond("split: none with more groups", split_groups("ab|cd|ef|gh|"
	    "ij|kl|mn|op|qr|st", 0, 0));
	test_cond("split: '|' in a class or group is not a top-level bar",
	    split_groups("a[|b]c|(?:dx|dy)f|gh", 0, 2));
	test_cond("split: same answer as the whole (code)", split_agrees(
	    "(?<=\\w)\\#include|(?<=\\w)\\(\\);|(?<=\\w)\\$\\w+->\\w|"
	    "\\bprintf|\\bsub \\w+ \\{|\\bdef \\w+\\(|\\bmake install\\b|"
	    "\\bgcc\\b", 0, code));
	test_cond("split: an anchored alternative is a group apart",
	    split_groups("\\A>[^\\n]*\\n|\\n>[^\\n]*\\n", 0, 2) &&
	    split_groups("\\Aab|\\Acd|xy", 0, 2));
	{
		static const char *const quoted[] = { "> a\n> b\n> c\n",
		    "x\n> a\n> b\n> c\n", "> a\n> b\nx\n> c\n",
		    "x> a\n> b\n> c\n", "\n>\n>\n>\n", "> a\n> b\n",
		    NULL };

		test_cond("split: same answer as the whole (anchored)",
		    split_agrees("\\A>[^\\n]*\\n(?:>[^\\n]*\\n){2}|"
		    "\\n>[^\\n]*\\n>[^\\n]*\\n>[^\\n]*\\n", 0, quoted));
	}
	test_cond("split: same answer as the whole (caseless)", split_agrees(
	    "(?<=\\btoll[- ])free\\b|\\b1[ -.]?8(?:00|88|77|66)[ -.]?\\d{3}"
	    "[ -.]?\\d{4}\\b", PCRE2_CASELESS, toll));
}

/* 1 when pat (flags) has a count of n occurrences of s, n == 0: none */
static int
count_is(const char *pat, unsigned flags, size_t n, const char *s)
{
	struct rx_count *c = rx_count_new(pat, flags);
	int ok = n == 0 ? c == NULL : c != NULL && c->n == n &&
	    strcmp(c->s, s) == 0;

	free(c);
	return ok;
}

/* occurrences of s (lowercase) in t, ASCII case folded, not overlapping */
static size_t
count_naive(const char *s, const char *t, size_t len)
{
	size_t found = 0, sl = strlen(s), i = 0, k;

	while (i + sl <= len) {
		for (k = 0; k < sl; k++)
			if (tolower((unsigned char)t[i + k]) !=
			    (unsigned char)s[k])
				break;
		if (k == sl) {
			found++;
			i += sl;
		} else
			i++;
	}
	return found;
}

/* rx_count_new()'s counts, and rx_count_in() against counting by hand */
static void
test_count(void)
{
	static const char *const pats[] = {
	    "\\A(?>(?:[^\\n]*+\\n)*?^Received:){8}", "(?:x:d){3}",
	    "(?:a:a:a){2}", "(?::ab){4,}", "(?:ab-){2,5}", "q(aa-aa){3}"
	};
	static const char alpha[] = "aAbBdDqx:-.\n";
	unsigned seed = 11;
	int ok = 1;
	char t[160];

	test_cond("count: Received lines", count_is("\\A(?>(?:[^\\n]*+\\n)*?"
	    "^Received:){8}", PCRE2_MULTILINE, 8, "received:"));
	test_cond("count: the largest repeat", count_is("(?:x-y){2}(?:z-y){3}",
	    0, 3, "z-y"));
	test_cond("count: none for letters only", count_is("(?:abc){3}", 0,
	    0, NULL));
	test_cond("count: none below two", count_is("(?:a-b){1}", 0, 0, NULL) &&
	    count_is("(?:a-b)+", 0, 0, NULL));
	test_cond("count: none with a top-level alternative",
	    count_is("(?:a-b){3}|c", 0, 0, NULL));
	test_cond("count: none with two literals in the group",
	    count_is("(?:a-b|c-d){3}", 0, 0, NULL));
	test_cond("count: none with a lookaround or reference",
	    count_is("(?:(?=x)a-b){3}", 0, 0, NULL) &&
	    count_is("(a-b)x\\1{3}", 0, 0, NULL) &&
	    count_is("(?:a-b\\K){3}", 0, 0, NULL) &&
	    count_is("(?i)(?:a-b){3}", 0, 0, NULL));
	test_cond("count: none with the x flag",
	    count_is("(?:a-b){3}", PCRE2_EXTENDED, 0, NULL));
	/* PCRE2 reads a quantifier without its closing brace as text */
	test_cond("count: none for an unclosed quantifier",
	    count_is("(?:a-b){3,", 0, 0, NULL) &&
	    count_is("(?:a-b){3", 0, 0, NULL) &&
	    count_is("(?:a-b){3,5", 0, 0, NULL) &&
	    count_is("(?:a-b){3,}", 0, 3, "a-b"));
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		struct rx_count *c = rx_count_new(pats[i], PCRE2_MULTILINE);

		if (c == NULL) {
			ok = 0;
			continue;
		}
		for (int it = 0; it < 20000 && ok; it++) {
			size_t len = (size_t)rand_r(&seed) % 150;
			int planted = rand_r(&seed) % 12;

			for (size_t j = 0; j < len; j++)
				t[j] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
			for (int k = 0; k < planted && len > c->len; k++) {
				size_t at = (size_t)rand_r(&seed) %
				    (len - c->len + 1);

				for (size_t j = 0; j < c->len; j++)
					t[at + j] = rand_r(&seed) & 1 ?
					    (char)toupper((unsigned char)
					    c->s[j]) : c->s[j];
			}
			if (rx_count_in(c, t, len) !=
			    (count_naive(c->s, t, len) >= c->n)) {
				printf("  count: %s on \"%.*s\"\n", pats[i],
				    (int)len, t);
				ok = 0;
			}
		}
		free(c);
	}
	test_cond("count: rx_count_in() counts as by hand", ok);
}

static void
test_ac(void)
{
	struct ac *a = ac_new();
	unsigned char seen[8];
	int he = ac_add(a, "he", 2), she = ac_add(a, "SHE", 3),
	    hers = ac_add(a, "hers", 4), his = ac_add(a, "his", 3);

	test_cond("ac dedup", ac_add(a, "he", 2) == he);
	ac_build(a);
	memset(seen, 0, sizeof(seen));
	ac_scan(a, "uSHErs", 6, seen);
	test_cond("ac finds she (case folded)", seen[she]);
	test_cond("ac finds he as suffix", seen[he]);
	test_cond("ac finds hers", seen[hers]);
	test_cond("ac no his", !seen[his]);
	{
		/* a long text: the literals and the bytes present */
		char t[300];
		int found[8];
		uint64_t have[4], want[4];
		size_t nf;

		for (size_t i = 0; i < sizeof(t); i++)
			t[i] = (char)(i * 7 % 251 + 1);
		memcpy(t + 200, "his", 3);
		memset(seen, 0, sizeof(seen));
		nf = ac_scan_found(a, t, sizeof(t), seen, found, have);
		rx_bytes_present(t, sizeof(t), want);
		test_cond("ac long text: literal found", nf >= 1 && seen[his]);
		for (size_t len = 128; len < 140; len++) {
			/* eight bytes a round, then the rest one by one */
			uint64_t one[4] = { 0, 0, 0, 0 }, got[4];

			for (size_t i = 0; i < len; i++)
				one[(unsigned char)t[i] >> 6] |= (uint64_t)1 <<
				    ((unsigned char)t[i] & 63);
			rx_bytes_present(t, len, got);
			if (memcmp(one, got, sizeof(one)) != 0)
				test_cond("bytes present, long text", 0);
		}
		test_cond("ac long text: bytes present", memcmp(have, want,
		    sizeof(want)) == 0 && (have[0] & 1) == 0 &&
		    (have[1] >> ('h' & 63) & 1));
	}
	ac_free(a);
	{
		/*
		 * long texts are walked in two halves at once: the literals
		 * found must be exactly those present, at the split too
		 */
		static const char *const lits[] = { "ab", "abcab", "bca",
		    "cabcabcabc", "aaab", "ccc", "bacb" };
		const size_t nl = sizeof(lits) / sizeof(lits[0]);
		char t[1300];
		unsigned char sn[8];
		uint64_t have[4];
		unsigned seed = 99;
		int ok = 1;

		a = ac_new();
		for (size_t i = 0; i < nl; i++)
			ac_add(a, lits[i], strlen(lits[i]));
		ac_build(a);
		for (int n = 0; n < 3000 && ok; n++) {
			size_t len;

			seed = seed * 1103515245 + 12345;
			len = 400 + (seed >> 16) % 900;
			for (size_t i = 0; i < len; i++) {
				seed = seed * 1103515245 + 12345;
				/* mostly 'x': literals are rare */
				t[i] = "xxxxxxxxxxxxxabcABC"[(seed >> 16) % 19];
			}
			{
				/* one literal around the middle */
				const char *l = lits[(size_t)n % nl];
				size_t at = len / 2 - 12 + (size_t)(n / 7) % 14;

				memcpy(t + at, l, strlen(l));
			}
			memset(sn, 0, sizeof(sn));
			(void)ac_scan_found(a, t, len, sn, NULL, have);
			for (size_t i = 0; i < nl; i++) {
				size_t ll = strlen(lits[i]);
				int there = 0;

				for (size_t j = 0; j + ll <= len && !there; j++)
					there = strncasecmp(t + j, lits[i],
					    ll) == 0;
				if (there != sn[i])
					ok = 0;
			}
		}
		test_cond("ac long texts: exactly the literals present", ok);
		ac_free(a);
	}
}

static char tmpdir[64];

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
}

static struct msg *
parse(struct pool *p, const char *raw)
{
	struct msg *m = NULL;
	struct msg_limits lim = { 1 << 20, 100, 20, 1 << 22, 1 << 20, 10000,
	    1000 };

	msg_parse(p, raw, strlen(raw), NULL, &lim, &m);
	return m;
}

static void
test_ruleset(void)
{
	struct ruleset *rs;
	const char *dirs[1];
	char err[256], hits[4096];
	struct pool *p;
	struct msg *m;
	const struct rule *r;
	struct rule_meta *rm;
	int passed, failed, skipped;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hamlet-rules.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return;
	write_file("10_a.cf",
	    "# comment\n"
	    "header   T_SUBJ   Subject =~ /cheap\\s+pills/i\n"
	    "header   T_NOFOO  X-Foo !~ /bar/\n"
	    "header   T_UNSET  X-Missing =~ /^dflt$/ [if-unset: dflt]\n"
	    "header   T_FROMA  From:addr =~ /^joe\\@example\\.com$/\n"
	    "header   T_HASTO  exists:To\n"
	    "header   T_ALLNAME ALL:name =~ /text\\/html\\z/\n"
	    "header   T_ALLNL  ALL =~ /text\\/html\\n\\z/\n"
	    "body     T_BODY   /buy now/\n"
	    "body     T_PARA   /end of para one\\.? start/\n"
	    "body     T_MULTI  /x\\d/\n"
	    "tflags   T_MULTI  multiple maxhits=3\n"
	    "uri      T_URI    /example\\.net/\n"
	    "rawbody  T_RAW    /<b>bold<\\/b>/i\n"
	    "full     T_FULL   /^X-Foo: baz/m\n"
	    "full     T_FULL2  /\\nTo: you/\n"
	    "full     T_FULL3  /qqqzzz/\n"
	    "body     T_RUN20   /\\b[a-z]{20,}\\b/i\n"
	    "body     T_RUN21   /\\b[a-z]{21,}\\b/i\n"
	    "body     T_RUN3    /\\bbb[a-z]{16}\\b/\n"
	    "body     T_JOIN_LB  /(?<=[A-J])s[t]/\n"
	    "body     T_JOIN_HIT /x\\d x\\d/\n"
	    "body     T_NOJOIN   /^start/\n"
	    "body     T_NOJOIN2  /J\\s+st/\n"
	    "rawbody  T_LINE70  /[^\\n]{70}/\n"
	    "rawbody  T_LINE120 /[^\\n]{120}/\n"
	    "rawbody  T_SPAN120 /[\\s\\S]{120}/\n"
	    "meta     T_META   (T_SUBJ + T_BODY + T_URI) >= 3 && !T_NOPE\n"
	    "meta     T_MCOUNT T_MULTI > 2\n"
	    "body     T_BAD    /a(b/\n"
	    "bogus_directive 1 2 3\n"
	    "ifplugin Mail::SpamAssassin::Plugin::NoSuchPlugin\n"
	    "body     T_SKIPPED /never/\n"
	    "else\n"
	    "body     T_ELSE   /buy/\n"
	    "endif\n"
	    "if (version >= 3.004000)\n"
	    "body     T_VERSION /buy/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Conf::feature_no_such_thing)\n"
	    "body     T_CANNOT /buy/\n"
	    "endif\n"
	    "replace_tag  BUY   (?:b[u\\W]y)\n"
	    "body     T_TAG    /<BUY> now/\n"
	    "replace_rules T_TAG\n"
	    "score    T_SUBJ   2.5\n"
	    "score    T_BODY   1 2 3 4\n"
	    "describe T_SUBJ   Subject sells pills\n"
	    "body     T_EVAL   eval:no_such_function('x')\n"
	    "header   T_WL     eval:check_from_in_welcomelist()\n"
	    "header   T_BL     eval:check_from_in_blacklist()\n"
	    "welcomelist_from *@EXAMPLE.com\n"
	    "blacklist_from  spammer@example.net\n"
	    "header   T_NORELAY eval:check_no_relays()\n"
	    "test     T_BODY   ok   please buy now\n"
	    "test     T_BODY   fail please buy later\n"
	    "test     T_NOFOO  ok   nothing\n");
	write_file("20_b.cf", "body T_BODY /buy now/i\n");
	dirs[0] = tmpdir;
	test_cond("ruleset loads", rules_load(dirs, 1, NULL, &rs, err,
	    sizeof(err)) == ST_OK);
	if (rs == NULL)
		return;
	r = ruleset_rule(rs, "T_BODY");
	test_cond("later definition wins", r != NULL &&
	    (r->reflags & PCRE2_CASELESS));
	test_cond("bad regex disabled", ruleset_rule(rs, "T_BAD")->disabled);
	test_cond("unknown directive counted", rs->st.unknown_directives == 1);
	test_cond("ifplugin skipped", ruleset_rule(rs, "T_SKIPPED") == NULL);
	test_cond("else taken", ruleset_rule(rs, "T_ELSE") != NULL);
	test_cond("if version taken", ruleset_rule(rs, "T_VERSION") != NULL);
	test_cond("if can() unknown skipped",
	    ruleset_rule(rs, "T_CANNOT") == NULL);
	test_cond("replace tags", strstr(ruleset_rule(rs, "T_TAG")->pat,
	    "(?:b[u\\W]y) now") != NULL);
	rm = ruleset_meta(rs, "T_BODY");
	test_cond("four score sets", rm && rm->has_score && rm->score[3] == 4);
	rm = ruleset_meta(rs, "T_SUBJ");
	test_cond("describe", rm && rm->desc &&
	    strcmp(rm->desc, "Subject sells pills") == 0);
	test_cond("unknown eval disabled", rs->st.evals_unknown == 1 &&
	    ruleset_rule(rs, "T_EVAL")->disabled != NULL);
	test_cond("tflags maxhits", ruleset_rule(rs, "T_MULTI")->maxhits == 3);

	rules_run_tests(rs, stdout, 0, &passed, &failed, &skipped);
	test_cond("test lines", passed == 3 && failed == 0);

	p = pool_new();
	m = parse(p,
	    "From: Joe <joe@example.com>\n"
	    "To: you@example.org\n"
	    "Subject: Cheap   pills\n"
	    "X-Foo: baz\n"
	    "Content-Type: text/html\n"
	    "\n"
	    "<html><body><p>Please <b>bold</b> buy now x1 x2 x3 x4 x5\n"
	    "end of para one. abcdefghijABCDEFGHIJ</p><p>start of two "
	    "<a href=\"http://www.example.net/\">here</a></p></body></html>\n");
	test_cond("message parsed", m != NULL);
	if (m != NULL) {
		rules_hits(rs, m, hits, sizeof(hits));
		test_cond("header hit", strstr(hits, "T_SUBJ") != NULL);
		test_cond("!~ on mismatching value hits",
		    strstr(hits, "T_NOFOO") != NULL);
		test_cond("if-unset default", strstr(hits, "T_UNSET") != NULL);
		test_cond(":addr", strstr(hits, "T_FROMA") != NULL);
		test_cond("exists:", strstr(hits, "T_HASTO") != NULL);
		/* as every :addr and :name value, ALL's has no final newline */
		test_cond("ALL:name without its final newline",
		    strstr(hits, "T_ALLNAME") != NULL &&
		    strstr(hits, "T_ALLNL") != NULL);
		test_cond("body hit", strstr(hits, "T_BODY") != NULL);
		test_cond("uri hit", strstr(hits, "T_URI") != NULL);
		test_cond("rawbody hit", strstr(hits, "T_RAW") != NULL);
		test_cond("full hit", strstr(hits, "T_FULL") != NULL);
		/* three full rules, no automaton (scan_all_pays()) */
		test_cond("full rules searched without the automaton",
		    rs->scan_all[TXT_FULL] && !rs->scan_all[TXT_BODY]);
		test_cond("full: each searched rule hits or not",
		    strstr(hits, "T_FULL2") != NULL &&
		    strstr(hits, "T_FULL3") == NULL);
		/*
		 * Paragraphs one and two are one run of lines, searched
		 * as one subject by the rules without literals, anchors
		 * or atoms that take a newline: a match still lies in one
		 * line, and a line's start is still one for ^ (T_NOJOIN)
		 */
		test_cond("joined lines: rules marked",
		    ruleset_rule(rs, "T_JOIN_LB")->joinable &&
		    ruleset_rule(rs, "T_JOIN_HIT")->joinable &&
		    !ruleset_rule(rs, "T_NOJOIN")->joinable &&
		    !ruleset_rule(rs, "T_NOJOIN2")->joinable &&
		    !ruleset_rule(rs, "T_BODY")->joinable);
		test_cond("joined lines: the same hits as line by line",
		    strstr(hits, "T_JOIN_HIT") != NULL &&
		    strstr(hits, "T_NOJOIN ") != NULL &&
		    strstr(hits, "T_JOIN_LB") == NULL &&
		    strstr(hits, "T_NOJOIN2") == NULL);
		/* the second raw line is over 70 bytes, none over 120 */
		test_cond("line gate: rules within a line marked",
		    ruleset_rule(rs, "T_LINE70")->oneline &&
		    ruleset_rule(rs, "T_LINE120")->oneline &&
		    !ruleset_rule(rs, "T_SPAN120")->oneline);
		test_cond("line gate: a long enough line hits",
		    strstr(hits, "T_LINE70") != NULL &&
		    strstr(hits, "T_SPAN120") != NULL);
		test_cond("line gate: no line long enough, no hit",
		    strstr(hits, "T_LINE120") == NULL);
		/* twenty letters in a row, not 21; "bb" + 16 is only 18 */
		test_cond("letter run gate: rules marked",
		    ruleset_rule(rs, "T_RUN20")->letrun == 20 &&
		    ruleset_rule(rs, "T_RUN3")->letrun == 16);
		test_cond("letter run gate: a run that long hits",
		    strstr(hits, "T_RUN20 ") != NULL ||
		    strstr(hits, "T_RUN20,") != NULL);
		test_cond("letter run gate: one letter short, no hit",
		    strstr(hits, "T_RUN21") == NULL &&
		    strstr(hits, "T_RUN3") == NULL);
		test_cond("meta arithmetic hit", strstr(hits, "T_META") != NULL);
		test_cond("multiple capped by maxhits, meta sees count",
		    strstr(hits, "T_MCOUNT") != NULL);
		test_cond("replace_tags rule hit", strstr(hits, "T_TAG") != NULL);
		test_cond("welcomelist_from glob", strstr(hits, "T_WL") != NULL);
		test_cond("blacklist_from not matching",
		    strstr(hits, "T_BL") == NULL);
		test_cond("no relays", strstr(hits, "T_NORELAY") != NULL);
		test_cond("prefilter agrees with every regex",
		    rules_prefilter_verify(rs, m, stdout) == 0);
	}
	m = parse(p, "Subject: x\n\nend of para one.\n\n  start of two\n"
	    "same   paragraph\n");
	if (m != NULL) {
		struct rscan *sc = rmatch_new(p, rs, m, NULL, 0);

		rules_hits(rs, m, hits, sizeof(hits));
		test_cond("paragraphs split body lines",
		    strstr(hits, "T_PARA") == NULL);
		rmatch_build_texts(sc);
		test_cond("body: subject line then two paragraphs",
		    sc->nbody == 3 && sc->body[0].len == 2 &&
		    strncmp(sc->body[2].p, " start of two same paragraph",
		    28) == 0);
	}
	pool_free(p);
	rules_free(rs);
	write_file("10_a.cf", "");
	write_file("20_b.cf", "");
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/10_a.cf", tmpdir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/20_b.cf", tmpdir);
		unlink(path);
		rmdir(tmpdir);
	}
}

/* the prefilter on the shipped default rules over varied messages */
static void
test_prefilter_default(void)
{
	static const char *msgs[] = {
	    "Subject: FREE money!!!\nTo: a@b.c\n\nCLICK HERE to earn $5,000 "
	    "per week working from home. Order now, limited time offer!\n"
	    "http://1.2.3.4/remove.php?id=12345678901\n",
	    "From: Dev <dev@lists.sf.net>\nSubject: Re: [exmh] patch\n"
	    "In-Reply-To: <x@y>\n\nOn Mon, 1 Jul 2002 Bob wrote:\n> diff\n"
	    "I think the kernel config is wrong. Thanks\n-- \nme\n",
	    "Subject: hi\nContent-Type: text/html\n\n<html><font color=\"#ffffff\""
	    " size=1>hidden</font><img src=\"http://x.biz/a.gif\" width=1>"
	    "<a href=\"http://user@evil.example.com:8080/x\">bank</a></html>\n",
	};
	const char *dirs[1] = { "rules/default" };
	struct ruleset *rs;
	char err[256];
	size_t bad = 0, run = 0, skipped = 0;

	if (access("rules/default", F_OK) != 0)
		return;
	if (rules_load(dirs, 1, NULL, &rs, err, sizeof(err)) != ST_OK)
		return;
	test_cond("default set: at least 200 active regex rules",
	    rs->st.regex_active >= 200);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct pool *p = pool_new();
		struct msg *m = parse(p, msgs[i]);

		if (m != NULL) {
			bad += rules_prefilter_verify(rs, m, stdout);
			rules_prefilter_sample(rs, m, &run, &skipped);
		}
		pool_free(p);
	}
	test_cond("prefilter changes no hit on the default set", bad == 0);
	test_cond("prefilter avoids some regex runs", skipped > 0);
	rules_free(rs);
}

/* a catastrophic pattern stops at the match limit instead of hanging */
static void
test_match_limit(void)
{
	struct ruleset *rs = ruleset_new();
	struct rule r;
	struct pool *p = pool_new();
	struct msg dummy;
	struct rscan *sc;
	char err[256], subject[64];
	int n;

	memset(&r, 0, sizeof(r));
	memset(&dummy, 0, sizeof(dummy));
	r.re = rx_compile("^(a+)+$", 0, err, sizeof(err));
	rs->match_limit = 10000;
	sc = rmatch_new(p, rs, &dummy, NULL, 0);
	memset(subject, 'a', 40);
	subject[40] = '!';
	subject[41] = '\0';
	n = rmatch_regex(sc, &r, subject, strlen(subject), 0);
	test_cond("match limit hit on catastrophic pattern", n == -1 &&
	    sc->re_limit == 1);
	n = rmatch_regex(sc, &r, "aaaa", 4, 0);
	test_cond("same pattern still matches normal input", n == 1);
	pcre2_code_free(r.re);
	pool_free(p);
	ruleset_free(rs);
}

/*
 * `rules lint --verify-jit`: PCRE2 10.42's JIT (Debian 12) finds no match
 * of /(?>[a-z]+?)[A-Z]+?X/ in "-xcXOX-", its interpreter finds "cXOX"
 * (start-of-match optimisation bugs, fixed upstream in 10.43). The check
 * must report that; on a PCRE2 without the bug (or without a JIT) there
 * is nothing to report. A limit on both sides is counted, not reported
 * as a difference; the prefilter check is blind to it (JIT both sides).
 */
static void
test_jit_verify(void)
{
	struct rules_jitcheck st;
	struct ruleset *rs = NULL;
	const char *dirs[1];
	char err[256], ver[64], path[256];
	struct pool *p;
	struct msg *m;
	uint32_t have_jit = 0;
	int major = 0, minor = 0, buggy;

	pcre2_config(PCRE2_CONFIG_JIT, &have_jit);
	pcre2_config(PCRE2_CONFIG_VERSION, ver);
	(void)sscanf(ver, "%d.%d", &major, &minor);
	buggy = have_jit && (major < 10 || (major == 10 && minor < 43));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hamlet-rules.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return;
	write_file("10_jit.cf",
	    "body   T_JB /(?>[a-z]+?)[A-Z]+?X/\n"
	    "header T_JH Subject =~ /(?>[a-z]+?)[A-Z]+?X/\n"
	    "body   T_OK /[a-z]X[A-Z]X/\n"
	    "body   T_LIM /^(a+)+$/\n");
	dirs[0] = tmpdir;
	test_cond("jit: rules load", rules_load(dirs, 1, NULL, &rs, err,
	    sizeof(err)) == ST_OK && rs != NULL);
	p = pool_new();
	m = parse(p, "Subject: -xcXOX-\n\n-xcXOX-\n\n"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\n");
	if (rs != NULL && m != NULL) {
		memset(&st, 0, sizeof(st));
		rules_jit_verify(rs, m, "jit.eml", NULL, &st);
		test_cond("jit: searches compared", !have_jit ||
		    st.compared > 0);
		test_cond("jit: 10.42 JIT miss found (none when fixed)",
		    buggy ? st.mismatch >= 2 : st.mismatch == 0);
		test_cond("jit: no start-gate difference",
		    st.gate_mismatch == 0);
		test_cond("jit: a limit on both sides counted apart",
		    !have_jit || st.limit_both > 0);
		test_cond("jit: prefilter check cannot see it",
		    rules_prefilter_verify(rs, m, NULL) == 0);
	}
	pool_free(p);
	rules_free(rs);
	snprintf(path, sizeof(path), "%s/10_jit.cf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static void
test_dates_relays(void)
{
	long long t;
	struct pool *p = pool_new();
	struct relay r;
	struct relays *rl;
	struct msg *m;

	test_cond("date rfc2822", rfcdate_parse("Thu, 22 Aug 2002 09:15:25 "
	    "-0400", &t) && t == 1030022125LL);
	test_cond("date zone name", rfcdate_parse("22 Aug 2002 13:15:25 GMT",
	    &t) && t == 1030022125LL);
	test_cond("date EDT", rfcdate_parse("Thu, 22 Aug 2002 09:15:25 EDT",
	    &t) && t == 1030022125LL);
	test_cond("date 2-digit year", rfcdate_parse("22 Aug 02 13:15:25 "
	    "+0000", &t) && t == 1030022125LL);
	test_cond("date ctime layout", rfcdate_parse("Thu Aug 22 13:15:25 2002",
	    &t) && t == 1030022125LL);
	test_cond("date garbage", !rfcdate_parse("yesterday", &t));

	test_cond("postfix relay", relays_parse_line(p, "from mx.example.com "
	    "(mail.example.com [192.0.2.7]) by mx.example.org (Postfix) with "
	    "ESMTP id ABC123; Thu, 22 Aug 2002 09:15:25 -0400", &r) == 1 &&
	    strcmp(r.ip, "192.0.2.7") == 0 &&
	    strcmp(r.rdns, "mail.example.com") == 0 &&
	    strcmp(r.helo, "mx.example.com") == 0 &&
	    strcmp(r.by, "mx.example.org") == 0 && strcmp(r.id, "ABC123") == 0);
	test_cond("unknown rdns is empty", relays_parse_line(p, "from x "
	    "(unknown [198.51.100.1]) by y (Postfix) id Z", &r) == 1 &&
	    r.rdns[0] == '\0');
	test_cond("exim helo=", relays_parse_line(p, "from a.example.net "
	    "([198.51.100.2] helo=foo) by b.example.org with esmtp (Exim 4.0) "
	    "id 1x", &r) == 1 && strcmp(r.helo, "foo") == 0 &&
	    strcmp(r.rdns, "a.example.net") == 0);
	test_cond("qmail HELO", relays_parse_line(p, "from unknown (HELO bar) "
	    "(198.51.100.3) by c.example.org with SMTP", &r) == 1 &&
	    strcmp(r.helo, "bar") == 0 && r.rdns[0] == '\0' &&
	    strcmp(r.ip, "198.51.100.3") == 0);
	test_cond("envelope-from after the date", relays_parse_line(p,
	    "from h (u@[198.51.100.4]) by i with ESMTP id J; Sun, 21 Jul "
	    "2002 20:52:43 -0500 (CDT) (envelope-from u@h.example)", &r) == 1 &&
	    strcmp(r.envfrom, "u@h.example") == 0);
	/* the kinds in order of preference, not of position in the line */
	test_cond("envelope-from before envelope-sender", relays_parse_line(p,
	    "from h (h [198.51.100.4]) by i id J (envelope-sender <s@x.example>)"
	    " (ENVELOPE-FROM <f@x.example>)", &r) == 1 &&
	    strcmp(r.envfrom, "f@x.example") == 0);
	test_cond("envelope-from= before envelope-sender", relays_parse_line(p,
	    "from h (h [198.51.100.4]) by i id J envelope-sender s@x.example "
	    "envelope-from=<f@x.example>", &r) == 1 &&
	    strcmp(r.envfrom, "f@x.example") == 0);
	test_cond("envelope-sender alone", relays_parse_line(p, "from h (h "
	    "[198.51.100.4]) by i id J envelope-fromage envelope-sender "
	    "s@x.example", &r) == 1 && strcmp(r.envfrom, "s@x.example") == 0);
	test_cond("stripped bytes in fields", relays_parse_line(p, "from "
	    "a|b#c (a|b#c [198.51.100.6]) by x<y id 12|3", &r) == 1 &&
	    strcmp(r.helo, "a!b!c") == 0 && strcmp(r.by, "x!y") == 0 &&
	    strcmp(r.id, "12!3") == 0 && !r.private_ip);
	test_cond("private relay", relays_parse_line(p, "from a (a "
	    "[172.31.0.1]) by b id 1", &r) == 1 && r.private_ip &&
	    relays_parse_line(p, "from a (a [172.32.0.1]) by b id 1", &r) ==
	    1 && !r.private_ip);
	test_cond("fetchmail is a marker", relays_parse_line(p, "from a "
	    "[198.51.100.5] by localhost with IMAP (fetchmail-5.9.0)", &r) == 2);
	test_cond("no from: not a relay", relays_parse_line(p, "by x with "
	    "local id y", &r) == 0);
	/* " with " and "envelope-" are found in any case, and only whole */
	test_cond("auth: With in any case", relays_parse_line(p, "from a "
	    "(a [198.51.100.7]) by b-c.example WiTh esmtpa id 1", &r) == 1 &&
	    strcmp(r.auth, "ESMTPA") == 0);
	test_cond("auth: no space before with", relays_parse_line(p, "from a "
	    "(a [198.51.100.7]) by b id 1 xwith ESMTPA", &r) == 1 &&
	    r.auth[0] == '\0');
	test_cond("envelope-: a '-' near the start, then in upper case",
	    relays_parse_line(p, "from a-b (a-b [198.51.100.8]) by i-j id K "
	    "(nvelope-from x@y.example) (ENVELOPE-FROM z@w.example)", &r) ==
	    1 && strcmp(r.envfrom, "z@w.example") == 0);
	m = parse(p, "Received: from localhost (localhost [127.0.0.1]) by a "
	    "(Postfix) id 1\nReceived: from b (c.example [203.0.113.9]) by d "
	    "(Postfix) id 12345\nSubject: x\n\nbody\n");
	if (m != NULL) {
		rl = relays_parse(p, m);
		test_cond("trust inference: private first hop trusted",
		    rl->n == 2 && rl->ntrusted == 1);
		test_cond("untrusted string", strcmp(rl->untrusted_str,
		    "[ ip=203.0.113.9 rdns=c.example helo=b by=d ident= "
		    "envfrom= intl=0 id=12345 auth= msa=0 ]") == 0);
	}
	pool_free(p);
}

static void
test_htmlmeta(void)
{
	struct pool *p = pool_new();
	const char *src = "<html><body><font size=+4 face=\"%bad\">big</font>"
	    "<!-- saved from url=(0022) --><big><big>x</big></big>"
	    "<img width=10 height=\"50%\"><a href=\"http://x/\">go<img src=y>"
	    "</a><embed src=y></body></body><script>var a=\"<b>\";</script>"
	    "<title>T</title><o:p></o:p><blink>b</blink></html>";
	struct htmlmeta *h = htmlmeta_parse(p, src, strlen(src), "big x go",
	    8);
	long v;

	test_cond("html: font size +4 from basefont 3", h->max_size == 7);
	test_cond("html: bad font face", h->font_face_bad);
	test_cond("html: image area (percent of 800x600)",
	    h->image_area == 10 * 300);
	test_cond("html: embeds", h->embeds && !h->form_action_mailto);
	test_cond("html: comment kept", h->comment.n == 1 &&
	    strstr(h->comment.s[0], "saved from url") != NULL);
	test_cond("html: extra close clamps to 0",
	    htmlmeta_inside(h, "body", &v) && v == 0 && h->closed_extra == 1);
	test_cond("html: script body is text, not tags",
	    !htmlmeta_inside(h, "b", &v) && h->script.n == 1);
	test_cond("html: anchor text with <img>", h->anchor.n == 1 &&
	    strcmp(h->anchor.s[0], "go<img>\n") == 0);
	test_cond("html: title", h->title.n == 1 &&
	    strcmp(h->title.s[0], "T") == 0);
	test_cond("html: non-elements counted", h->tags > h->elements &&
	    h->tags_seen > h->elements_seen);
	test_cond("html: non-space length", h->non_space_len == 6);
	test_cond("html: default colours readable", !h->font_low_contrast);
	{
		const char *w = "<body bgcolor=white><p>a<font color=\"#fefefe\">"
		    "hidden</font></p></body>";
		const char *g = "<table bgcolor=#6a694f><td><font color=#FFF>"
		    "ok</font></td></table><font color=\"zz\">x</font>";
		struct htmlmeta *hw = htmlmeta_parse(p, w, strlen(w), "", 0);
		struct htmlmeta *hg = htmlmeta_parse(p, g, strlen(g), "", 0);

		test_cond("html: near-white on white is low contrast",
		    hw->font_low_contrast && !hw->font_invalid_color);
		test_cond("html: white on dark is fine, bad colour invalid",
		    !hg->font_low_contrast && hg->font_invalid_color);
	}
	pool_free(p);
}

/*
 * The byte classes, minimum length and probe of a pattern are necessary
 * conditions: whenever the pattern matches a subject, all of them hold.
 */
static void
test_conditions(void)
{
	static const char *const pats[] = {
		"(?:\\b|\\s)[_\\W]{0,3}v[_\\W]{0,3}[i1!|l][_\\W]{0,3}a",
		"(?:^|\\W)(?=n)(?!norton)n[o0]rt[o0]n(?:$|\\W)",
		"\\bfoo(?:bar|baz)+", "[^a-z]{3}x", "(?i)HeLLo", "colou?r",
		"a.c", "(?:abc|de)f{2,}", "\\x41\\042z", "[\\d\\-]+x",
		"(?:\\b|\\s)_{0,3}[a4@][_\\W]?m[_\\W]?b", "(?i:x)Y",
	};
	static const char *const subj[] = {
		"v.i.a", " v_1_a", " norton", "n0rt0n!", " nort0n", "foobarbaz",
		"123x", "hello", "HELLO", "color", "colour", "abc", "a\nc",
		"deff", "abcf", "A\"z", "a\"z", "12-x", "", "@mb", " 4-m-b",
		"xY", "XY", "xy",
	};
	char err[256];
	int sound = 1, nprobe = 0, nmatch = 0;
	struct rx_classes c;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		pcre2_code *re = rx_compile(pats[i], 0, err, sizeof(err));
		pcre2_code *pr = NULL;
		pcre2_match_data *md;
		char *pp;
		size_t minlen;

		if (re == NULL) {
			test_cond("conditions: pattern compiles", 0);
			continue;
		}
		(void)rx_classes(pats[i], 0, &c);
		minlen = rx_info_classes(re, &c);
		pp = rx_probe(pats[i], 0, re);
		if (pp != NULL) {
			pr = rx_compile(pp, 0, err, sizeof(err));
			nprobe++;
			free(pp);
		}
		md = pcre2_match_data_create(4, NULL);
		for (size_t k = 0; k < sizeof(subj) / sizeof(subj[0]); k++) {
			size_t len = strlen(subj[k]);
			uint64_t have[4];

			if (pcre2_match(re, (PCRE2_SPTR)subj[k], len, 0, 0, md,
			    NULL) < 0)
				continue;
			nmatch++;
			rx_bytes_present(subj[k], len, have);
			if (len < minlen || !rx_classes_met(&c, have) ||
			    (pr != NULL && pcre2_match(pr, (PCRE2_SPTR)subj[k],
			    len, 0, 0, md, NULL) < 0)) {
				fprintf(stderr, "unsound: /%s/ on \"%s\"\n",
				    pats[i], subj[k]);
				sound = 0;
			}
		}
		pcre2_match_data_free(md);
		if (pr != NULL)
			pcre2_code_free(pr);
		pcre2_code_free(re);
	}
	test_cond("conditions hold on every match", sound && nmatch >= 15);
	test_cond("conditions: some patterns get a probe", nprobe > 0);

	test_cond("classes: letters required", rx_classes("amb[i1!|l]en", 0,
	    &c) >= 4);
	{
		uint64_t have[4];

		rx_bytes_present("a quiet day", 11, have);
		test_cond("classes: absent letter fails", !rx_classes_met(&c,
		    have));
		rx_bytes_present("AMB!EN", 6, have);
		test_cond("classes: case folded, class member", rx_classes_met(
		    &c, have));
	}
	{
		/* long texts take the packed path: the same set */
		char t[600];
		uint64_t have[4], want[4] = { 0, 0, 0, 0 };
		unsigned seed = 7;

		for (size_t i = 0; i < sizeof(t); i++) {
			seed = seed * 1103515245 + 12345;
			t[i] = (char)((seed >> 16) % 200 + (i % 3 == 0 ? 56 : 0));
			want[(unsigned char)t[i] >> 6] |= (uint64_t)1 <<
			    ((unsigned char)t[i] & 63);
		}
		rx_bytes_present(t, sizeof(t), have);
		test_cond("bytes present: long text", memcmp(have, want,
		    sizeof(want)) == 0);
	}
	test_cond("classes: none for optional", rx_classes("(?:abc)?\\d*", 0,
	    &c) == 0);
	test_cond("classes: give up on backreference", rx_classes(
	    "(a)x\\1", 0, &c) == 0);
	{
		pcre2_code *re;
		char *pp;

		re = rx_compile("(?:\\b|\\s)[_\\W]{0,3}m[_\\W]{0,3}b[_\\W]"
		    "{0,3}x", 0, err, sizeof(err));
		pp = rx_probe("(?:\\b|\\s)[_\\W]{0,3}m[_\\W]{0,3}b[_\\W]{0,3}x",
		    0, re);
		test_cond("probe: leading word boundary dropped", pp != NULL &&
		    pp[0] != '(');
		free(pp);
		pcre2_code_free(re);
		re = rx_compile("(a)[_\\W]{0,3}zq\\1", 0, err, sizeof(err));
		test_cond("probe: none with a backreference", rx_probe(
		    "(a)[_\\W]{0,3}zq\\1", 0, re) == NULL);
		pcre2_code_free(re);
		re = rx_compile("(?i)(?:\\b|\\s)[_\\W]{0,3}zq", 0, err,
		    sizeof(err));
		test_cond("probe: an option setting is never dropped",
		    rx_probe("(?i)(?:\\b|\\s)[_\\W]{0,3}zq", 0, re) == NULL);
		pcre2_code_free(re);
		re = rx_compile("(?:\\b|\\s)[_\\W]{0,3}zq|y", 0, err,
		    sizeof(err));
		test_cond("probe: none with a top-level alternation",
		    rx_probe("(?:\\b|\\s)[_\\W]{0,3}zq|y", 0, re) == NULL);
		pcre2_code_free(re);
	}
}

/*
 * A start gate must find what the unanchored search finds: the same
 * leftmost match, on random texts over the bytes the patterns test.
 */
static void
test_gate(void)
{
	static const struct {
		const char	*pat;
		unsigned	 flags;
	} pats[] = {
		{ "\\bfoo(?:bar|baz)+", 0 },
		{ "\\Boo", 0 },
		{ "^\\s?fo", PCRE2_MULTILINE },
		{ "^fo", 0 },
		{ "(?:^|\\W)(?=n)(?!norton)n[o0]rt[o0]n(?:$|\\W)", PCRE2_CASELESS },
		{ "[^a]x", 0 },
		{ "[^a]x", PCRE2_CASELESS },
		{ "(?!a).x", 0 },
		{ "FoO", 0 },
		{ "(?i)FoO", 0 },
		{ "(?i:b)A", 0 },
		{ "o\\b", 0 },
		{ "(?:r|t)\\s?(?:no|on){1,3}x?$", PCRE2_CASELESS },
		{ "(?:a?\\s?r\\s)?(?:no|to)[\\s,:]{1,5}", PCRE2_CASELESS },
		{ "(a)x\\1", PCRE2_CASELESS },
		{ "\\xe9[a-f]", 0 },
		{ "(?!^)\\bfo", PCRE2_MULTILINE },
		{ "(?!\\A)\\bfo", 0 },
		{ "(?!^)\\Bo", 0 },
		/* caseless turned off inside: keys must not be folded */
		{ "(?s-i)FoO", PCRE2_CASELESS },
		{ "(?m-i:Ba)r", PCRE2_CASELESS },
		/* not at a line start, with no look behind: not at "^" only */
		{ "(?!^)fo", 0 },
		{ "(?!^)fo", PCRE2_MULTILINE },
		/* \p ignores caseless matching: keys must not be folded */
		{ "\\p{Lu}o", PCRE2_CASELESS },
		{ "[\\p{Lu}0]o", PCRE2_CASELESS },
		/* a multiline ^ after a "\n" that ends a key */
		{ "a\\n^b", PCRE2_MULTILINE },
		{ "(?=\\n^B)\\s+B", PCRE2_MULTILINE },
	};
	static const char alpha[] = "abfnortxABFNORTX0 _,:\n\xe9";
	char err[256], text[24];
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	unsigned seed = 12345;
	int gated = 0, same = 1, matches = 0;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		pcre2_code *re = rx_compile(pats[i].pat, pats[i].flags, err,
		    sizeof(err));
		struct rx_gate *g = rx_gate_new(pats[i].pat, pats[i].flags, re,
		    1);

		if (g == NULL) {
			pcre2_code_free(re);
			continue;
		}
		gated++;
		for (int n = 0; n < 20000; n++) {
			size_t len, start;
			PCRE2_SIZE a0 = 0, a1 = 0, *ov;
			int ra, rb;

			seed = seed * 1103515245 + 12345;
			len = (seed >> 16) % sizeof(text);
			for (size_t j = 0; j < len; j++) {
				seed = seed * 1103515245 + 12345;
				text[j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
			}
			start = len > 0 && n % 4 == 0 ? (seed >> 8) % len : 0;
			ra = pcre2_match(re, (PCRE2_SPTR)text, len, start, 0, md,
			    NULL);
			if (ra > 0) {
				ov = pcre2_get_ovector_pointer(md);
				a0 = ov[0];
				a1 = ov[1];
				matches++;
			}
			rb = rx_gate_match(g, text, len, start, md, NULL);
			ov = pcre2_get_ovector_pointer(md);
			if ((ra > 0) != (rb > 0) || (ra > 0 && (ov[0] != a0 ||
			    ov[1] != a1))) {
				fprintf(stderr, "gate differs: /%s/ on \"%.*s\"\n",
				    pats[i].pat, (int)len, text);
				same = 0;
				break;
			}
		}
		rx_gate_free(g);
		pcre2_code_free(re);
	}
	pcre2_match_data_free(md);
	test_cond("gate: derived for most patterns", gated >= 12);
	test_cond("gate: the same leftmost match as the search",
	    same && matches > 1000);
	{
		pcre2_code *re = rx_compile("(*COMMIT)abc", 0, err,
		    sizeof(err));

		test_cond("gate: none with a verb", rx_gate_new("(*COMMIT)abc",
		    0, re, 1) == NULL);
		pcre2_code_free(re);
		re = rx_compile("(?<=x)abc", 0, err, sizeof(err));
		test_cond("gate: none with a lookbehind", rx_gate_new(
		    "(?<=x)abc", 0, re, 1) == NULL);
		pcre2_code_free(re);
		re = rx_compile("a*", 0, err, sizeof(err));
		test_cond("gate: none for an empty match", rx_gate_new("a*",
		    0, re, 1) == NULL);
		pcre2_code_free(re);
		re = rx_compile("abc", 0, err, sizeof(err));
		test_cond("gate: none when PCRE2 searches fast", rx_gate_new(
		    "abc", 0, re, 0) == NULL);
		pcre2_code_free(re);
	}
}

/* xorshift for the random campaigns: the same cases on every run */
static uint64_t rnd_state;

static unsigned
rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)(rnd_state % n);
}

struct rpat {
	char	b[400];
	size_t	len;
	int	groups;
};

static void
rpat_put(struct rpat *p, const char *s)
{
	size_t n = strlen(s);

	if (p->len + n < sizeof(p->b)) {
		memcpy(p->b + p->len, s, n + 1);
		p->len += n;
	}
}

static void rpat_alt(struct rpat *p, int depth);

/*
 * One atom of a random pattern: bytes of every kind (NUL, CR, LF, bytes
 * >= 0x80, both cases), classes, \p, \R, \X, \Q..\E, assertions (\b,
 * \B, ^, $, \A, \z, \K, negated ^ and \A, lookaheads), backreferences,
 * groups of every kind incl. inline options and branch reset, and
 * greedy, lazy and possessive quantifiers.
 */
static void
rpat_atom(struct rpat *p, int depth)
{
	static const char *const atoms[] = { "a", "b", "c", "A", "B", "C",
	    "x", "X", "o", "O", " ", "_", "1", "\\x00", "\\r", "\\n",
	    "\\xe9", "\\xC9", "\\xff", "\\x80", ".", "[a-c]", "[^a]",
	    "[A-C]", "[ab\\xe9]", "\\d", "\\w", "\\s", "\\W", "\\S", "\\D",
	    "[[:upper:]]", "[[:lower:]]", "[[:^upper:]]", "[^[:lower:]x]",
	    "\\p{Lu}", "\\p{Ll}", "\\P{Lu}", "\\p{L}", "[\\p{Lu}1]", "\\R",
	    "\\X", "\\h", "\\v", "\\N", "\\Qa.\\E", "\\QB\\E", "\\Q(?-i)\\E",
	    "\\x41", "\\101", "\\cA", "(?:a|b|c|ab|x|\\xe9|\\x00|\\n)" };
	static const char *const asserts[] = { "\\b", "\\B", "^", "$", "\\A",
	    "\\z", "\\Z", "\\K", "(?!^)", "(?!\\A)", "(?!$)", "(?=a)", "(?!b)",
	    "(?=\\w)", "(?!\\W)", "(?!^)\\b" };
	static const char *const opens[] = { "(", "(?:", "(?>", "(?i:",
	    "(?-i:", "(?=", "(?!", "(?i)(?:", "(?s-i:", "(?m:", "(?|" };
	static const char *const quants[] = { "?", "*", "+", "{2}", "{1,3}",
	    "{0,2}", "??", "*?", "+?", "?+", "*+", "++", "{1,2}+" };
	unsigned r = rnd(100);

	if (depth > 3 || r < 45)
		rpat_put(p, atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))]);
	else if (r < 58)
		rpat_put(p, asserts[rnd(sizeof(asserts) / sizeof(asserts[0]))]);
	else if (r < 64 && p->groups > 0) {
		char ref[16];

		snprintf(ref, sizeof(ref), "\\%u",
		    1 + rnd((unsigned)p->groups));
		rpat_put(p, ref);
	} else {
		const char *o = opens[rnd(sizeof(opens) / sizeof(opens[0]))];

		rpat_put(p, o);
		rpat_alt(p, depth + 1);
		rpat_put(p, ")");
		if (strcmp(o, "(") == 0)
			p->groups++;
	}
	if (rnd(3) == 0)
		rpat_put(p, quants[rnd(sizeof(quants) / sizeof(quants[0]))]);
}

static void
rpat_alt(struct rpat *p, int depth)
{
	int nalt = rnd(4) == 0 ? 2 + (int)rnd(3) : 1;

	for (int i = 0; i < nalt; i++) {
		int n = 1 + (int)rnd(depth == 0 ? 5 : 3);

		if (i > 0)
			rpat_put(p, "|");
		if (rnd(12) == 0)
			rpat_put(p, "(?i)");
		if (rnd(15) == 0)
			rpat_put(p, "(?-i)");
		for (int j = 0; j < n; j++)
			rpat_atom(p, depth);
	}
}

/*
 * Random patterns and texts: a gated search must find exactly what the
 * gate's anchored pattern finds tried at every position from the start
 * offset (the gate may only skip positions where it cannot match). The
 * anchored tries are the reference rather than PCRE2's unanchored search,
 * whose start-of-match optimisations disagree with them on a few odd
 * patterns in PCRE2 10.42 (e.g. /(?>[a-z]+?)[A-Z]+?X/ finds no "cXOX" in
 * "-xcXOX-" with the JIT); those are counted, not failed.
 */
static void
test_gate_random(void)
{
	static const char alpha[] = "abcABCxXoO _1\0\r\n\xe9\xc9\xff\x80,.-\t";
	pcre2_match_data *md = pcre2_match_data_create(16, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	long gated = 0, cases = 0, matches = 0, bad = 0, pcre = 0;
	char err[256], text[80];

	pcre2_set_match_limit(mc, 100000);
	rnd_state = 4242;
	for (int n = 0; n < 2500; n++) {
		struct rpat p;
		unsigned fl = 0;
		pcre2_code *re;
		struct rx_gate *g;

		memset(&p, 0, sizeof(p));
		rpat_alt(&p, 0);
		if (rnd(2))
			fl |= PCRE2_CASELESS;
		if (rnd(3) == 0)
			fl |= PCRE2_MULTILINE;
		if (rnd(3) == 0)
			fl |= PCRE2_DOTALL;
		re = rx_compile(p.b, fl, err, sizeof(err));
		if (re == NULL)
			continue;
		g = rx_gate_new(p.b, fl, re, 1);
		if (g == NULL) {
			pcre2_code_free(re);
			continue;
		}
		gated++;
		for (int t = 0; t < 40; t++) {
			size_t len = rnd(rnd(4) == 0 ? sizeof(text) : 12);

			for (size_t j = 0; j < len; j++)
				text[j] = alpha[rnd(sizeof(alpha) - 1)];
			for (size_t start = 0; start <= len;
			    start += (t & 1) ? 1 : len + 1) {
				PCRE2_SIZE a0 = 0, a1 = 0, *ov;
				int ra = PCRE2_ERROR_NOMATCH, rb, rp;

				rp = pcre2_match(re, (PCRE2_SPTR)text, len,
				    start, 0, md, mc);
				for (size_t q = start; q < len &&
				    ra == PCRE2_ERROR_NOMATCH; q++)
					ra = pcre2_jit_match(g->anch,
					    (PCRE2_SPTR)text, len, q, 0, md,
					    mc);
				if (ra < 0 && ra != PCRE2_ERROR_NOMATCH)
					continue;	/* a limit */
				ov = pcre2_get_ovector_pointer(md);
				if (ra > 0) {
					a0 = ov[0];
					a1 = ov[1];
					matches++;
				}
				if ((rp > 0) != (ra > 0))
					pcre++;
				rb = rx_gate_match(g, text, len, start, md, mc);
				cases++;
				if ((ra > 0) != (rb > 0) || (ra > 0 &&
				    (ov[0] != a0 || ov[1] != a1))) {
					if (bad++ < 5)
						fprintf(stderr, "gate misses: "
						    "/%s/ (flags %x) start "
						    "%zu\n", p.b, fl, start);
				}
			}
		}
		rx_gate_free(g);
		pcre2_code_free(re);
	}
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	printf("gate random: %ld patterns, %ld searches, %ld matches, "
	    "%ld PCRE2 search/anchored disagreements\n", gated, cases, matches,
	    pcre);
	test_cond("gate random: patterns and matches enough",
	    gated > 1000 && matches > 50000);
	test_cond("gate random: gated = anchored at every position", bad == 0);
}

/* n bytes equal, ASCII case folded (NUL is a byte like any other) */
static int
ci_equal(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)a[i]) !=
		    tolower((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * Random literal sets and texts of every length around the two-chain
 * walk's thresholds (0, 1, odd, 511-513, twice the longest literal),
 * literals planted at the end and across the middle, NUL and bytes
 * >= 0x80, sets with empty literals: the literals found and the bytes
 * present are exactly those of a plain search, each literal once.
 */
static void
test_ac_random(void)
{
	static const char alpha[] = "abcABC\0\xe9\xc9\x80\xff\n\r x";
	static char lits[12][301], text[1600];
	size_t ll[12];
	long cases = 0, split = 0, found = 0, bad = 0;

	rnd_state = 77;
	for (int n = 0; n < 1500; n++) {
		struct ac *a = ac_new();
		int nl = (int)rnd(12), ids[12];
		unsigned asz = 2 + rnd(sizeof(alpha) - 2);
		unsigned maxl = rnd(4) == 0 ? 300 : rnd(3) == 0 ? 40 : 8;
		int empty = n % 5 == 0;

		for (int i = 0; i < nl; i++) {
			ll[i] = empty && rnd(2) == 0 ? 0 : 1 + rnd(maxl);
			if (empty && n % 10 == 0)
				ll[i] = 0;	/* only empty literals */
			for (size_t j = 0; j < ll[i]; j++)
				lits[i][j] = alpha[rnd(asz)];
			ids[i] = ac_add(a, lits[i], ll[i]);
		}
		ac_build(a);
		for (int t = 0; t < 20; t++) {
			unsigned r = rnd(10);
			size_t len = r < 3 ? rnd(20) : r < 6 ? 500 + rnd(30) :
			    r < 8 ? rnd(sizeof(text)) : 2 * maxl - 2 + rnd(5) +
			    (rnd(2) ? 0 : 600);
			unsigned char seen[12], want[12];
			int fl[12];
			uint64_t have[4], have2[4], bytes[4] = { 0, 0, 0, 0 };
			size_t nf, nwant = 0;
			char *buf;
			int ok = 1;

			if (len > sizeof(text))
				len = sizeof(text);
			for (size_t j = 0; j < len; j++)
				text[j] = alpha[rnd(asz)];
			if (len > 0)
				text[len / 2] = '\x7f';	/* alone, mid */
			for (int k = 0; k < 3 && nl > 0; k++) {
				int i = (int)rnd((unsigned)nl);
				size_t d = rnd((unsigned)ll[i] + 1), at;

				if (ll[i] == 0 || ll[i] > len)
					continue;
				at = k == 0 ? len - ll[i] : k == 1 ?
				    (len / 2 >= d ? len / 2 - d : 0) :
				    rnd((unsigned)(len - ll[i] + 1));
				if (at + ll[i] > len)
					at = len - ll[i];
				for (size_t j = 0; j < ll[i]; j++)
					text[at + j] = rnd(2) ?
					    (char)toupper((unsigned char)
					    lits[i][j]) : lits[i][j];
			}
			/* exactly len bytes: ASan sees any read past them */
			buf = xmalloc(len > 0 ? len : 1);
			memcpy(buf, text, len);
			memset(seen, 0, sizeof(seen));
			memset(want, 0, sizeof(want));
			nf = ac_scan_found(a, buf, len, seen, fl, have);
			rx_bytes_present(buf, len, have2);
			for (size_t j = 0; j < len; j++) {
				unsigned char c = (unsigned char)buf[j];

				bytes[c >> 6] |= (uint64_t)1 << (c & 63);
			}
			for (int i = 0; i < nl; i++) {
				if (want[ids[i]] || ll[i] == 0)
					continue;
				for (size_t q = 0; q + ll[i] <= len; q++)
					if (ci_equal(buf + q, lits[i], ll[i])) {
						want[ids[i]] = 1;
						nwant++;
						break;
					}
			}
			if (nf != nwant ||
			    memcmp(seen, want, sizeof(want)) != 0 ||
			    memcmp(have, bytes, sizeof(bytes)) != 0 ||
			    memcmp(have2, bytes, sizeof(bytes)) != 0)
				ok = 0;
			for (size_t f = 0; f < nf && ok; f++) {
				if (fl[f] < 0 || fl[f] >= 12 || !want[fl[f]])
					ok = 0;
				else
					want[fl[f]] = 0;	/* each once */
			}
			if (!ok && bad++ < 5)
				fprintf(stderr, "ac differs: set %d, len %zu\n",
				    n, len);
			cases++;
			split += len >= 512;
			found += (long)nf;
			free(buf);
		}
		ac_free(a);
	}
	test_cond("ac random: enough cases and literals", cases == 30000 &&
	    split > 8000 && found > 20000);
	test_cond("ac random: the plain search's literals and bytes", bad == 0);
	{
		/* packing eight flags a multiplication: single bytes, sets */
		int same = 1;

		for (int t = 0; t < 20000; t++) {
			unsigned char f[256];
			uint64_t w[4] = { 0, 0, 0, 0 }, h[4];
			int nb = t < 256 ? 1 : (int)rnd(257);

			memset(f, 0, sizeof(f));
			for (int i = 0; i < nb; i++) {
				int c = t < 256 ? t : (int)rnd(256);

				f[c] = 1;
				w[c >> 6] |= (uint64_t)1 << (c & 63);
			}
			rx_bytes_pack(f, h);
			if (memcmp(h, w, sizeof(w)) != 0)
				same = 0;
		}
		test_cond("bytes present: packed = plain set", same);
	}
}

int
main(void)
{
	msg_global_init();
	test_gate();
	test_gate_random();
	test_conditions();
	test_meta();
	test_meta_lazy();
	test_rx();
	test_rx_split();
	test_count();
	test_within_line();
	test_letter_run();
	test_comb();
	test_collapse();
	test_ac();
	test_ac_random();
	test_ruleset();
	test_prefilter_default();
	test_match_limit();
	test_jit_verify();
	test_dates_relays();
	test_htmlmeta();
	return test_report();
}
