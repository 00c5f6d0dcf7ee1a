/* test_cfg.c - config table: defaults, types, bounds, file:line errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/cfg.h"
#include "tests/unit/testhelp.h"

static const char *
write_tmp(const char *text)
{
	static char path[] = "/tmp/hamlet-cfg-XXXXXX";
	int fd;

	strcpy(path, "/tmp/hamlet-cfg-XXXXXX");
	fd = mkstemp(path);
	if (write(fd, text, strlen(text)) < 0)
		abort();
	close(fd);
	return path;
}

int
main(void)
{
	struct cfg *c = cfg_new(), *d;
	char err[512];
	const char *p;

	test_cond("default required_score", c->required_score == 5.0);
	test_cond("default reject never", isnan(c->reject_score));
	test_cond("default scan size 4M", c->scan_max_size == 4u << 20);
	test_cond("default on_error", c->on_error == ON_ERROR_TEMPFAIL);
	test_cond("set double", cfg_set(c, "required_score", "6.5", err, sizeof(err)) == ST_OK && c->required_score == 6.5);
	test_cond("bad double", cfg_set(c, "required_score", "abc", err, sizeof(err)) == ST_ERR_CONFIG);
	test_cond("out of range", cfg_set(c, "required_score", "500000", err, sizeof(err)) == ST_ERR_CONFIG && strstr(err, "range"));
	test_cond("unknown key", cfg_set(c, "nope", "1", err, sizeof(err)) == ST_NOTFOUND);
	test_cond("size suffix", cfg_set(c, "scan_max_size", "10M", err, sizeof(err)) == ST_OK && c->scan_max_size == 10u << 20);
	test_cond("duration", cfg_set(c, "scan_timeout", "1500ms", err, sizeof(err)) == ST_OK && c->scan_timeout_ms == 1500);
	test_cond("duration s", cfg_set(c, "scan_timeout", "2s", err, sizeof(err)) == ST_OK && c->scan_timeout_ms == 2000);
	test_cond("enum", cfg_set(c, "on_error", "accept", err, sizeof(err)) == ST_OK && c->on_error == ON_ERROR_ACCEPT);
	test_cond("bad enum", cfg_set(c, "on_error", "maybe", err, sizeof(err)) == ST_ERR_CONFIG);
	test_cond("optdouble", cfg_set(c, "reject_score", "15", err, sizeof(err)) == ST_OK && c->reject_score == 15);
	test_cond("optdouble none", cfg_set(c, "reject_score", "none", err, sizeof(err)) == ST_OK && isnan(c->reject_score));
	test_cond("bool", cfg_set(c, "use_bayes", "off", err, sizeof(err)) == ST_OK && c->use_bayes == 0);
	test_cond("bad bool", cfg_set(c, "use_bayes", "perhaps", err, sizeof(err)) == ST_ERR_CONFIG);
	test_cond("mode", cfg_set(c, "milter_socket_mode", "0600", err, sizeof(err)) == ST_OK && c->milter_socket_mode == 0600);

	d = cfg_dup(c);
	test_cond("dup copies strings", d->rewrite_subject != c->rewrite_subject && strcmp(d->rewrite_subject, c->rewrite_subject) == 0);
	cfg_free(d);

	p = write_tmp("# comment\n\nrequired_score 7\nrewrite_subject \"[SPAM] x\"\n");
	test_cond("load ok", cfg_load(c, p, err, sizeof(err)) == ST_OK && c->required_score == 7 && strcmp(c->rewrite_subject, "[SPAM] x") == 0);
	unlink(p);
	p = write_tmp("required_score 7\nbogus_key 1\n");
	test_cond("load names file:line", cfg_load(c, p, err, sizeof(err)) == ST_ERR_CONFIG && strstr(err, ":2: unknown key 'bogus_key'") != NULL);
	unlink(p);
	p = write_tmp("max_mime_depth 0\n");
	test_cond("load bad value file:line", cfg_load(c, p, err, sizeof(err)) == ST_ERR_CONFIG && strstr(err, ":1: max_mime_depth") != NULL);
	unlink(p);
	test_cond("missing file", cfg_load(c, "/nonexistent/hamlet.conf", err, sizeof(err)) == ST_ERR_IO);
	cfg_free(c);
	cfg_free(NULL);
	return test_report();
}
