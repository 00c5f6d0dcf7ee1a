/*
 * test_msg.c - the message model: headers raw and decoded, charsets,
 * HTML visible/invisible text, URIs, attachments, limits and broken mail.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/buf.h"
#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "tests/unit/testhelp.h"

static struct msg_limits lim;

static struct msg *
parse(struct pool *p, const char *raw)
{
	struct msg *m = NULL;

	msg_parse(p, raw, strlen(raw), NULL, &lim, &m);
	return m;
}

static int
has_uri(const struct msg *m, const char *u, const char *host)
{
	for (size_t i = 0; i < m->nuris; i++)
		if (strcmp(m->uris[i].uri, u) == 0 &&
		    (host == NULL || (m->uris[i].host && strcmp(m->uris[i].host, host) == 0)))
			return 1;
	return 0;
}

/* a URI of that source, with that anchor text (NULL: none) */
static int
has_link(const struct msg *m, const char *u, enum msg_uri_source src,
    const char *text)
{
	for (size_t i = 0; i < m->nuris; i++)
		if (strcmp(m->uris[i].uri, u) == 0 && m->uris[i].source == src &&
		    (text == NULL ? m->uris[i].text == NULL :
		    m->uris[i].text && strcmp(m->uris[i].text, text) == 0))
			return 1;
	return 0;
}

static const struct msg_part *
find_part(const struct msg *m, const char *ctype)
{
	for (size_t i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].ctype, ctype) == 0)
			return &m->parts[i];
	return NULL;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/*
 * Parse head + "\n" + body with a clean header block (the paths that
 * build the root part without GMime's parser, or decode its body here)
 * and again with "Subject :" first, which sends the block to GMime as
 * written; 1 when both give the same parts, text and URIs.
 */
static int
same_as_gmime(struct pool *p, const char *head, const char *body)
{
	struct buf b[2] = { BUF_INIT, BUF_INIT };
	struct msg *mm[2];
	int ok;

	for (int k = 0; k < 2; k++) {
		buf_adds(&b[k], k ? "Subject : x\n" : "Subject: x\n");
		buf_adds(&b[k], head);
		buf_adds(&b[k], "\n");
		buf_adds(&b[k], body);
		mm[k] = NULL;
		msg_parse(p, b[k].p, b[k].len, NULL, &lim, &mm[k]);
	}
	ok = mm[0] && mm[1] && mm[0]->nparts == mm[1]->nparts &&
	    mm[0]->nuris == mm[1]->nuris &&
	    mm[0]->visible_len == mm[1]->visible_len &&
	    memcmp(mm[0]->visible, mm[1]->visible, mm[0]->visible_len) == 0 &&
	    same_str(mm[0]->invisible, mm[1]->invisible);
	for (size_t i = 0; ok && i < mm[0]->nparts; i++) {
		const struct msg_part *x = &mm[0]->parts[i], *y = &mm[1]->parts[i];

		ok = x->flags == y->flags && x->nhdrs == y->nhdrs &&
		    same_str(x->ctype, y->ctype) &&
		    same_str(x->charset, y->charset) &&
		    same_str(x->encoding, y->encoding) &&
		    same_str(x->disposition, y->disposition) &&
		    same_str(x->filename, y->filename) &&
		    x->size == y->size && x->text_len == y->text_len &&
		    (x->size == 0 || memcmp(x->data, y->data, x->size) == 0) &&
		    (x->text_len == 0 || memcmp(x->text, y->text,
		    x->text_len) == 0);
	}
	for (size_t i = 0; ok && i < mm[0]->nuris; i++)
		ok = same_str(mm[0]->uris[i].uri, mm[1]->uris[i].uri);
	buf_free(&b[0]);
	buf_free(&b[1]);
	return ok;
}

/*
 * One short-lived thread, like a libmilter worker: converts a koi8-r and
 * a latin-1 body and sniffs a PDF, then ends, leaving its iconv cache and
 * libmagic handle to the next thread (msg.c's shelf).
 */
static void *
handover_main(void *arg)
{
	int *ok = arg;
	struct pool *p = pool_new();
	struct msg *m;
	const struct msg_part *a;

	m = parse(p, "Content-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n");
	*ok = m && strstr(m->visible, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82") != NULL;
	m = parse(p, "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n");
	*ok = *ok && m && strstr(m->visible, "caf\xc3\xa9") != NULL;
	m = parse(p, "From: a@b\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK\n--b1--\n");
	a = m ? find_part(m, "application/octet-stream") : NULL;
	*ok = *ok && a && msg_part_sniffed(m, a) &&
	    strcmp(msg_part_sniffed(m, a), "application/pdf") == 0;
	pool_free(p);
	return NULL;
}

int
main(void)
{
	struct cfg *c = cfg_new();
	struct pool *p = pool_new();
	struct msg *m;
	const struct msg_header *h;

	msg_limits_from_cfg(&lim, c);

	/* headers: RFC 2047, folding, X-Spam hidden, raw 8-bit */
	m = parse(p, "Subject: =?ISO-8859-1?Q?caf=E9?= au\n lait\n"
	    "X-Spam-Status: Yes, score=99\nX-Spam-Flag: YES\n"
	    "From: \xe9t\xe9 <a@b.example>\nTo: x@y\n\nbody\n");
	test_cond("subject decoded", strcmp(m->subject, "caf\xc3\xa9 au lait") == 0);
	h = msg_header(m, "subject", 0);
	test_cond("raw kept folded", h && strcmp(h->raw, "=?ISO-8859-1?Q?caf=E9?= au\n lait") == 0);
	test_cond("X-Spam-* invisible", msg_header(m, "X-Spam-Status", 0) == NULL && m->nspam_hdrs == 2);
	h = msg_header(m, "From", 0);
	test_cond("8-bit header made UTF-8", h && strcmp(h->value, "\xc3\xa9t\xc3\xa9 <a@b.example>") == 0);
	test_cond("8-bit anomaly", m->anomalies & MSG_8BIT_HEADERS);
	test_cond("body text", strcmp(m->visible, "body\n") == 0);

	/*
	 * Blank runs in HTML text are cut to one byte before gumbo parses it
	 * (html.c, ws_collapse()); what is rendered must not change: runs in
	 * <pre> and <textarea>, in attribute values (quoted, with '>' inside),
	 * in comments, raw text and where the tokenizer's mode depends on the
	 * tree (a <style> in <select> or <svg> is not raw text) stay as they are.
	 */
	m = parse(p, "From: a@b\nContent-Type: text/html\n\n"
	    "<a title=\"x>  \" href=\"http://a.example/x  y\">a1   a2</a>"
	    "<p>one \r\n\r\n\t two</p><pre>p1   \n  p2</pre><p>three   four</p>"
	    "<textarea>t1   t2</textarea>");
	test_cond("html blanks: text run is one space",
	    strstr(m->visible, "one two") != NULL &&
	    strstr(m->visible, "three four") != NULL);
	test_cond("html blanks: pre kept", strstr(m->visible, "p1   \n  p2") != NULL);
	test_cond("html blanks: textarea kept", strstr(m->visible, "t1   t2") != NULL);
	test_cond("html blanks: link after a quoted '>'",
	    has_link(m, "http://a.example/x  y", URI_HREF, "a1 a2"));
	m = parse(p, "From: a@b\nContent-Type: text/html\n\n"
	    "<svg><style><a href=\"http://s.example/</style>   q\">s1</a></style></svg>"
	    "<p>after   svg</p>");
	test_cond("html blanks: svg style is not raw text",
	    strstr(m->visible, "after svg") != NULL);
	m = parse(p, "From: a@b\nContent-Type: text/html\n\n"
	    "<!-- <p>   --!>   <p>c1   c2</p><!-->  <p>c3  c4</p><style>x   <p></style>"
	    "<p>c5\f\f c6</p>");
	test_cond("html blanks: after comments and raw text",
	    strstr(m->visible, "c1 c2") != NULL && strstr(m->visible, "c3 c4") != NULL &&
	    strstr(m->visible, "c5 c6") != NULL && strstr(m->visible, "x ") == NULL);
	/* in a template's column group the tree builder ignores <style> */
	m = parse(p, "From: a@b\nContent-Type: text/html\n\n"
	    "<template><col><style></template><pre>t1  t2</style>  t3</pre>");
	test_cond("html blanks: style ignored in a template's colgroup",
	    strstr(m->visible, "t1  t2  t3") != NULL);

	/* multipart/alternative with HTML: hidden text apart, links */
	m = parse(p, "From: a@b\nContent-Type: multipart/alternative; boundary=XX\n\n"
	    "--XX\nContent-Type: text/plain; charset=utf-8\n\nSee http://Example.COM:80/a?b=1. ok\n"
	    "--XX\nContent-Type: text/html; charset=iso-8859-1\n\n"
	    "<html><head><style>p{}</style><title>t</title></head><body>"
	    "<p>Visible <b>text</b> caf\xe9</p><div style=\"display:none\">secret words</div>"
	    "<span style='font-size:1px'>tiny</span><font color=\"#ffffff\">white</font>"
	    "<!-- a comment --><a href=\"HTTPS://Evil.Example/login\">click here</a>"
	    "<img src=\"//img.example.net/x.gif\"> www.bare-host.example.org/path</body></html>\n"
	    "--XX--\n");
	test_cond("three parts", m->nparts == 3);
	test_cond("visible has plain text", strstr(m->visible, "See http://Example.COM:80/a?b=1. ok") != NULL);
	test_cond("visible has html text", strstr(m->visible, "Visible text caf\xc3\xa9") != NULL);
	test_cond("style/title not visible", strstr(m->visible, "p{}") == NULL);
	test_cond("display:none hidden", strstr(m->visible, "secret") == NULL && strstr(m->invisible, "secret words") != NULL);
	test_cond("tiny font hidden", strstr(m->invisible, "tiny") != NULL && strstr(m->visible, "tiny") == NULL);
	test_cond("white on white hidden", strstr(m->invisible, "white") != NULL && strstr(m->visible, "white") == NULL);
	test_cond("comment invisible", strstr(m->invisible, "a comment") != NULL);
	test_cond("text uri normalized", has_uri(m, "http://example.com/a?b=1", "example.com"));
	test_cond("href normalized", has_uri(m, "https://evil.example/login", "evil.example"));
	test_cond("protocol-relative src", has_uri(m, "http://img.example.net/x.gif", "img.example.net"));
	test_cond("bare www host", has_uri(m, "http://www.bare-host.example.org/path", "www.bare-host.example.org"));
	for (size_t i = 0; i < m->nuris; i++)
		if (strcmp(m->uris[i].uri, "https://evil.example/login") == 0)
			test_cond("anchor text", m->uris[i].text && strcmp(m->uris[i].text, "click here") == 0);

	/* attachments: name, declared and sniffed type, size */
	m = parse(p, "From: a@b\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\n"
	    "Content-Type: text/plain\n\nhello\n--b1\n"
	    "Content-Type: application/octet-stream; name=\"doc.pdf\"\n"
	    "Content-Disposition: attachment; filename=\"=?UTF-8?Q?r=C3=A9sum=C3=A9.pdf?=\"\n"
	    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK\n--b1--\n");
	{
		const struct msg_part *a = find_part(m, "application/octet-stream");
		test_cond("attachment found", a != NULL);
		test_cond("attachment flag", a && (a->flags & PART_ATTACHMENT));
		test_cond("filename decoded", a && a->filename && strcmp(a->filename, "r\xc3\xa9sum\xc3\xa9.pdf") == 0);
		test_cond("sniffed pdf", a && msg_part_sniffed(m, a) &&
		    strcmp(msg_part_sniffed(m, a), "application/pdf") == 0);
		test_cond("decoded size", a && a->size == 48);
		test_cond("base64 encoding recorded", a && a->encoding && strcmp(a->encoding, "base64") == 0);
	}

	/* charsets: declared, unknown and wrong */
	m = parse(p, "Content-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n");
	test_cond("koi8-r decoded", strstr(m->visible, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82") != NULL);
	m = parse(p, "Content-Type: text/plain; charset=x-no-such-charset\n\ncaf\xe9\n");
	test_cond("unknown charset: text kept", strstr(m->visible, "caf\xc3\xa9") != NULL);
	test_cond("unknown charset flagged", m->parts[0].flags & PART_CHARSET_GUESSED);
	m = parse(p, "Content-Type: text/plain; charset=utf-8\n\nbad \xff\xfe bytes\n");
	test_cond("invalid utf-8 kept as text", strstr(m->visible, "bad ") && strstr(m->visible, " bytes"));

	/* NUL bytes, no header/body separator, mbox From_ line */
	{
		static const char nul[] = "Subject: a\0b\n\nbo\0dy\n";
		struct msg *mm = NULL;
		msg_parse(p, nul, sizeof(nul) - 1, NULL, &lim, &mm);
		test_cond("NUL recorded", mm->anomalies & MSG_NUL_BYTES);
		test_cond("NUL-free subject", strcmp(mm->subject, "a b") == 0);
		test_cond("NUL body kept", strstr(mm->visible, "bo dy") != NULL);
	}
	m = parse(p, "this is not a header\nnor this\n");
	test_cond("no headers: body", m->nmsg_hdrs == 0 && strstr(m->visible, "not a header") != NULL);
	m = parse(p, "From someone@example.com Mon Nov 23 10:00:00 2026\nSubject: mbox\n\nx\n");
	test_cond("From_ line skipped", strcmp(m->subject, "mbox") == 0 && m->nmsg_hdrs == 1);

	/* limits: depth and parts */
	{
		struct buf b = BUF_INIT;
		int depth = 1000;
		buf_adds(&b, "From: a@b\n");
		for (int i = 0; i < depth; i++)
			buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
		buf_adds(&b, "Content-Type: text/plain\n\ndeep\n");
		for (int i = depth - 1; i >= 0; i--)
			buf_printf(&b, "--b%d--\n", i);
		m = parse(p, buf_str(&b));
		test_cond("deep nesting: depth limit recorded", m->limits & MSG_LIM_DEPTH);
		test_cond("deep nesting: parts bounded", m->nparts <= (size_t)lim.max_depth + 1);
		buf_free(&b);
		buf_adds(&b, "From: a@b\nContent-Type: multipart/mixed; boundary=q\n\n");
		for (int i = 0; i < 3000; i++)
			buf_adds(&b, "--q\nContent-Type: text/plain\n\nx\n");
		buf_adds(&b, "--q--\n");
		m = parse(p, buf_str(&b));
		test_cond("many parts: limit recorded", m->limits & MSG_LIM_PARTS);
		test_cond("many parts: bounded", m->nparts <= (size_t)lim.max_parts);
		buf_free(&b);
	/*
	 * HTML that costs gumbo quadratic time (unclosed formatting tags,
	 * deep nesting, many attributes) is cut: gumbo renders the text
	 * before the cut, the rest is only stripped of its tags; closed
	 * tags, tags inside comments or <style>, and unclosed <a> (each
	 * closes the one before) are not counted against those caps.
	 */
	{
		static const char *const head =
		    "From: a@b\nContent-Type: text/html\n\n<p>before</p>";
		struct buf hb = BUF_INIT;

		buf_adds(&hb, head);
		for (int i = 0; i < 300; i++)
			buf_printf(&hb, "<b id=%d>x", i);
		buf_adds(&hb, "after\n");
		m = parse(p, buf_str(&hb));
		test_cond("unclosed formatting tags: cut",
		    (m->limits & MSG_LIM_HTML) &&
		    strstr(m->visible, "before") &&
		    strstr(m->visible, "x x") == NULL &&
		    strstr(m->visible, "xxxafter"));
		buf_truncate(&hb, 0);
		buf_adds(&hb, head);
		for (int i = 0; i < 1000; i++)
			buf_adds(&hb, "<div>");
		buf_adds(&hb, "after\n");
		m = parse(p, buf_str(&hb));
		test_cond("deep nesting: cut", (m->limits & MSG_LIM_HTML) &&
		    strstr(m->visible, "before") &&
		    strstr(m->visible, "after"));
		buf_truncate(&hb, 0);
		buf_adds(&hb, head);
		buf_adds(&hb, "<p");
		for (int i = 0; i < 2000; i++)
			buf_printf(&hb, " a%d=\"1\"", i);
		buf_adds(&hb, ">after\n");
		m = parse(p, buf_str(&hb));
		test_cond("many attributes: cut", (m->limits & MSG_LIM_HTML) &&
		    strstr(m->visible, "before") &&
		    strstr(m->visible, "after"));
		buf_truncate(&hb, 0);
		buf_adds(&hb, head);
		for (int i = 0; i < 2000; i++)
			buf_printf(&hb, "<body a%d=1>", i);
		buf_adds(&hb, "after\n");
		m = parse(p, buf_str(&hb));
		test_cond("attributes merged into <body>: cut",
		    (m->limits & MSG_LIM_HTML) &&
		    strstr(m->visible, "after"));
		buf_truncate(&hb, 0);
		buf_adds(&hb, head);
		buf_adds(&hb, "<style>");
		for (int i = 0; i < 1000; i++)
			buf_adds(&hb, "a<b ");
		buf_adds(&hb, "</style><!--");
		for (int i = 0; i < 1000; i++)
			buf_adds(&hb, "<div><b>");
		buf_adds(&hb, "-->");
		for (int i = 0; i < 2000; i++)
			buf_printf(&hb, "<div><font color=\"#%06x\" "
			    "title='<i>'>y</font></div>", i);
		for (int i = 0; i < 300; i++)
			buf_adds(&hb, "<a href=\"http://x.example/\">l ");
		buf_adds(&hb, "<br><img src=x><p>after\n");
		m = parse(p, buf_str(&hb));
		test_cond("closed tags, comments, style, <a>: not cut",
		    !(m->limits & MSG_LIM_HTML) && strstr(m->visible, "after"));
		buf_free(&hb);
	}
	/*
	 * The HTML budget is per message: tags and attribute work of all
	 * the HTML parts count together. Parts past the budget are stripped
	 * of tags (text kept, no comments, <style> or <script> content,
	 * block tags break lines) and the limit is recorded.
	 */
	{
		struct msg_limits save = lim;
		struct buf hb = BUF_INIT;

		lim.max_html_tags = 1000;
		buf_adds(&hb, "From: a@b\nContent-Type: multipart/mixed; "
		    "boundary=\"q\"\n\n");
		for (int k = 0; k < 3; k++) {
			buf_printf(&hb, "--q\nContent-Type: text/html\n\n"
			    "<p>part%d</p>", k);
			for (int i = 0; i < 400; i++)
				buf_adds(&hb, "<br>");
			buf_printf(&hb, "end%d<!-- zzcomment --><style>zzstyle"
			    "</style><p>one</p><div>two</div><script>zzscript"
			    "</script>\n", k);
		}
		buf_adds(&hb, "--q--\n");
		m = parse(p, buf_str(&hb));
		test_cond("tag budget per message: limit recorded",
		    (m->limits & MSG_LIM_HTML) != 0);
		test_cond("tag budget per message: later part's text kept",
		    strstr(m->visible, "end1") && strstr(m->visible, "end2") &&
		    strstr(m->visible, "part2"));
		/* the stripped part reads as the same HTML rendered by gumbo */
		test_cond("tag budget per message: stripped part",
		    m->nparts == 4 && m->parts[1].rendered &&
		    m->parts[3].rendered && strstr(m->parts[1].rendered,
		    "end0\n\none\n\n\ntwo\n") &&
		    m->parts[1].rendered_len == m->parts[3].rendered_len &&
		    strcmp(strstr(m->parts[1].rendered, "end0") + 4,
		    strstr(m->parts[3].rendered, "end2") + 4) == 0 &&
		    strstr(m->parts[3].rendered, "zz") == NULL);
		/* a cut inside <script> resumes after it */
		lim.max_html_tags = 5;
		m = parse(p, "From: a@b\nContent-Type: text/html\n\n"
		    "<p>a1</p><script>x<y<z<w<v zzjs</script>b2<!--<i>zzc-->c3\n");
		test_cond("cut inside <script>: its content skipped",
		    (m->limits & MSG_LIM_HTML) && strstr(m->visible, "a1") &&
		    strstr(m->visible, "b2c3") && !strstr(m->visible, "zz"));
		lim = save;
		m = parse(p, buf_str(&hb));
		test_cond("tag budget per message: within default",
		    !(m->limits & MSG_LIM_HTML));

		/* 800 attributes: 640,000 of the 1,048,576 work units */
		buf_truncate(&hb, 0);
		buf_adds(&hb, "From: a@b\nContent-Type: multipart/mixed; "
		    "boundary=\"q\"\n\n");
		for (int k = 0; k < 2; k++) {
			buf_adds(&hb, "--q\nContent-Type: text/html\n\n<p");
			for (int i = 0; i < 800; i++)
				buf_printf(&hb, " a%d=1", i);
			buf_printf(&hb, ">attr%d</p>\n", k);
		}
		buf_adds(&hb, "--q--\n");
		m = parse(p, buf_str(&hb));
		test_cond("attribute work per message: cut, text kept",
		    (m->limits & MSG_LIM_HTML) && strstr(m->visible, "attr0") &&
		    strstr(m->visible, "attr1"));
		/* a part cut for another cap still pays for what gumbo saw */
		buf_truncate(&hb, 0);
		buf_adds(&hb, "From: a@b\nContent-Type: multipart/mixed; "
		    "boundary=\"q\"\n\n");
		for (int k = 0; k < 2; k++) {
			buf_adds(&hb, "--q\nContent-Type: text/html\n\n<p");
			for (int i = 0; i < 800; i++)
				buf_printf(&hb, " a%d=1", i);
			buf_printf(&hb, ">attr%d<!--zzhid%d--></p>\n", k, k);
			if (k == 0)
				for (int i = 0; i < 600; i++)
					buf_adds(&hb, "<div>");
		}
		buf_adds(&hb, "--q--\n");
		m = parse(p, buf_str(&hb));
		test_cond("attribute work of a cut part counts",
		    strstr(m->visible, "attr1") && strstr(m->invisible,
		    "zzhid0") && strstr(m->invisible, "zzhid1") == NULL);
		buf_free(&hb);
	}
	/*
	 * Stripped HTML keeps its links: after the budget is spent, href,
	 * src, action and background are reported as the tree walk reports
	 * them (kind, anchor text), whatever the quoting, with character
	 * references decoded; a '>' in a quoted value does not end the tag.
	 */
	{
		struct msg_limits save = lim;
		struct buf hb = BUF_INIT;

		lim.max_html_tags = 10;
		buf_adds(&hb, "From: a@b\nContent-Type: text/html\n\n<p>start");
		for (int i = 0; i < 50; i++)
			buf_adds(&hb, "<b>x</b>");
		buf_adds(&hb, "<a href=\"http://dq.example/a\">click <b>here"
		    "</b></a> <A HREF = 'http://sq.example/b'>sq</A>"
		    "<a href=http://unq.example/c>unq</a>"
		    "<a title=\"1>2\" href=\"http://gt.example/d\">gt</a>"
		    "<a href=\"http:&#47;&#x2F;ent.example/e?x=1&amp;y=2&amp=3"
		    "\">ent</a><a href=\"\">empty</a>"
		    "<img alt='<a href=http://no.example/>' "
		    "src=\"http://img.example/i.gif\">"
		    "<form action=http://form.example/post><table "
		    "background=\"http://bg.example/t.jpg\">"
		    "<area href=\"http://area.example/f\">"
		    "<script src=\"http://js.example/s.js\"></script>"
		    "<a href=\"http://open.example/g\">open to the end\n");
		m = parse(p, buf_str(&hb));
		test_cond("stripped links: cut", (m->limits & MSG_LIM_HTML) &&
		    strstr(m->visible, "start"));
		test_cond("stripped links: double quotes, anchor text",
		    has_link(m, "http://dq.example/a", URI_HREF, "click here"));
		test_cond("stripped links: single quotes, upper case",
		    has_link(m, "http://sq.example/b", URI_HREF, "sq"));
		test_cond("stripped links: unquoted",
		    has_link(m, "http://unq.example/c", URI_HREF, "unq"));
		test_cond("stripped links: '>' in a quoted value",
		    has_link(m, "http://gt.example/d", URI_HREF, "gt") &&
		    strstr(m->visible, "2\"") == NULL &&
		    !has_uri(m, "http://no.example/", NULL));
		test_cond("stripped links: references decoded",
		    has_link(m, "http://ent.example/e?x=1&y=2&amp=3", URI_HREF,
		    "ent"));
		test_cond("stripped links: src, action, background, area",
		    has_link(m, "http://img.example/i.gif", URI_SRC, NULL) &&
		    has_link(m, "http://form.example/post", URI_FORM, NULL) &&
		    has_link(m, "http://bg.example/t.jpg", URI_SRC, NULL) &&
		    has_link(m, "http://area.example/f", URI_HREF, NULL));
		/* as in the tree walk: no <script> src, an open <a> ends */
		test_cond("stripped links: as the tree walk",
		    !has_uri(m, "http://js.example/s.js", NULL) &&
		    has_link(m, "http://open.example/g", URI_HREF,
		    "open to the end "));

		/* the same links before the cut, through gumbo */
		lim = save;
		m = parse(p, buf_str(&hb));
		test_cond("stripped links: the tree walk agrees",
		    !(m->limits & MSG_LIM_HTML) &&
		    has_link(m, "http://dq.example/a", URI_HREF, "click here") &&
		    has_link(m, "http://gt.example/d", URI_HREF, "gt") &&
		    has_link(m, "http://ent.example/e?x=1&y=2&amp=3", URI_HREF,
		    "ent") &&
		    has_link(m, "http://bg.example/t.jpg", URI_SRC, NULL) &&
		    !has_uri(m, "http://js.example/s.js", NULL) &&
		    has_link(m, "http://open.example/g", URI_HREF,
		    "open to the end "));

		/* character references in the stripped text */
		lim.max_html_tags = 10;
		buf_truncate(&hb, 0);
		buf_adds(&hb, "From: a@b\nContent-Type: text/html\n\n");
		for (int i = 0; i < 20; i++)
			buf_adds(&hb, "<b>x</b>");
		buf_adds(&hb, "fish &amp; chips &lt;3 &#169;&#x263a; &copy; "
		    "&#;\n");
		m = parse(p, buf_str(&hb));
		test_cond("stripped text: references decoded",
		    strstr(m->visible, "fish & chips <3 \xc2\xa9\xe2\x98\xba "
		    "&copy; &#;") != NULL);

		/* a huge value costs its length, and the link is found */
		buf_truncate(&hb, 0);
		buf_adds(&hb, "From: a@b\nContent-Type: text/html\n\n");
		for (int i = 0; i < 20; i++)
			buf_adds(&hb, "<b>x</b>");
		buf_adds(&hb, "<img title=\"");
		for (int i = 0; i < 50000; i++)
			buf_adds(&hb, "<a href=x>&amp;");
		buf_adds(&hb, "\" src=\"http://huge.example/h.gif\">after"
		    "<a href=\"http://unclosed.example/");
		for (int i = 0; i < 50000; i++)
			buf_adds(&hb, "&#38;>");
		buf_adds(&hb, "\n");
		m = parse(p, buf_str(&hb));
		test_cond("stripped links: huge attribute value",
		    has_link(m, "http://huge.example/h.gif", URI_SRC, NULL) &&
		    strstr(m->visible, "after") && m->nuris == 1);
		lim = save;
		buf_free(&hb);
	}
	}
	/* size limit: only scan_max_size bytes are parsed */
	{
		struct msg_limits small = lim;
		struct buf b = BUF_INIT;
		small.scan_max_size = 2048;
		buf_adds(&b, "Subject: big\n\n");
		for (int i = 0; i < 1000; i++)
			buf_adds(&b, "0123456789\n");
		msg_parse(p, b.p, b.len, NULL, &small, &m);
		test_cond("size limit recorded", (m->limits & MSG_LIM_SIZE) && m->scan_len == 2048);
		test_cond("raw length kept", m->raw_len == b.len);
		buf_free(&b);
	}
	/*
	 * GMime gets only the Content-* headers of a clean header block;
	 * "Subject :" sends it the block as written. Both must give the
	 * same MIME tree, text and root-part headers.
	 */
	{
		static const char *const fmt[2] = {
		    "Subject: hi\nFrom: a@b.example\nContent-Type: multipart/alternative;\n"
		    "\tboundary=\"zz\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n"
		    "--zz\nContent-Type: text/plain; charset=iso-8859-1\n"
		    "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 one\n"
		    "--zz\nContent-Type: text/html\n\n<p>two <a href=\"http://x.example/\">x</a></p>\n"
		    "--zz--\n",
		    "Subject : hi\nFrom: a@b.example\nContent-Type: multipart/alternative;\n"
		    "\tboundary=\"zz\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n"
		    "--zz\nContent-Type: text/plain; charset=iso-8859-1\n"
		    "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 one\n"
		    "--zz\nContent-Type: text/html\n\n<p>two <a href=\"http://x.example/\">x</a></p>\n"
		    "--zz--\n" };
		struct msg *mm[2];

		for (int k = 0; k < 2; k++)
			mm[k] = parse(p, fmt[k]);
		test_cond("Content-* only to GMime: 3 parts", mm[0]->nparts == 3 &&
		    mm[1]->nparts == 3);
		test_cond("Content-* only to GMime: same text",
		    strcmp(mm[0]->visible, mm[1]->visible) == 0 &&
		    strstr(mm[0]->visible, "caf\xc3\xa9 one") &&
		    strstr(mm[0]->visible, "two x"));
		test_cond("Content-* only to GMime: same URIs", mm[0]->nuris == 1 &&
		    mm[1]->nuris == 1 && strcmp(mm[0]->uris[0].uri, mm[1]->uris[0].uri) == 0);
		test_cond("root part keeps its Content-* headers only",
		    mm[0]->parts[0].nhdrs == 2 && mm[1]->parts[0].nhdrs == 2 &&
		    strcmp(mm[0]->hdrs[mm[0]->parts[0].hdr_first].raw,
		    "multipart/alternative;\n\tboundary=\"zz\"") == 0 &&
		    strcmp(mm[1]->hdrs[mm[1]->parts[0].hdr_first].raw,
		    mm[0]->hdrs[mm[0]->parts[0].hdr_first].raw) == 0);
		test_cond("Content-* only to GMime: same parts",
		    strcmp(mm[0]->parts[1].ctype, "text/plain") == 0 &&
		    strcmp(mm[1]->parts[1].ctype, "text/plain") == 0 &&
		    strcmp(mm[0]->parts[1].encoding, mm[1]->parts[1].encoding) == 0 &&
		    strcmp(mm[0]->parts[2].ctype, "text/html") == 0 &&
		    strcmp(mm[1]->parts[2].ctype, "text/html") == 0);
	}
	/*
	 * One-part mail built without GMime's parser (simple_root()) or
	 * with the body decoded here (parse_mime()): the same model as
	 * GMime's whole parse, on spellings GMime reads its own way.
	 */
	{
		static const char *const head[] = {
		    "Content-Type: =?us-ascii?q?text/html?=\n",
		    "Content-Type: text/plain; charset==?us-ascii?q?koi8-r?=\n",
		    "Content-Type: text/plain\nContent-Disposition: "
		    "=?us-ascii?q?attachment?=\n",
		    "Content-Type: text/html (c); charset=koi8-r (d)\n",
		    "Content-Type: text/plain; charset*=us-ascii''koi8-r\n",
		    "Content-Type: text/plain; charset*0=koi8; charset*1=-r\n",
		    "Content-Type: text/plain; name*=utf-8''a.txt\n",
		    "Content-Type: text/plain;\r\n\tcharset=\"koi8-r\"\r\n",
		    "Content-Type: text/plain;\n charset=koi8-r;\n format=flowed\n",
		    "Content-Type: text/plain \t; \t charset = koi8-r\n",
		    "Content-Type: text/plain; charset=\"koi8-r\n",
		    "Content-Type: text\n",
		    "Content-Type:\n",
		    "Content-Type: text/plain; charset=cp1258\n",
		    "Content-Type: text/plain; charset=latin1\n",
		    "Content-Type: text/plain\nContent-Type: text/html\n",
		    "Content-Type: text/html\nContent-Transfer-Encoding: Base64 \n",
		    "Content-Transfer-Encoding: quoted_printable\n",
		    "Content-Transfer-Encoding: 7bit 8bit\n",
		    "Content-Transfer-Encoding: x-uuencode\n",
		    "Content-Disposition: attachment;\n",
		    "Content-Disposition: attachment (c)\n",
		    "Content-Disposition: inline; filename=a.txt\n",
		    "content-type: TEXT/HTML\ncontent-transfer-encoding: "
		    "QUOTED-PRINTABLE\n",
		};
		static const char *const body[] = {
		    "", "\n", "x", "caf\xe9 http://x.example/ =C3=A9 <b>b</b>=\n"
		    "soft=\r\nbreak=4=\n=ZZ end=",
		    "0L/RgNC4\t0LLQ\r\nt9GCIGh0dHA6Ly9lLmV4YW1wbGUv!!*==\n",
		};
		int ok = 1;

		for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
			for (size_t k = 0; k < sizeof(body) / sizeof(body[0]); k++)
				if (!same_as_gmime(p, head[i], body[k])) {
					fprintf(stderr, "differs: head %zu body %zu\n",
					    i, k);
					ok = 0;
				}
		test_cond("one-part fast paths as GMime's parse", ok);
	}
	/* the root keeps Content-* headers among its first 200, both ways */
	{
		struct buf hb = BUF_INIT;

		for (int i = 0; i < 250; i++)
			buf_printf(&hb, "X-Filler-%d: v\n", i);
		buf_adds(&hb, "Content-Type: text/plain; charset=us-ascii\n");
		test_cond("Content-* past the part header cap as GMime's parse",
		    same_as_gmime(p, buf_str(&hb), "hello\n"));
		buf_free(&hb);
	}
	/* the iconv descriptor cache: many charsets in turn, then again */
	{
		static const char *const cs[] = { "iso-8859-1", "koi8-r",
		    "windows-1251", "iso-8859-2", "iso-8859-15", "cp1252",
		    "iso-8859-5", "iso-8859-7", "iso-8859-9", "koi8-u" };
		int ok = 1;

		for (int round = 0; round < 3; round++)
			for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
				char raw[256];

				snprintf(raw, sizeof(raw), "Subject: x\nContent-Type: "
				    "text/plain; charset=%s\n\nA\xe9Z\n", cs[k]);
				m = parse(p, raw);
				if (m->nparts != 1 || m->visible == NULL ||
				    strncmp(m->visible, "A", 1) != 0 ||
				    strstr(m->visible, "Z") == NULL ||
				    strlen(m->visible) < 4)
					ok = 0;
			}
		test_cond("charsets decoded through the descriptor cache", ok);
		m = parse(p, "Subject: x\nContent-Type: text/plain; charset=iso-8859-1\n\n"
		    "caf\xe9\n");
		test_cond("cached descriptor still right", strcmp(m->visible,
		    "caf\xc3\xa9\n") == 0 || strcmp(m->visible, "caf\xc3\xa9") == 0);
	}
	/* threads one after another, then two at once: handles handed on */
	{
		pthread_t t[2];
		int ok[2], all = 1;

		for (int k = 0; k < 3; k++) {
			pthread_create(&t[0], NULL, handover_main, &ok[0]);
			pthread_join(t[0], NULL);
			all = all && ok[0];
		}
		for (int k = 0; k < 2; k++)
			pthread_create(&t[k], NULL, handover_main, &ok[k]);
		for (int k = 0; k < 2; k++) {
			pthread_join(t[k], NULL);
			all = all && ok[k];
		}
		test_cond("iconv cache and libmagic handle outlive their thread", all);
	}
	pool_free(p);
	cfg_free(c);
	return test_report();
}
