/*
 * cli.c - common option parsing and file reading for the hamlet CLI.
 *
 * Ownership: option values point into argv; nothing is allocated except
 * the positional argument array (lives until exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "engine/log.h"
#include "engine/xalloc.h"
#include "train/cli.h"

void
cli_common_usage(FILE *fp)
{
	fprintf(fp,
"common options:\n"
"  -c FILE            configuration file (default %s)\n"
"  --db DIR           Bayes store directory\n"
"  --rules DIR        rule directory (repeatable; replaces the default set)\n"
"  --av-db DIR        ClamAV database directory (turns virus scanning on)\n"
"  --set KEY=VALUE    override one configuration key (repeatable)\n"
"  -v, --verbose      debug logging on stderr\n"
"envelope (what an MTA would tell):\n"
"  --ip ADDR  --helo NAME  --mail-from ADDR  --rcpt ADDR  --auth-user NAME\n",
	    setup_default_config());
}

/* common options taking a value */
static int
common_value(struct cli *c, const char *name, const char *v)
{
	struct setup *s = &c->setup;

	if (strcmp(name, "-c") == 0 || strcmp(name, "--config") == 0)
		s->config = v;
	else if (strcmp(name, "--db") == 0)
		s->db = v;
	else if (strcmp(name, "--rules") == 0) {
		if (s->nrules == SETUP_MAX_RULES_DIRS)
			return fprintf(stderr, "hamlet: too many --rules\n"), -1;
		s->rules[s->nrules++] = v;
	} else if (strcmp(name, "--av-db") == 0)
		s->av_db = v;
	else if (strcmp(name, "--set") == 0) {
		if (s->nsets == sizeof(s->sets) / sizeof(s->sets[0]))
			return fprintf(stderr, "hamlet: too many --set\n"), -1;
		s->sets[s->nsets++] = v;
	} else if (strcmp(name, "--ip") == 0)
		c->env.ip = v;
	else if (strcmp(name, "--helo") == 0)
		c->env.helo = v;
	else if (strcmp(name, "--mail-from") == 0)
		c->env.mail_from = v;
	else if (strcmp(name, "--rcpt") == 0) {
		if (c->env.nrcpt == CLI_MAX_RCPT)
			return fprintf(stderr, "hamlet: too many --rcpt\n"), -1;
		c->rcpt[c->env.nrcpt++] = v;
	} else if (strcmp(name, "--auth-user") == 0)
		c->env.auth_user = v;
	else
		return 0;
	return 1;
}

static const char *const common_with_value[] = {
	"-c", "--config", "--db", "--rules", "--av-db", "--set", "--ip",
	"--helo", "--mail-from", "--rcpt", "--auth-user", NULL
};

int
cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts)
{
	int only_args = 0;

	memset(c, 0, sizeof(*c));
	c->env.rcpt = c->rcpt;
	c->args = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq = NULL, *name = a;
		const char *val = NULL;
		int matched = 0;

		if (only_args || a[0] != '-' || strcmp(a, "-") == 0) {
			c->args[c->nargs++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return -1;
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			c->verbose = 1;
			log_init("hamlet", 0, 1);
			continue;
		}
		/* --name=value */
		char namebuf[64];
		if (a[1] == '-' && (eq = strchr(a, '=')) != NULL &&
		    (size_t)(eq - a) < sizeof(namebuf)) {
			memcpy(namebuf, a, (size_t)(eq - a));
			namebuf[eq - a] = '\0';
			name = namebuf;
			val = eq + 1;
		}
		for (const char *const *cw = common_with_value; *cw; cw++)
			if (strcmp(name, *cw) == 0) {
				if (val == NULL) {
					if (i + 1 >= argc) {
						fprintf(stderr, "hamlet: %s needs a value\n", name);
						return EX_USAGE;
					}
					val = argv[++i];
				}
				if (common_value(c, name, val) < 0)
					return EX_USAGE;
				matched = 1;
				break;
			}
		for (const struct cli_opt *o = opts; !matched && o && o->name; o++) {
			if (strcmp(name, o->name) != 0 &&
			    !(o->alias && strcmp(name, o->alias) == 0))
				continue;
			matched = 1;
			if (o->value) {
				if (val == NULL) {
					if (i + 1 >= argc) {
						fprintf(stderr, "hamlet: %s needs a value\n", name);
						return EX_USAGE;
					}
					val = argv[++i];
				}
				*o->value = val;
			} else if (val) {
				fprintf(stderr, "hamlet: %s takes no value\n", name);
				return EX_USAGE;
			}
			if (o->flag)
				*o->flag = 1;
		}
		if (!matched) {
			fprintf(stderr, "hamlet: unknown option %s (try --help)\n", a);
			return EX_USAGE;
		}
	}
	return 0;
}

void
cli_free(struct cli *c)
{
	free(c->args);
	c->args = NULL;
}

enum status
cli_read_file(const char *path, struct buf *b, size_t max)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
	struct stat st;

	if (fd < 0)
		return ST_ERR_IO;
	if (fd != STDIN_FILENO && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return ST_ERR_IO;
	}
	if (fd != STDIN_FILENO && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		buf_reserve(b, (size_t)st.st_size + 1);
	for (;;) {
		ssize_t n;

		buf_reserve(b, 65536);
		n = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (fd != STDIN_FILENO)
				close(fd);
			return ST_ERR_IO;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->p[b->len] = '\0';
		if (max && b->len > max) {
			if (fd != STDIN_FILENO)
				close(fd);
			return ST_ERR_LIMIT;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (b->p == NULL)
		buf_reserve(b, 1), b->p[0] = '\0';
	return ST_OK;
}

struct engine *
cli_engine(struct cli *c)
{
	char err[1024];
	struct engine *e = setup_engine(&c->setup, err, sizeof(err));

	if (e == NULL) {
		fprintf(stderr, "hamlet: %s\n", err);
		exit(EX_CONFIG);
	}
	return e;
}
