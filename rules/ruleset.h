/*
 * ruleset.h - a loaded and compiled set of SpamAssassin-language rules
 * (internal to rules/; the public entry points are in rules.h).
 *
 * ruleset_load() parses .cf files (directives, conditionals, ReplaceTags)
 * into rules, then ruleset_compile() compiles regexes (PCRE2 + JIT),
 * meta expressions (in dependency order), eval calls, and the prefilter
 * automata. After that a ruleset is read-only and shared by all scans.
 */
#ifndef HAMLET_RULESET_H
#define HAMLET_RULESET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pcre2.h>

#include "engine/buf.h"
#include "engine/status.h"
#include "rules/rx.h"

struct metaexpr;
struct ac;
struct rscan;
struct rule;

enum rule_type {
	RT_HEADER, RT_BODY, RT_RAWBODY, RT_URI, RT_FULL, RT_MIMEHEADER,
	RT_META, RT_NTYPES
};

/* the text a rule type runs on, for the prefilter automata */
enum rule_text { TXT_BODY, TXT_RAWBODY, TXT_URI, TXT_FULL, TXT_NTEXTS };

/* header rule modifiers (Hdr:raw, :addr, :name, :first, :last ...) */
enum hdr_mods {
	HM_RAW = 1 << 0, HM_ADDR = 1 << 1, HM_NAME = 1 << 2,
	HM_FIRST = 1 << 3, HM_LAST = 1 << 4, HM_HOST = 1 << 5,
	HM_DOMAIN = 1 << 6
};

enum hdr_kind {
	HK_NORMAL, HK_ALL, HK_TOCC, HK_ENVFROM, HK_MESSAGEID,
	HK_RELAYS_UNTRUSTED,	/* X-Spam-Relays-Untrusted and -External */
	HK_RELAYS_TRUSTED,	/* X-Spam-Relays-Trusted and -Internal */
	HK_ALL_TRUSTED,		/* ALL-TRUSTED and ALL-INTERNAL */
	HK_ALL_UNTRUSTED,	/* ALL-UNTRUSTED and ALL-EXTERNAL */
	HK_UNSUPPORTED
};

/* tflags we act on beyond the symbol flags */
enum rule_tflags {
	TF_MULTIPLE = 1 << 0, TF_NICE = 1 << 1, TF_NET = 1 << 2,
	TF_LEARN = 1 << 3, TF_USERCONF = 1 << 4, TF_NOAUTOLEARN = 1 << 5,
	TF_AUTOLEARN_FORCE = 1 << 6, TF_NOSUBJECT = 1 << 7, TF_NOLOG = 1 << 8
};

/*
 * An eval function: returns the number of hits (0 = no hit). args are
 * the call's arguments with quotes removed.
 */
typedef int evalfn(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv);

/*
 * A hash of a header name, eight bytes a round, case folded by setting
 * bit 5 of every byte: names strcasecmp() finds equal hash equal (it
 * folds only A-Z, so a few other names collide; the strcasecmp() that
 * follows every hash match sorts them out). The scan hashes the names
 * of a message's headers, the ruleset those its header rules ask for.
 */
static inline uint32_t
ruleset_name_hash(const char *s)
{
	size_t n = strlen(s);
	uint64_t h = 0x9e3779b97f4a7c15u ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, sizeof(w));
		h = (h ^ (w | 0x2020202020202020u)) * 0x100000001b3u;
	}
	if (n > 0) {
		/* the last 1..7 bytes as 4, 2 and 1 */
		uint32_t w4 = 0;
		uint16_t w2 = 0;
		size_t k = 0;

		if (n & 4) {
			memcpy(&w4, s, 4);
			k = 4;
		}
		if (n & 2) {
			memcpy(&w2, s + k, 2);
			k += 2;
		}
		w = (uint64_t)w4 | (uint64_t)w2 << 32 |
		    (n & 1 ? (uint64_t)(unsigned char)s[k] << 48 : 0);
		h = (h ^ (w | 0x2020202020202020u)) * 0x100000001b3u;
	}
	/* the high bits down into the low ones the bloom bits use */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 32;
	return (uint32_t)h;
}

struct rule {
	/*
	 * What a scan reads for every rule, first: one cache line (the
	 * rules' structs are cold in cache at the start of each message).
	 */
	enum rule_type	 type;
	int		 negate;	/* !~ */
	int		 idx;		/* index in ruleset->rules */
	int		 symid;		/* in the engine's registry, -1 before */
	unsigned	 tflags;	/* enum rule_tflags */
	int		 maxhits;
	int		 hslot;		/* header rules: value slot, or -1 */
	int		 jit;		/* re has JIT code: pcre2_jit_match() */
	int		 exists;	/* exists:Hdr */
	int		 lazyid;	/* lazy with literals: index, or -1 */
	pcre2_code	*re;
	struct rx_classes *cls;	/* required byte classes, or NULL */
	size_t		 minlen;	/* shortest text it can match */
	int		 oneline;	/* within a line, minlen >= 64 (rx.h) */
	int		 joinable;	/* body: searched a run of lines at once */
	size_t		 letrun;	/* letters in a row it needs, >= 16, or 0 */
	size_t		 uprun;		/* upper-case ones, >= 4, or 0 */
	size_t		 digrun;	/* digits, >= 3, or 0 */
	struct rx_comb	*comb;		/* a byte at offsets it needs, or NULL */
	pcre2_code	*probe;		/* a faster necessary suffix, or NULL */
	struct rx_gate	*gate;		/* start positions to try, or NULL */
	struct rx_split	*split;		/* "any match" by parts, or NULL */
	struct rx_count	*count;		/* a literal it needs n times, or NULL */
	char		*unset;		/* [if-unset: X] or NULL */
	struct metaexpr	*meta;
	struct rx_lits	*lits;		/* prefilter literals, or NULL */
	int		*litids;	/* ids in the automaton of its text */

	char		*name;
	char		*file;		/* where defined (for lint) */
	int		 line;
	char		*src;		/* text after the name, as written */

	/* regex rules */
	char		*pat;		/* PCRE2 pattern (after ReplaceTags) */
	unsigned	 reflags;

	/* header rules */
	char		*hdr;		/* header name (modifiers stripped) */
	uint32_t	 hdrhash;	/* ruleset_name_hash(hdr) */
	unsigned	 hmods;		/* enum hdr_mods */
	enum hdr_kind	 hkind;

	/* eval rules */
	char		*evname;	/* function name, or NULL */
	evalfn		*ev;
	int		 evargc;
	char		**evargv;

	int		 priority;
	const char	*disabled;	/* why it does not run, or NULL */
	int		 replace;	/* listed in replace_rules */
};

/* per-name settings that may come before or without a rule */
struct rule_meta {
	char		*name;
	double		 score[4];
	int		 has_score;
	char		*desc;
	unsigned	 tflags;
	int		 maxhits;
	int		 priority;
	int		 has_tflags;
};

struct rs_test {
	char	*rule;
	int	 ok;		/* expect a hit */
	char	*text;
	char	*file;
	int	 line;
};

struct rs_stats {
	size_t	 files;
	size_t	 lines;
	size_t	 rules_total;	/* rule definitions kept (last wins) */
	size_t	 by_type[RT_NTYPES];
	size_t	 evals;		/* eval: rules */
	size_t	 evals_active;
	size_t	 evals_unknown;
	size_t	 evals_net;	/* network evals (not run) */
	size_t	 regex_total;	/* non-eval regex rules */
	size_t	 regex_active;
	size_t	 regex_failed;
	size_t	 regex_prefiltered;	/* with literals in an automaton */
	size_t	 regex_classes;	/* with required byte classes */
	size_t	 regex_probes;	/* with a probe regex */
	size_t	 regex_split;	/* searched by alternatives (rx_split) */
	size_t	 regex_combs;	/* with a comb (rx_comb) */
	size_t	 meta_total;
	size_t	 meta_active;
	size_t	 meta_failed;
	size_t	 unknown_directives;
	size_t	 warnings;
	size_t	 literals[TXT_NTEXTS];
	size_t	 ac_states[TXT_NTEXTS];
};

struct ruleset {
	struct rule	**rules;
	size_t		 nrules;
	size_t		 caprules;
	struct rule_meta **metas;	/* score/describe/tflags by name */
	size_t		 nmetas;
	size_t		 capmetas;
	void		*rindex;	/* name -> rule */
	void		*mindex;	/* name -> rule_meta */

	/* ReplaceTags */
	char		**tag_name, **tag_val;
	size_t		 ntags;
	char		**pre_name, **pre_val;
	size_t		 npre;
	char		**post_name, **post_val;
	size_t		 npost;
	char		**inter_name, **inter_val;
	size_t		 ninter;
	char		*rstart, *rend;
	char		**replace_rules;
	size_t		 nreplace;

	char		**plugins;	/* loadplugin names seen */
	size_t		 nplugins;

	/* engine settings found in rule files */
	int		 has_required;
	double		 required_score;
	char		*rewrite_subject;	/* NULL if not set */
	int		 has_report_safe;
	int		 report_safe;
	char		**add_hdr;	/* add_header: "spam|ham|all Name template" */
	size_t		 nadd_hdr;
	int		 has_add_hdr;	/* add_header or clear_headers seen */
	char		**ucfg_key;	/* user_prefs Bayes settings: hamlet */
	char		**ucfg_val;	/* config key and value, checked */
	size_t		 nucfg;

	char		**freemail;	/* freemail_domains entries */
	size_t		 nfreemail;
	/* compiled: exact entries hashed, globs by index, up to nmapped */
	struct strmap	*freemail_map;
	size_t		*freemail_globs;
	size_t		 nfreemail_globs;
	size_t		 nfreemail_mapped;
	char		**welcome, **block;	/* welcomelist_from patterns */
	size_t		 nwelcome, nblock;

	struct rs_test	*tests;
	size_t		 ntests;

	/* compiled */
	int		 compiled;
	struct rule	**by_type[RT_NTYPES];	/* active, non-eval */
	size_t		 nby_type[RT_NTYPES];
	struct rule	**evals;		/* active eval rules */
	size_t		 nevals;
	struct rule	**metaorder;		/* active metas, deps first */
	size_t		 nmetaorder;
	struct ac	*ac[TXT_NTEXTS];
	struct rule	**always[TXT_NTEXTS];	/* rules without literals */
	size_t		 nalways[TXT_NTEXTS];
	size_t		 njoinable;	/* body rules with joinable set */
	struct rule	**filtered[TXT_NTEXTS];	/* rules with literals */
	size_t		 nfiltered[TXT_NTEXTS];
	/* literal id -> the filtered[] rules using it: CSR offsets, indexes */
	size_t		*lit_off[TXT_NTEXTS];
	size_t		*lit_rules[TXT_NTEXTS];
	/*
	 * By text type: so few filtered rules, each with a first byte
	 * PCRE2 searches for, that running them all costs less than the
	 * automaton's walk (the full message: 3 rules in the default set)
	 */
	int		 scan_all[TXT_NTEXTS];
	int		 nvars;		/* meta variables (= max symid + 1) */
	unsigned char	*off[4];	/* by rule idx: score 0 in that set */
	unsigned char	*lazy;		/* by rule idx: run on demand (below) */
	size_t		 nlazyf;	/* lazy rules with literals */
	int		*sym_rule;	/* engine symbol id -> rule idx, or -1 */
	size_t		 nhslots;	/* distinct header values rules read */
	void		*meta_block;	/* metas' layouts (metaexpr_pack) */
	/* by rule idx: values known before metas run, with/without lazy */
	unsigned char	*known_lazy;
	unsigned char	*known_all;
	struct rule	**meta_eager[4];	/* by score set: metaorder less */
	size_t		 nmeta_eager[4];	/* lazy and off metas */
	struct metaexpr	**meta_eager_m[4];	/* the same: expressions */
	int		*meta_eager_i[4];	/* and rule idx */
	struct metaexpr	**meta_of;		/* by rule idx, or NULL */
	struct rule	**hdr_eager[4];		/* header, mimeheader rules a */
	size_t		 nhdr_eager[4];		/* scan runs up front */
	/* by score set and text type, per always[] then filtered[] rule:
	 * 1 off (or lazy without literals), 2 lazy with literals, 0 run;
	 * plus TEXT_NEGATE for a !~ rule */
	unsigned char	*text_init[4][TXT_NTEXTS];
	size_t		 nsym_rule;

	struct rs_stats	 st;
	struct buf	 log;		/* warnings, "file:line: text\n" */
	char		**unknown_evals;	/* "name" per distinct eval */
	size_t		*unknown_eval_count;
	size_t		 nunknown_evals;
	char		**unknown_dirs;
	size_t		*unknown_dir_count;
	size_t		 nunknown_dirs;

	int		 match_limit;
	int		 depth_limit;

	/* loading a user_prefs file: 1 user-safe directives, 2 rules too */
	int		 user;
	int		 no_jit;	/* compile for the interpreter only */
};

/*
 * Lazy rules: a __ regex rule and a __ meta run only when a meta asks for
 * their value, so a meta decided by cheaper operands never runs them;
 * && and || operands are planned cheapest first (metaexpr_plan()). __
 * rules are never scored or reported, so results are the same. A chain
 * of lazy metas is at most RULESET_LAZY_DEPTH deep (deeper ones are
 * evaluated in order), which bounds the recursion of rmatch_meta().
 */
#define RULESET_LAZY_DEPTH	16
/* the most filtered rules of a text type that are run without the automaton */
#define RULESET_SCAN_ALL_MAX	4
#define TEXT_NEGATE		4

struct ruleset *ruleset_new(void);
void ruleset_free(struct ruleset *rs);
/*
 * Load every *.cf file of dir in name order (or one file). Syntax
 * problems are warnings in rs->log; only an unreadable path fails.
 */
enum status ruleset_load_path(struct ruleset *rs, const char *path,
    char *err, size_t errlen);
/*
 * Load a user_prefs file (SpamAssassin syntax) over what is loaded:
 * only user-safe directives (score, required_score, rewrite_header,
 * report_safe, add_header, welcome/blocklists ...), rule definitions
 * too when allow_rules; anything else is a "file:line" warning and is
 * skipped. Never fails: an unreadable file, one that is not a regular
 * file (a FIFO would block) or one over 1 MB is a warning as well.
 * Returns the offset in rs->log where this file's warnings begin.
 */
size_t ruleset_load_user(struct ruleset *rs, const char *path,
    int allow_rules);
/* Compile everything loaded; failures disable rules and are logged. */
void ruleset_compile(struct ruleset *rs);
struct rule *ruleset_rule(const struct ruleset *rs, const char *name);
struct rule_meta *ruleset_meta(const struct ruleset *rs, const char *name);

/* the text type of a rule type, or -1 */
int ruleset_text_of(enum rule_type t);
const char *ruleset_type_name(enum rule_type t);

/* eval registry (evalfn.c) */
evalfn *evalfn_lookup(const char *name, int *is_net /* OUT */);
/* 0 when the eval exists but not with these arguments */
int evalfn_supports(const char *name, int argc, char *const *argv);

#endif
