/*
 * metaexpr.c - compile meta expressions by recursive descent into a
 * postfix program; evaluate on a bounded stack.
 *
 * Ownership: a compiled expression owns its arrays (metaexpr_free).
 * Errors name the offset and what was expected.
 * SECURITY: expressions come from rule files; nesting depth and program
 * length are bounded, the evaluation stack is sized from the program.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xalloc.h"
#include "rules/metaexpr.h"

#define MAX_DEPTH	64
#define MAX_OPS		4096

enum op {
	OP_CONST, OP_VAR, OP_NOT, OP_NEG, OP_MUL, OP_DIV, OP_ADD, OP_SUB,
	OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_AND, OP_OR
};

struct ins {
	enum op	 op;
	int	 var;
	double	 k;
};

struct metaexpr {
	struct ins	*ins;
	size_t		 n;
	size_t		 cap;
	int		*vars;
	size_t		 nvars;
	size_t		 maxstack;
};

struct parser {
	const char	*s;
	const char	*p;
	struct metaexpr	*m;
	metaexpr_resolve *fn;
	void		*arg;
	int		 depth;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static void
fail(struct parser *ps, const char *what)
{
	if (!ps->failed)
		snprintf(ps->err, ps->errlen, "%s at offset %zu", what,
		    (size_t)(ps->p - ps->s));
	ps->failed = 1;
}

static void
emit(struct parser *ps, enum op op, int var, double k)
{
	struct metaexpr *m = ps->m;

	if (m->n >= MAX_OPS) {
		fail(ps, "expression too long");
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->ins = xreallocarray(m->ins, m->cap, sizeof(*m->ins));
	}
	m->ins[m->n].op = op;
	m->ins[m->n].var = var;
	m->ins[m->n].k = k;
	m->n++;
}

static void
skipws(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

static int
accept(struct parser *ps, const char *tok)
{
	size_t n = strlen(tok);

	skipws(ps);
	if (strncmp(ps->p, tok, n) != 0)
		return 0;
	/* "<" must not eat "<=", "!" not "!=", "=" never alone */
	if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '!') &&
	    ps->p[1] == '=')
		return 0;
	ps->p += n;
	return 1;
}

static void parse_or(struct parser *ps);

static void
parse_primary(struct parser *ps)
{
	skipws(ps);
	if (ps->failed)
		return;
	if (*ps->p == '(') {
		ps->p++;
		if (++ps->depth > MAX_DEPTH) {
			fail(ps, "nesting too deep");
			return;
		}
		parse_or(ps);
		ps->depth--;
		if (!accept(ps, ")"))
			fail(ps, "expected )");
		return;
	}
	if (isdigit((unsigned char)*ps->p) || (*ps->p == '.' &&
	    isdigit((unsigned char)ps->p[1]))) {
		char *end;
		double k = strtod(ps->p, &end);

		ps->p = end;
		emit(ps, OP_CONST, 0, k);
		return;
	}
	if (isalpha((unsigned char)*ps->p) || *ps->p == '_') {
		const char *b = ps->p;
		int v;

		while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
			ps->p++;
		v = ps->fn(b, (size_t)(ps->p - b), ps->arg);
		if (v < 0) {
			ps->p = b;
			fail(ps, "unknown name");
			return;
		}
		emit(ps, OP_VAR, v, 0);
		for (size_t i = 0; i < ps->m->nvars; i++)
			if (ps->m->vars[i] == v)
				return;
		ps->m->vars = xreallocarray(ps->m->vars, ps->m->nvars + 1,
		    sizeof(int));
		ps->m->vars[ps->m->nvars++] = v;
		return;
	}
	fail(ps, *ps->p ? "unexpected character" : "unexpected end");
}

static void
parse_unary(struct parser *ps)
{
	if (ps->failed)
		return;
	if (++ps->depth > MAX_DEPTH) {
		fail(ps, "nesting too deep");
		return;
	}
	if (accept(ps, "!")) {
		parse_unary(ps);
		emit(ps, OP_NOT, 0, 0);
	} else if (accept(ps, "-")) {
		parse_unary(ps);
		emit(ps, OP_NEG, 0, 0);
	} else if (accept(ps, "+")) {
		parse_unary(ps);
	} else
		parse_primary(ps);
	ps->depth--;
}

static void
parse_mul(struct parser *ps)
{
	parse_unary(ps);
	while (!ps->failed) {
		if (accept(ps, "*")) {
			parse_unary(ps);
			emit(ps, OP_MUL, 0, 0);
		} else if (accept(ps, "/")) {
			parse_unary(ps);
			emit(ps, OP_DIV, 0, 0);
		} else
			break;
	}
}

static void
parse_add(struct parser *ps)
{
	parse_mul(ps);
	while (!ps->failed) {
		if (accept(ps, "+")) {
			parse_mul(ps);
			emit(ps, OP_ADD, 0, 0);
		} else if (accept(ps, "-")) {
			parse_mul(ps);
			emit(ps, OP_SUB, 0, 0);
		} else
			break;
	}
}

static void
parse_rel(struct parser *ps)
{
	parse_add(ps);
	while (!ps->failed) {
		enum op op;

		if (accept(ps, "<="))
			op = OP_LE;
		else if (accept(ps, ">="))
			op = OP_GE;
		else if (accept(ps, "<"))
			op = OP_LT;
		else if (accept(ps, ">"))
			op = OP_GT;
		else
			break;
		parse_add(ps);
		emit(ps, op, 0, 0);
	}
}

static void
parse_eq(struct parser *ps)
{
	parse_rel(ps);
	while (!ps->failed) {
		enum op op;

		if (accept(ps, "=="))
			op = OP_EQ;
		else if (accept(ps, "!="))
			op = OP_NE;
		else
			break;
		parse_rel(ps);
		emit(ps, op, 0, 0);
	}
}

static void
parse_and(struct parser *ps)
{
	parse_eq(ps);
	while (!ps->failed && accept(ps, "&&")) {
		parse_eq(ps);
		emit(ps, OP_AND, 0, 0);
	}
}

static void
parse_or(struct parser *ps)
{
	parse_and(ps);
	while (!ps->failed && accept(ps, "||")) {
		parse_and(ps);
		emit(ps, OP_OR, 0, 0);
	}
}

enum status
metaexpr_compile(const char *src, metaexpr_resolve *fn, void *arg,
    struct metaexpr **out, char *err, size_t errlen)
{
	struct parser ps;
	struct metaexpr *m = xcalloc(1, sizeof(*m));
	size_t depth = 0;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.s = ps.p = src;
	ps.m = m;
	ps.fn = fn;
	ps.arg = arg;
	ps.err = err;
	ps.errlen = errlen;
	parse_or(&ps);
	skipws(&ps);
	if (!ps.failed && *ps.p != '\0')
		fail(&ps, "unexpected text");
	if (ps.failed) {
		metaexpr_free(m);
		return ST_ERR_PARSE;
	}
	for (size_t i = 0; i < m->n; i++) {
		switch (m->ins[i].op) {
		case OP_CONST: case OP_VAR:
			depth++;
			break;
		case OP_NOT: case OP_NEG:
			break;
		default:
			depth--;
			break;
		}
		if (depth > m->maxstack)
			m->maxstack = depth;
	}
	*out = m;
	return ST_OK;
}

double
metaexpr_eval(const struct metaexpr *m, const double *vals)
{
	double stackbuf[64], *st = stackbuf, a, b, r = 0;
	size_t sp = 0;

	if (m->maxstack > 64)
		st = xcalloc(m->maxstack, sizeof(double));
	for (size_t i = 0; i < m->n; i++) {
		const struct ins *in = &m->ins[i];

		switch (in->op) {
		case OP_CONST:
			st[sp++] = in->k;
			continue;
		case OP_VAR:
			st[sp++] = vals[in->var];
			continue;
		case OP_NOT:
			st[sp - 1] = st[sp - 1] == 0 ? 1 : 0;
			continue;
		case OP_NEG:
			st[sp - 1] = -st[sp - 1];
			continue;
		default:
			break;
		}
		b = st[--sp];
		a = st[sp - 1];
		switch (in->op) {
		case OP_MUL: r = a * b; break;
		case OP_DIV: r = b == 0 ? 0 : a / b; break;
		case OP_ADD: r = a + b; break;
		case OP_SUB: r = a - b; break;
		case OP_LT: r = a < b; break;
		case OP_LE: r = a <= b; break;
		case OP_GT: r = a > b; break;
		case OP_GE: r = a >= b; break;
		case OP_EQ: r = a == b; break;
		case OP_NE: r = a != b; break;
		case OP_AND: r = a != 0 ? b : a; break;
		case OP_OR: r = a != 0 ? a : b; break;
		default: r = 0; break;
		}
		st[sp - 1] = r;
	}
	r = sp ? st[sp - 1] : 0;
	if (st != stackbuf)
		free(st);
	return isnan(r) ? 0 : r;
}

size_t
metaexpr_vars(const struct metaexpr *m, const int **vars)
{
	*vars = m->vars;
	return m->nvars;
}

void
metaexpr_free(struct metaexpr *m)
{
	if (m == NULL)
		return;
	free(m->ins);
	free(m->vars);
	free(m);
}
