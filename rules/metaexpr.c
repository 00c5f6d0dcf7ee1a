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
#include <stdint.h>
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

/*
 * The same expression as a tree, for short-circuit evaluation: chains of
 * && and || are one node with n operands, left-leaning chains of + too
 * (evaluated in the same order, so the same double). kid[] holds the
 * operands as written, ord[] the order to evaluate them in (cheapest
 * first, see metaexpr_plan()).
 */
struct node {
	enum op	 op;
	int	 var;
	double	 k;
	int	*kid;
	int	*ord;
	int	*sord;		/* +: operands cheapest first (bounded sums) */
	int	 nk;
	int	 boolctx;	/* only its truth is used */
	double	 cost;
};

/*
 * What evaluation walks: the tree in preorder, each node's operands in
 * the order to evaluate them (planned for && and ||), contiguous.
 */
struct enode {
	unsigned char	 op;
	unsigned char	 bounded;	/* +: every operand a variable with a max */
	unsigned short	 nk;		/* <= MAX_OPS */
	int		 var;
	int		 kids;		/* index in ekids of its first operand */
	union {
		int	 last;		/* &&: the operand written last */
		int	 sorted;	/* +: index in ekids of them cheapest first */
	} u;
	union {
		double	 k;		/* constant */
		double	 max;		/* variable: its largest value, < 0 none */
	} v;
};

struct metaexpr {
	struct enode	*enodes;	/* NULL with nodes */
	int		*ekids;
	int		 ne, nek;	/* used lengths of enodes, ekids */
	int		 packed;	/* they live in a metaexpr_pack() block */
	int		 inblock;	/* and so does this struct */
	struct ins	*ins;
	size_t		 n;
	size_t		 cap;
	int		*vars;
	size_t		 nvars;
	size_t		 maxstack;
	struct node	*nodes;		/* NULL: too deep, postfix only */
	int		 root;
};

#define MAX_TREE_DEPTH	256
#define MAX_BOUNDED_SUM	256

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

static void
add_kid(struct node *nd, int k)
{
	nd->kid = xreallocarray(nd->kid, (size_t)nd->nk + 1, sizeof(int));
	nd->kid[nd->nk++] = k;
}

/* operand k of nd; a same-op operand's list is merged when allowed */
static void
take(struct metaexpr *m, struct node *nd, int k, int merge)
{
	struct node *c = &m->nodes[k];

	if (!merge || c->op != nd->op) {
		add_kid(nd, k);
		return;
	}
	for (int j = 0; j < c->nk; j++)
		add_kid(nd, c->kid[j]);
	free(c->kid);
	c->kid = NULL;
	c->nk = 0;
}

static int
layout_node(struct metaexpr *m, int i, int *ne, int *nk)
{
	const struct node *nd = &m->nodes[i];
	const int *o = nd->ord != NULL ? nd->ord : nd->kid;
	int me = (*ne)++, kids = *nk;
	struct enode *e;

	*nk += nd->nk;
	m->enodes[me].u.sorted = -1;
	if (nd->sord != NULL) {
		m->enodes[me].u.sorted = *nk;
		*nk += nd->nk;
	}
	for (int j = 0; j < nd->nk; j++) {
		int c = layout_node(m, o[j], ne, nk);

		m->ekids[kids + j] = c;
		if (nd->op == OP_AND && o[j] == nd->kid[nd->nk - 1])
			m->enodes[me].u.last = c;
	}
	/* the same operands, cheapest first (o is the written order here) */
	for (int j = 0; nd->sord != NULL && j < nd->nk; j++)
		for (int q = 0; q < nd->nk; q++)
			if (o[q] == nd->sord[j]) {
				m->ekids[m->enodes[me].u.sorted + j] =
				    m->ekids[kids + q];
				break;
			}
	e = &m->enodes[me];
	e->op = (unsigned char)nd->op;
	e->nk = (unsigned short)nd->nk;
	e->var = nd->var;
	e->kids = kids;
	if (nd->op == OP_CONST)
		e->v.k = nd->k;
	else
		e->v.max = -1;
	return me;
}

/* (re)build the evaluation layout from the tree and its plan */
static void
layout(struct metaexpr *m)
{
	int ne = 0, nk = 0;

	if (!m->packed) {
		free(m->enodes);
		free(m->ekids);
	}
	m->packed = 0;
	m->enodes = xcalloc(m->n + 1, sizeof(*m->enodes));
	m->ekids = xcalloc(2 * m->n + 1, sizeof(int));
	(void)layout_node(m, m->root, &ne, &nk);
	m->ne = ne;
	m->nek = nk;
}

static void
free_tree(struct metaexpr *m)
{
	if (!m->packed) {
		free(m->enodes);
		free(m->ekids);
	}
	m->enodes = NULL;
	m->ekids = NULL;
	m->packed = 0;
	if (m->nodes == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->nodes[i].kid);
		free(m->nodes[i].ord);
		free(m->nodes[i].sord);
	}
	free(m->nodes);
	m->nodes = NULL;
}

/* the tree of the postfix program; none when deeper than the bound */
static void
build_tree(struct metaexpr *m)
{
	int *st, *depth;
	size_t sp = 0;

	if (m->n == 0)
		return;
	st = xcalloc(m->maxstack + 1, sizeof(int));
	depth = xcalloc(m->n, sizeof(int));
	m->nodes = xcalloc(m->n, sizeof(*m->nodes));
	for (size_t i = 0; i < m->n; i++) {
		const struct ins *in = &m->ins[i];
		struct node *nd = &m->nodes[i];
		int a, b;

		nd->op = in->op;
		nd->var = in->var;
		nd->k = in->k;
		switch (in->op) {
		case OP_CONST: case OP_VAR:
			break;
		case OP_NOT: case OP_NEG:
			add_kid(nd, st[--sp]);
			break;
		default:
			b = st[--sp];
			a = st[--sp];
			/* && and || are associative in value; + only leftwards */
			take(m, nd, a, in->op == OP_AND || in->op == OP_OR ||
			    in->op == OP_ADD);
			take(m, nd, b, in->op == OP_AND || in->op == OP_OR);
			break;
		}
		depth[i] = 1;
		for (int j = 0; j < nd->nk; j++)
			if (depth[nd->kid[j]] + 1 > depth[i])
				depth[i] = depth[nd->kid[j]] + 1;
		st[sp++] = (int)i;
	}
	m->root = st[0];
	if (sp != 1 || depth[m->root] > MAX_TREE_DEPTH)
		free_tree(m);
	else
		layout(m);
	free(st);
	free(depth);
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
	build_tree(m);
	*out = m;
	return ST_OK;
}

static double
binop(enum op op, double a, double b)
{
	switch (op) {
	case OP_MUL: return a * b;
	case OP_DIV: return b == 0 ? 0 : a / b;
	case OP_ADD: return a + b;
	case OP_SUB: return a - b;
	case OP_LT: return a < b;
	case OP_LE: return a <= b;
	case OP_GT: return a > b;
	case OP_GE: return a >= b;
	case OP_EQ: return a == b;
	case OP_NE: return a != b;
	case OP_AND: return a != 0 ? b : a;
	case OP_OR: return a != 0 ? a : b;
	default: return 0;
	}
}

static double
fetch_array(int var, void *arg)
{
	const double *vals = arg;

	return vals[var];
}

/* the postfix program, every operand evaluated */
static double
eval_postfix(const struct metaexpr *m, metaexpr_fetch *fn, void *arg)
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
			st[sp++] = fn(in->var, arg);
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
		st[sp - 1] = binop(in->op, a, b);
	}
	r = sp ? st[sp - 1] : 0;
	if (st != stackbuf)
		free(st);
	return isnan(r) ? 0 : r;
}

/*
 * The tree, short-circuit: && stops at the first false operand (in the
 * planned order: the value is 0 either way, and when all are true it is
 * the last operand's as written); || at the first true one (reordered
 * only where just its truth is used). Recursion is bounded by
 * MAX_TREE_DEPTH (checked when the tree was built).
 */
struct evalctx {
	const double		*vals;
	const unsigned char	*known;
	metaexpr_fetch		*fn;
	void			*arg;
	int			 bounded;	/* variables keep their max */
};

/*
 * sum > k, sum >= k where every term of the sum is a variable with a
 * known max (hit counts: 0..1, 0..maxhits): the terms already known
 * first, then the others cheapest first, until the sum so far (or it
 * plus the remaining maxima) decides. The terms are whole numbers, so
 * the partial sums are exact in any order. -1: not that shape.
 */
static int
eval_sum_cmp(const struct metaexpr *m, const struct enode *e,
    const struct evalctx *c)
{
	const struct enode *add = &m->enodes[m->ekids[e->kids]];
	const struct enode *kn = &m->enodes[m->ekids[e->kids + 1]];
	const int *o;
	double sum = 0, rem = 0, k = kn->v.k;
	int ge = e->op == OP_GE;
	unsigned char counted[MAX_BOUNDED_SUM];

	if (add->op != OP_ADD || !add->bounded || add->u.sorted < 0 ||
	    kn->op != OP_CONST || add->nk > MAX_BOUNDED_SUM)
		return -1;
	o = &m->ekids[add->u.sorted];
	for (int j = 0; j < add->nk; j++) {
		const struct enode *t = &m->enodes[o[j]];

		counted[j] = c->known[t->var];
		if (counted[j])
			sum += c->vals[t->var];
		else
			rem += t->v.max;
	}
	for (int j = 0; ; j++) {
		const struct enode *t;

		if (ge ? sum >= k : sum > k)
			return 1;
		if (ge ? sum + rem < k : sum + rem <= k)
			return 0;
		if (j >= add->nk)
			return -1;	/* not reached: rem is 0 by then */
		if (counted[j])
			continue;
		t = &m->enodes[o[j]];
		/* a variable written twice is fetched once, counted twice */
		sum += c->known[t->var] ? c->vals[t->var] :
		    c->fn(t->var, c->arg);
		rem -= t->v.max;
	}
}

static double
eval_node(const struct metaexpr *m, int i, const struct evalctx *c)
{
	const struct enode *e = &m->enodes[i];
	const int *o = &m->ekids[e->kids];
	double v = 0, last = 0;

	switch (e->op) {
	case OP_CONST:
		return e->v.k;
	case OP_VAR:
		if (c->known != NULL && c->known[e->var])
			return c->vals[e->var];
		return c->fn(e->var, c->arg);
	case OP_NOT:
		return eval_node(m, o[0], c) == 0 ? 1 : 0;
	case OP_NEG:
		return -eval_node(m, o[0], c);
	case OP_AND:
		/*
		 * an operand already known false decides at no cost, whatever
		 * the plan's order (a lazy value another meta asked for)
		 */
		for (int j = 0; c->known != NULL && j < e->nk; j++) {
			const struct enode *t = &m->enodes[o[j]];
			int neg = t->op == OP_NOT;

			if (neg)
				t = &m->enodes[m->ekids[t->kids]];
			if (t->op == OP_VAR && c->known[t->var] &&
			    (c->vals[t->var] == 0) != neg)
				return 0;
		}
		for (int j = 0; j < e->nk; j++) {
			v = eval_node(m, o[j], c);
			if (v == 0)
				return v;
			if (o[j] == e->u.last)
				last = v;
		}
		return last;
	case OP_OR:
		for (int j = 0; j < e->nk; j++) {
			v = eval_node(m, o[j], c);
			if (v != 0)
				return v;
		}
		return v;
	case OP_ADD:
		v = eval_node(m, o[0], c);
		for (int j = 1; j < e->nk; j++)
			v = v + eval_node(m, o[j], c);
		return v;
	case OP_GT:
	case OP_GE:
		if (c->bounded) {
			int r = eval_sum_cmp(m, e, c);

			if (r >= 0)
				return r;
		}
		/* FALLTHROUGH */
	default:
		v = eval_node(m, o[0], c);
		return binop(e->op, v, eval_node(m, o[1], c));
	}
}

double
metaexpr_eval(const struct metaexpr *m, const double *vals)
{
	return eval_postfix(m, fetch_array, (void *)(uintptr_t)vals);
}

double
metaexpr_eval_known(const struct metaexpr *m, const double *vals,
    const unsigned char *known, metaexpr_fetch *fn, void *arg)
{
	return metaexpr_eval_bounded(m, vals, known, 0, fn, arg);
}

double
metaexpr_eval_bounded(const struct metaexpr *m, const double *vals,
    const unsigned char *known, int bounded, metaexpr_fetch *fn, void *arg)
{
	struct evalctx c = { vals, known, fn, arg, bounded && known != NULL };
	double r;

	if (m->enodes == NULL)
		return eval_postfix(m, fn, arg);
	r = eval_node(m, 0, &c);
	return isnan(r) ? 0 : r;
}

double
metaexpr_eval_fn(const struct metaexpr *m, metaexpr_fetch *fn, void *arg)
{
	return metaexpr_eval_known(m, NULL, NULL, fn, arg);
}

/* nd's operands by cost, stable */
static int *
sort_by_cost(const struct metaexpr *m, const struct node *nd)
{
	int *o = xcalloc((size_t)nd->nk, sizeof(int));

	for (int j = 0; j < nd->nk; j++) {
		int k = j, c = nd->kid[j];

		while (k > 0 && m->nodes[o[k - 1]].cost > m->nodes[c].cost) {
			o[k] = o[k - 1];
			k--;
		}
		o[k] = c;
	}
	return o;
}

/* cost bottom-up, contexts top-down, operand order by cost (stable) */
static double
plan_node(struct metaexpr *m, int i, int boolctx, metaexpr_cost *fn,
    void *arg)
{
	struct node *nd = &m->nodes[i];
	double cost = 0;

	nd->boolctx = boolctx;
	switch (nd->op) {
	case OP_CONST:
		break;
	case OP_VAR:
		cost = fn(nd->var, arg);
		break;
	case OP_NOT:
		cost = plan_node(m, nd->kid[0], 1, fn, arg);
		break;
	case OP_AND:
		for (int j = 0; j < nd->nk; j++)
			cost += plan_node(m, nd->kid[j], j < nd->nk - 1 ? 1 :
			    boolctx, fn, arg);
		break;
	case OP_OR:
		for (int j = 0; j < nd->nk; j++)
			cost += plan_node(m, nd->kid[j], boolctx, fn, arg);
		break;
	default:
		for (int j = 0; j < nd->nk; j++)
			cost += plan_node(m, nd->kid[j], 0, fn, arg);
		break;
	}
	/* walking the tree costs too: between equals, the smaller first */
	cost += 1e-3;
	nd->cost = cost;
	free(nd->ord);
	free(nd->sord);
	nd->ord = nd->sord = NULL;
	if (nd->op == OP_AND || (nd->op == OP_OR && boolctx))
		nd->ord = sort_by_cost(m, nd);
	else if (nd->op == OP_ADD)
		nd->sord = sort_by_cost(m, nd);
	return cost;
}

double
metaexpr_plan(struct metaexpr *m, int boolroot, metaexpr_cost *fn,
    void *arg)
{
	double c = 0;

	if (m->nodes != NULL) {
		c = plan_node(m, m->root, boolroot != 0, fn, arg);
		layout(m);
		return c;
	}
	for (size_t i = 0; i < m->nvars; i++)
		c += fn(m->vars[i], arg);
	return c;
}

void
metaexpr_set_bounds(struct metaexpr *m, metaexpr_cost *maxfn, void *arg)
{
	if (m->enodes == NULL)
		return;
	for (int i = 0; i < m->ne; i++) {
		struct enode *e = &m->enodes[i];

		if (e->op == OP_VAR)
			e->v.max = maxfn(e->var, arg);
	}
	for (int i = 0; i < m->ne; i++) {
		struct enode *e = &m->enodes[i];

		if (e->op != OP_ADD || e->u.sorted < 0)
			continue;
		e->bounded = 1;
		for (int j = 0; j < e->nk; j++) {
			const struct enode *t = &m->enodes[m->ekids[e->kids + j]];

			if (t->op != OP_VAR || t->v.max < 0)
				e->bounded = 0;
		}
	}
}

static void
uses_node(const struct metaexpr *m, int i, int boolctx,
    unsigned char *numeric)
{
	const struct node *nd = &m->nodes[i];

	switch (nd->op) {
	case OP_CONST:
		break;
	case OP_VAR:
		if (!boolctx)
			numeric[nd->var] = 1;
		break;
	case OP_NOT:
		uses_node(m, nd->kid[0], 1, numeric);
		break;
	case OP_AND:
		for (int j = 0; j < nd->nk; j++)
			uses_node(m, nd->kid[j], j < nd->nk - 1 ? 1 : boolctx,
			    numeric);
		break;
	case OP_OR:
		for (int j = 0; j < nd->nk; j++)
			uses_node(m, nd->kid[j], boolctx, numeric);
		break;
	default:
		for (int j = 0; j < nd->nk; j++)
			uses_node(m, nd->kid[j], 0, numeric);
		break;
	}
}

void *
metaexpr_pack(struct metaexpr **ms, size_t n)
{
	size_t ne = 0, nk = 0, oe = 0, ok = 0;
	struct metaexpr *hdr;
	struct enode *e;
	int *k;
	void *block;

	for (size_t i = 0; i < n; i++)
		if (ms[i] != NULL && ms[i]->enodes != NULL) {
			ne += (size_t)ms[i]->ne;
			nk += (size_t)ms[i]->nek;
		}
	/* the structs, then every layout's nodes, then their operands */
	block = xcalloc(1, n * sizeof(*hdr) + ne * sizeof(*e) +
	    nk * sizeof(int) + 1);
	hdr = block;
	e = (struct enode *)(hdr + n);
	k = (int *)(e + ne);
	for (size_t i = 0; i < n; i++) {
		struct metaexpr *m = ms[i];

		if (m == NULL || m->inblock)
			continue;
		hdr[i] = *m;
		hdr[i].inblock = 1;
		free(m);
		ms[i] = m = &hdr[i];
		if (m->enodes == NULL)
			continue;
		memcpy(e + oe, m->enodes, (size_t)m->ne * sizeof(*e));
		memcpy(k + ok, m->ekids, (size_t)m->nek * sizeof(int));
		if (!m->packed) {
			free(m->enodes);
			free(m->ekids);
		}
		m->enodes = e + oe;
		m->ekids = k + ok;
		m->packed = 1;
		oe += (size_t)m->ne;
		ok += (size_t)m->nek;
	}
	return block;
}

void
metaexpr_numeric_uses(const struct metaexpr *m, int boolroot,
    unsigned char *numeric)
{
	if (m->nodes == NULL) {
		for (size_t i = 0; i < m->nvars; i++)
			numeric[m->vars[i]] = 1;
		return;
	}
	uses_node(m, m->root, boolroot != 0, numeric);
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
	free_tree(m);
	free(m->ins);
	free(m->vars);
	if (!m->inblock)
		free(m);
}
