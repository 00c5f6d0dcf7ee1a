/*
 * test_spamhdr.c - X-Spam-* layout against golden output produced by
 * SpamAssassin 4.0.1's own Mail::SpamAssassin::Util::wrap, score display,
 * subject rewrite and byte-exact tagging.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/cfg.h"
#include "engine/scan.h"
#include "engine/spamhdr.h"
#include "tests/unit/testhelp.h"

static const struct {
	const char *in, *out;
} folds[] = {
{ "Yes, score=1000.0 required=5.0 tests=GTUBE autolearn=no autolearn_force=no version=0.1.0",
  "Yes, score=1000.0 required=5.0 tests=GTUBE autolearn=no\n\tautolearn_force=no version=0.1.0" },
{ "Yes, score=1000.0 required=5.0 tests=GTUBE,MSGID_SHORT,NO_RECEIVED,NO_RELAYS,TVD_SPACE_RATIO autolearn=no autolearn_force=no version=4.0.1",
  "Yes, score=1000.0 required=5.0 tests=GTUBE,MSGID_SHORT,\n\tNO_RECEIVED,NO_RELAYS,TVD_SPACE_RATIO autolearn=no autolearn_force=no\n\tversion=4.0.1" },
{ "No, score=-0.1 required=5.0 tests=BAYES_00,DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,HEADER_FROM_DIFFERENT_DOMAINS,MAILING_LIST_MULTI,RCVD_IN_DNSWL_NONE,SPF_HELO_NONE,SPF_PASS autolearn=ham autolearn_force=no version=4.0.1",
  "No, score=-0.1 required=5.0 tests=BAYES_00,DKIM_SIGNED,\n\tDKIM_VALID,DKIM_VALID_AU,HEADER_FROM_DIFFERENT_DOMAINS,\n\tMAILING_LIST_MULTI,RCVD_IN_DNSWL_NONE,SPF_HELO_NONE,SPF_PASS\n\tautolearn=ham autolearn_force=no version=4.0.1" },
{ "Yes, score=12.3 required=5.0 tests=AVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYLONGRULENAMETHATEXCEEDSTHEWIDTH,B autolearn=no autolearn_force=no version=4.0.1",
  "Yes, score=12.3 required=5.0\n\ttests=AVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYVERYLONGRULENAMETHATEXCEEDSTHEWIDTH,\n\tB autolearn=no autolearn_force=no version=4.0.1" },
};

/* multi-line values: SpamAssassin's s/\s*\n\s*\/\n\t/g */
static const struct {
	const char *in, *out;
} mfolds[] = {
{ "\n* 1.0 A desc\n* 2.0 B", "\n\t* 1.0 A desc\n\t* 2.0 B" },
{ "x\r\n y", "x\n\ty" },
/* a blank line is part of one whitespace run: one "\n\t" */
{ "a \n \n b", "a\n\tb" },
{ "a\t\n\nb ", "a\n\tb " },
{ "\n\n* x", "\n\t* x" },
};

static struct engine *
mkengine(const char *rewrite)
{
	struct cfg *c = cfg_new();
	char err[256];
	struct engine *e;

	cfg_set(c, "hostname", "test.example", err, sizeof(err));
	if (rewrite)
		cfg_set(c, "rewrite_subject", rewrite, err, sizeof(err));
	e = engine_new(c);
	engine_freeze(e);
	return e;
}

static char *
tag(struct engine *e, const char *m)
{
	struct scan *s = scan_new(e, NULL, m, strlen(m));
	struct buf out = BUF_INIT;

	scan_run(s);
	spamhdr_tag_message(s, m, strlen(m), &out);
	scan_free(s);
	return buf_detach(&out);
}

int
main(void)
{
	struct pool *p = pool_new();
	struct engine *e = mkengine(NULL), *er = mkengine("*****SPAM*****");
	char *o;

	for (size_t i = 0; i < sizeof(folds) / sizeof(folds[0]); i++)
		test_cond(folds[i].in, strcmp(spamhdr_fold(p, "X-Spam-Status",
		    folds[i].in), folds[i].out) == 0);
	for (size_t i = 0; i < sizeof(mfolds) / sizeof(mfolds[0]); i++)
		test_cond(mfolds[i].in, strcmp(spamhdr_fold(p, "X-Spam-Report",
		    mfolds[i].in), mfolds[i].out) == 0);

	/* ham: headers at the top, no Flag, body untouched, LF kept */
	const char *ham = "From: a@example.com\nSubject: hello\n\nhi there\n";
	o = tag(e, ham);
	test_cond("ham has Status No", strstr(o, "\nX-Spam-Status: No, score=0.0 required=5.0 tests=none autolearn=no") != NULL);
	test_cond("ham has no Flag", strstr(o, "X-Spam-Flag") == NULL);
	test_cond("ham Level is empty", strstr(o, "\nX-Spam-Level: \n") != NULL);
	test_cond("ham original follows", strstr(o, "\nFrom: a@example.com\nSubject: hello\n\nhi there\n") != NULL);
	test_cond("checker first", strncmp(o, "X-Spam-Checker-Version: hamlet ", 31) == 0);
	free(o);

	/* spam, CRLF, forged X-Spam headers removed, Return-Path first */
	const char *sp = "Return-Path: <x@y>\r\nX-Spam-Flag: NO\r\nX-Spam-Status: No,\r\n\tscore=-50\r\n"
	    "Subject: =?UTF-8?B?w6l0w6k=?=\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n";
	o = tag(er, sp);
	test_cond("Return-Path stays first", strncmp(o, "Return-Path: <x@y>\r\nX-Spam-Checker-Version", 41) == 0);
	test_cond("forged Flag removed", strstr(o, "X-Spam-Flag: NO") == NULL);
	test_cond("forged folded Status removed", strstr(o, "score=-50") == NULL);
	test_cond("Flag YES", strstr(o, "\r\nX-Spam-Flag: YES\r\n") != NULL);
	test_cond("folded with CRLF TAB", strstr(o, "tests=GTUBE autolearn=no\r\n\tautolearn_force=no") != NULL);
	test_cond("encoded subject stays valid", strstr(o, "\r\nSubject: *****SPAM***** =?UTF-8?B?w6l0w6k=?=\r\n") != NULL);
	test_cond("CRLF body kept", strstr(o, "\r\n\r\nXJS*C4JDBQADN1") != NULL);
	test_cond("report in CRLF", strstr(o, "X-Spam-Report: \r\n\t* 1000 GTUBE BODY: Generic Test") != NULL);
	/* idempotent tagging: the output tagged again has the same headers */
	char *o2 = tag(er, o);
	test_cond("re-tag does not double the subject tag", strstr(o2, "*****SPAM***** *****SPAM*****") == NULL);
	test_cond("re-tag keeps one Status", strstr(strstr(o2, "X-Spam-Status") + 1, "X-Spam-Status") == NULL);
	free(o2);
	free(o);

	/* mbox From_ line stays first */
	o = tag(e, "From a@b Mon Nov 23 10:00:00 2026\nSubject: x\n\nbody\n");
	test_cond("From_ line first", strncmp(o, "From a@b Mon Nov 23 10:00:00 2026\nX-Spam-Checker", 46) == 0);
	free(o);

	/* error header, control characters removed */
	{
		struct buf b = BUF_INIT;
		spamhdr_error_message("Subject: a\n\nb\n", 14, "bad\nthing", &b);
		test_cond("error header", strcmp(buf_str(&b), "X-Hamlet-Error: bad thing\nSubject: a\n\nb\n") == 0);
		buf_free(&b);
	}
	engine_unref(e);
	engine_unref(er);
	pool_free(p);
	return test_report();
}
