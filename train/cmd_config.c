/*
 * cmd_config.c - `hamlet config`: print the effective configuration
 * (defaults, then the config file, then --set), or with --keys every key
 * with its help line and default. Exit EX_CONFIG with file:line when the
 * configuration is bad, so `hamlet config >/dev/null` is a syntax check.
 */
#include <stdio.h>
#include <sysexits.h>

#include "engine/cfg.h"
#include "train/cli.h"

int
cmd_config(int argc, char **argv)
{
	struct cli c;
	int keys = 0, rc;
	const struct cli_opt opts[] = {
		{ "--keys", NULL, &keys, NULL },
		{ NULL, NULL, NULL, NULL }
	};
	struct cfg *cfg;
	char err[1024];

	rc = cli_parse(&c, argc, argv, opts);
	if (rc != 0) {
		fprintf(stderr, "usage: hamlet config [--keys] [-c FILE] [--set KEY=VALUE]\n");
		cli_common_usage(stderr);
		return rc < 0 ? 0 : rc;
	}
	cfg = setup_config(&c.setup, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "hamlet: %s\n", err);
		return EX_CONFIG;
	}
	cfg_print(cfg, stdout, keys);
	cfg_free(cfg);
	cli_free(&c);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}
