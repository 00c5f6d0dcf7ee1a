/*
 * hamlet.c - main() of the hamlet command-line tool: dispatch to one
 * command per file (train/cmd_*.c). Each command parses its own options
 * with cli_parse() and builds its engine with setup_engine().
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "engine/log.h"
#include "engine/spamhdr.h"
#include "train/cli.h"

struct command {
	const char	*name;
	int		(*fn)(int argc, char **argv);
	const char	*help;
};

static int cmd_version(int argc, char **argv);

/* one row per command; keep the order of `hamlet help` */
static const struct command commands[] = {
	{ "check", cmd_check, "scan a message: procmail filter, --report, --batch" },
	{ "config", cmd_config, "print the effective configuration" },
	{ "train-spam", cmd_train_spam, "learn mail folders as spam (mbox, Maildir, MH, -)" },
	{ "train-ham", cmd_train_ham, "learn mail folders as ham" },
	{ "forget", cmd_forget, "unlearn messages" },
	{ "bayes", cmd_bayes, "Bayes store: stats, dump, restore, expire" },
	{ "rules", cmd_rules, "rule files: lint, test FILE" },
	{ "version", cmd_version, "print the version" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
cmd_version(int argc, char **argv)
{
	printf("hamlet %s (%s)\n", HAMLET_VERSION, HAMLET_DATE);
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: hamlet COMMAND [options] [args]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-14s %s\n", commands[i].name, commands[i].help);
	fprintf(fp, "\n`hamlet COMMAND --help` shows a command's options.\n");
}

int
main(int argc, char **argv)
{
	log_init("hamlet", 0, 0);
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hamlet: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
