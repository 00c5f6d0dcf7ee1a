/*
 * cli.h - what every hamlet command shares: the common options (-c,
 * --db, --rules, --av-db, --set, envelope options), reading a whole file
 * or stdin, and the command table entry type.
 */
#ifndef HAMLET_CLI_H
#define HAMLET_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "engine/buf.h"
#include "engine/msg.h"
#include "engine/status.h"
#include "train/setup.h"

#define CLI_MAX_RCPT 256
#define CLI_MAX_ARGS 4096

/* a command-specific option: flag (no argument) or value */
struct cli_opt {
	const char	 *name;		/* "--report" */
	const char	 *alias;	/* "-r" or NULL */
	int		 *flag;		/* set to 1 when given, or NULL */
	const char	**value;	/* takes an argument when non-NULL */
};

struct cli {
	struct setup	 setup;
	struct envelope	 env;
	const char	*rcpt[CLI_MAX_RCPT];
	char		**args;		/* positional arguments */
	int		 nargs;
	int		 verbose;
};

/*
 * Parse argv (argv[0] is the command name). Options may come anywhere;
 * "--" ends them. Prints a message and returns EX_USAGE on error, 0 on
 * success, -1 when --help was asked (the caller prints its usage).
 */
int cli_parse(struct cli *c, int argc, char **argv,
    const struct cli_opt *opts);

/* Free what cli_parse allocated. */
void cli_free(struct cli *c);

/* Print the usage lines of the common options. */
void cli_common_usage(FILE *fp);

/*
 * Read a whole file ("-" = stdin) into b, up to max bytes (0 = no limit).
 * Returns ST_OK, ST_ERR_IO (errno set) or ST_ERR_LIMIT.
 */
enum status cli_read_file(const char *path, struct buf *b, size_t max);

/* Build the engine or exit with EX_CONFIG and the error on stderr. */
struct engine *cli_engine(struct cli *c);

/* the commands, one file each */
int cmd_check(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_train_spam(int argc, char **argv);
int cmd_train_ham(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_bayes(int argc, char **argv);
int cmd_rules(int argc, char **argv);

#endif
