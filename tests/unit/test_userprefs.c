/*
 * test_userprefs.c - unit tests of user_prefs loading (ruleset_load_user:
 * user-safe directives only, rules with allow_user_rules, file:line
 * warnings, Bayes settings, add_header), the welcome/block list match
 * (wlbl.c) and the whole engine path (rules_attach_user + spamhdr) on a
 * hand-made message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/buf.h"
#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "engine/scan.h"
#include "engine/spamhdr.h"
#include "rules/rules.h"
#include "rules/ruleset.h"
#include "rules/wlbl.h"
#include "train/setup.h"
#include "tests/unit/testhelp.h"

static char tmpdir[] = "/tmp/hamlet-ut-prefs.XXXXXX";

static const char *
write_file(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	FILE *fp;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	fp = fopen(p, "w");
	if (fp == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	return p;
}

static void
test_match(void)
{
	test_cond("exact", wlbl_match("a@b.org", "a@b.org"));
	test_cond("case-insensitive", wlbl_match("A@B.Org", "a@b.ORG"));
	test_cond("* domain", wlbl_match("*@b.org", "anyone@b.org"));
	test_cond("* does not cross a missing part", !wlbl_match("*@b.org", "a@c.org"));
	test_cond("whole address only", !wlbl_match("a@b.org", "xa@b.org.evil"));
	test_cond("? one character", wlbl_match("news-?@s.com", "news-1@s.com"));
	test_cond("? not zero", !wlbl_match("news-?@s.com", "news-@s.com"));
	test_cond("* alone", wlbl_match("*", "whatever@x"));
	test_cond("several *", wlbl_match("*@*.example.*", "a@mail.example.net"));
	test_cond("trailing *s", wlbl_match("a@b***", "a@b"));
	test_cond("empty pattern only empty", !wlbl_match("", "a@b"));
	/* a pathological pattern stays linear enough to finish */
	char pat[200], addr[400];
	memset(pat, 0, sizeof(pat));
	for (int i = 0; i < 99; i++)
		pat[i] = i % 2 ? 'a' : '*';
	pat[98] = 'c';		/* never in addr: every star must give up */
	memset(addr, 'a', 320);
	addr[320] = 'b';
	addr[321] = '\0';
	test_cond("many stars, no match, terminates", !wlbl_match(pat, addr));
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_load_user(void)
{
	const char *site = write_file("site.cf",
	    "body SITE_RULE /cheap/\nscore SITE_RULE 2.5\nrequired_score 5\n");
	const char *prefs = write_file("prefs",
	    "# comment\n"
	    "score SITE_RULE 7\n"
	    "required_score 9.5\n"
	    "body MY_RULE /lunch/\n"
	    "include /etc/passwd\n"
	    "loadplugin Foo\n"
	    "welcomelist_from *@Friends.example\n"
	    "blacklist_from spam@*\n"
	    "rewrite_header Subject [S]\n"
	    "add_header all Mine _SCORE_\n"
	    "add_header nope X y\n"
	    "bayes_auto_learn 1\n"
	    "use_bayes maybe\n"
	    "score\n");
	struct ruleset *rs = ruleset_new();
	char err[256];
	size_t at;
	const char *log;

	test_cond("site file loads", ruleset_load_path(rs, site, err,
	    sizeof(err)) == ST_OK);
	at = ruleset_load_user(rs, prefs, 0);
	log = buf_str(&rs->log) + at;
	test_cond("user score overrides the site's",
	    ruleset_meta(rs, "SITE_RULE")->score[0] == 7);
	test_cond("required_score", rs->has_required && rs->required_score == 9.5);
	test_cond("rule refused without allow_user_rules",
	    ruleset_rule(rs, "MY_RULE") == NULL);
	test_cond("refusal names file:4", strstr(log, "prefs:4: 'body' is not allowed") != NULL);
	test_cond("include refused", strstr(log, "prefs:5: 'include' is not allowed") != NULL);
	test_cond("loadplugin refused", strstr(log, "prefs:6: 'loadplugin'") != NULL);
	test_cond("welcomelist lowercased", rs->nwelcome == 1 &&
	    strcmp(rs->welcome[0], "*@friends.example") == 0);
	test_cond("old blacklist name", rs->nblock == 1);
	test_cond("rewrite_header", rs->rewrite_subject &&
	    strcmp(rs->rewrite_subject, "[S]") == 0);
	test_cond("add_header kept", rs->nadd_hdr == 1 &&
	    strcmp(rs->add_hdr[0], "all Mine _SCORE_") == 0);
	test_cond("bad add_header class warned", strstr(log, "prefs:11: add_header") != NULL);
	test_cond("bayes_auto_learn mapped", rs->nucfg == 1 &&
	    strcmp(rs->ucfg_key[0], "bayes_auto_learn") == 0);
	test_cond("bad use_bayes value warned", strstr(log, "prefs:13: use_bayes maybe") != NULL);
	test_cond("bare score warned", strstr(log, "prefs:14: score") != NULL);
	test_cond("user mode is switched off after loading", rs->user == 0);
	test_cond("site warnings not in the user's part", count(log, "site.cf") == 0);

	/* with allow_user_rules the same file defines its rule */
	ruleset_free(rs);
	rs = ruleset_new();
	ruleset_load_user(rs, prefs, 1);
	test_cond("rule defined with allow_user_rules",
	    ruleset_rule(rs, "MY_RULE") != NULL);
	test_cond("include still refused", strstr(buf_str(&rs->log),
	    "'include' is not allowed") != NULL);
	ruleset_free(rs);

	/* a missing file is a warning, not a failure */
	rs = ruleset_new();
	at = ruleset_load_user(rs, "/nonexistent/prefs", 0);
	test_cond("missing prefs: warning", strstr(buf_str(&rs->log) + at,
	    "not read") != NULL);
	ruleset_free(rs);

	/* the Bayes settings only count in user_prefs */
	rs = ruleset_new();
	ruleset_load_path(rs, write_file("sa.cf", "bayes_auto_learn 1\n"),
	    err, sizeof(err));
	test_cond("site rule file: bayes_auto_learn ignored", rs->nucfg == 0);
	ruleset_free(rs);

	/* unwelcomelist_from undoes an entry written the same way */
	rs = ruleset_new();
	ruleset_load_path(rs, write_file("wl.cf", "welcomelist_from *@a.example "
	    "*@b.example\nblocklist_from x@c.example\n"), err, sizeof(err));
	ruleset_load_user(rs, write_file("p4", "unwelcomelist_from *@A.example\n"
	    "unblacklist_from x@c.example nobody@d.example\n"), 0);
	test_cond("unwelcomelist_from removes one entry", rs->nwelcome == 1 &&
	    strcmp(rs->welcome[0], "*@b.example") == 0);
	test_cond("unblacklist_from (old name) removes", rs->nblock == 0);
	ruleset_free(rs);

	/* add_header: a later one replaces, clear_headers empties */
	rs = ruleset_new();
	ruleset_load_user(rs, write_file("p2", "add_header spam A 1\n"
	    "add_header all A 2\nadd_header ham B 3\nadd_header ham B 4\n"), 0);
	test_cond("add_header replaced by name", rs->nadd_hdr == 2 &&
	    strcmp(rs->add_hdr[0], "all A 2") == 0 &&
	    strcmp(rs->add_hdr[1], "ham B 4") == 0);
	ruleset_load_user(rs, write_file("p3", "clear_headers\n"), 0);
	test_cond("clear_headers", rs->nadd_hdr == 0 && rs->has_add_hdr);
	ruleset_free(rs);
}

/* the whole path: site rules + prefs on an engine, one scan, headers */
static void
test_engine(void)
{
	char dir[300];
	const char *site;

	snprintf(dir, sizeof(dir), "%s/engine", tmpdir);
	mkdir(dir, 0700);
	site = write_file("engine/rules.cf",
	    "body SPAMMY /cheap pills/\nscore SPAMMY 6\n"
	    "header USER_IN_WELCOMELIST eval:check_from_in_welcomelist()\n"
	    "score USER_IN_WELCOMELIST -100\n"
	    "header USER_IN_BLOCKLIST eval:check_from_in_blocklist()\n"
	    "score USER_IN_BLOCKLIST 100\n");
	const char *prefs = write_file("user_prefs",
	    "required_score 4\nscore SPAMMY 3\n"
	    "blocklist_from *@bad.example\nwelcomelist_from *@good.example\n"
	    "add_header spam Why _TESTS(+)_\nbayes_auto_learn 1\n");
	const char *const dirs[1] = { dir };
	const char *msgs[3] = {
		"From: x@bad.example\nSubject: hi\n\nhello\n",
		"From: Y <y@good.example>\nSubject: hi\n\ncheap pills\n",
		"From: z@other.example\nSubject: hi\n\ncheap pills\n",
	};
	int spam[3], welcome = 0, block = 0, why = 0;
	char err[256];
	struct cfg *c = cfg_new();
	struct engine *e;
	struct envelope env;

	(void)site;
	cfg_set(c, "use_bayes", "no", err, sizeof(err));
	e = engine_new(c);
	test_cond("attach with prefs", rules_attach_user(e, dirs, 1, prefs, 0,
	    err, sizeof(err)) == ST_OK);
	test_cond("required_score applied", engine_cfg(e)->required_score == 4);
	test_cond("user Bayes setting applied", engine_cfg(e)->bayes_auto_learn == 1);
	test_cond("add_headers applied", strstr(engine_cfg(e)->add_headers,
	    "spam Why") != NULL);
	engine_freeze(e);
	memset(&env, 0, sizeof(env));
	for (int i = 0; i < 3; i++) {
		struct scan *s = scan_new(e, &env, msgs[i], strlen(msgs[i]));
		struct spamhdr h[SPAMHDR_MAX];
		size_t n;

		scan_run(s);
		spam[i] = s->res.is_spam;
		if (result_get(&s->res, "USER_IN_WELCOMELIST", engine_symbols(e)))
			welcome |= 1 << i;
		if (result_get(&s->res, "USER_IN_BLOCKLIST", engine_symbols(e)))
			block |= 1 << i;
		n = spamhdr_build(s, h);
		for (size_t k = 0; k < n; k++)
			if (strcmp(h[k].name, "X-Spam-Why") == 0 &&
			    strstr(h[k].value, "SPAMMY") != NULL)
				why |= 1 << i;
		scan_free(s);
	}
	test_cond("blocklisted sender is spam", spam[0] && block == 1);
	test_cond("welcomelisted spammy text is ham", !spam[1] && welcome == 2);
	test_cond("user score 3 under required 4: ham", !spam[2]);
	test_cond("add_header spam only on spam", why == 0);
	engine_unref(e);

	/* the same prefs with SPAMMY at 5: message 2 becomes spam with X-Spam-Why */
	c = cfg_new();
	cfg_set(c, "use_bayes", "no", err, sizeof(err));
	e = engine_new(c);
	prefs = write_file("user_prefs2", "required_score 4\nscore SPAMMY 5\n"
	    "add_header spam Why _TESTS(+)_\n"
	    "add_header all Pad _SCORE(00)_/_REQD_ _YESNOCAPS_ _NOSUCH_\n");
	rules_attach_user(e, dirs, 1, prefs, 0, err, sizeof(err));
	engine_freeze(e);
	{
		struct scan *s = scan_new(e, &env, msgs[2], strlen(msgs[2]));
		struct spamhdr h[SPAMHDR_MAX];
		size_t n;
		int found = 0, pad = 0;

		scan_run(s);
		n = spamhdr_build(s, h);
		for (size_t k = 0; k < n; k++)
			if (strcmp(h[k].name, "X-Spam-Why") == 0 &&
			    strcmp(h[k].value, "SPAMMY") == 0)
				found = 1;
			else if (strcmp(h[k].name, "X-Spam-Pad") == 0 &&
			    strcmp(h[k].value, "005.0/4.0 YES _NOSUCH_") == 0)
				pad = 1;
		test_cond("user score makes it spam", s->res.is_spam);
		test_cond("X-Spam-Why: SPAMMY", found);
		test_cond("_SCORE(00)_ padded, unknown tag kept", pad);
		scan_free(s);
	}
	engine_unref(e);
}

/* pcre_jit: no JIT code when off; auto resolves by setup's oneshot */
static void
test_jit(void)
{
	const char *rf = write_file("jit.cf", "body JITTED /fo+ba[rz]/\n");
	const char *const dirs[1] = { rf };
	struct cfg *c = cfg_new();
	struct ruleset *rs;
	size_t jsz = 1;
	uint32_t have_jit = 0;
	char err[256];
	struct setup o;
	struct engine *e;

	pcre2_config(PCRE2_CONFIG_JIT, &have_jit);
	cfg_set(c, "pcre_jit", "no", err, sizeof(err));
	test_cond("load with pcre_jit no", rules_load(dirs, 1, c, &rs, err,
	    sizeof(err)) == ST_OK);
	pcre2_pattern_info(ruleset_rule(rs, "JITTED")->re, PCRE2_INFO_JITSIZE,
	    &jsz);
	test_cond("pcre_jit no: interpreter only", jsz == 0);
	rules_free(rs);
	cfg_set(c, "pcre_jit", "yes", err, sizeof(err));
	rules_load(dirs, 1, c, &rs, err, sizeof(err));
	pcre2_pattern_info(ruleset_rule(rs, "JITTED")->re, PCRE2_INFO_JITSIZE,
	    &jsz);
	test_cond("pcre_jit yes: JIT code (when PCRE2 has a JIT)",
	    !have_jit || jsz > 0);
	rules_free(rs);
	cfg_free(c);

	memset(&o, 0, sizeof(o));
	o.rules[0] = rf;
	o.nrules = 1;
	o.no_bayes = 1;
	o.oneshot = 1;
	o.config = write_file("empty.conf", "# nothing\n");
	e = setup_engine(&o, err, sizeof(err));
	test_cond("setup: oneshot resolves auto to no", e != NULL &&
	    engine_cfg(e)->pcre_jit == PCRE_JIT_NO);
	engine_unref(e);
	o.oneshot = 0;
	e = setup_engine(&o, err, sizeof(err));
	test_cond("setup: otherwise auto is yes", e != NULL &&
	    engine_cfg(e)->pcre_jit == PCRE_JIT_YES);
	engine_unref(e);
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_match();
	test_load_user();
	test_engine();
	test_jit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_report();
}
