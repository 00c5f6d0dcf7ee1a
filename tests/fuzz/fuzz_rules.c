/*
 * fuzz_rules.c - the rules module on arbitrary bytes: the input is a
 * rule file, optionally followed by a line "%%MSG%%" and a message. The
 * rule file is parsed and compiled (conditionals, ReplaceTags, regex
 * conversion, literal extraction, meta expressions), its `test` lines
 * run, and the rules are matched against the message. Oracle: the
 * literal prefilter must never change a hit (rules_prefilter_verify),
 * which checks rx_literals() and the Aho-Corasick automaton on every
 * pattern the fuzzer invents. The JIT/interpreter cross-check runs too
 * (for memory safety under ASan), without an oracle.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg *c;
	static struct msg_limits lim;
	static const char sep[] = "\n%%MSG%%\n";
	char path[] = "/tmp/hamlet-fuzz-rules.XXXXXX";
	const char *msgp = NULL, *dirs[1];
	size_t cflen = size, msglen = 0;
	struct ruleset *rs;
	char err[256], hits[8192];
	int fd, passed, failed, skipped;
	FILE *null;

	if (c == NULL) {
		char e[128];

		c = cfg_new();
		cfg_set(c, "max_mime_parts", "50", e, sizeof(e));
		cfg_set(c, "max_uris", "50", e, sizeof(e));
		cfg_set(c, "pcre_match_limit", "20000", e, sizeof(e));
		msg_global_init();
		msg_limits_from_cfg(&lim, c);
	}
	for (size_t i = 0; i + sizeof(sep) - 1 <= size; i++)
		if (memcmp(data + i, sep, sizeof(sep) - 1) == 0) {
			cflen = i;
			msgp = (const char *)data + i + sizeof(sep) - 1;
			msglen = size - i - (sizeof(sep) - 1);
			break;
		}
	if ((fd = mkstemp(path)) < 0)
		return 0;
	if (write(fd, data, cflen) != (ssize_t)cflen) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	dirs[0] = path;
	if (rules_load(dirs, 1, c, &rs, err, sizeof(err)) != ST_OK) {
		unlink(path);
		return 0;
	}
	unlink(path);
	null = fopen("/dev/null", "w");
	rules_lint_print(rs, null, 1);
	rules_run_tests(rs, null, 1, &passed, &failed, &skipped);
	if (msgp != NULL) {
		struct pool *p = pool_new();
		struct msg *m;

		if (msg_parse(p, msgp, msglen, NULL, &lim, &m) == ST_OK) {
			rules_hits(rs, m, hits, sizeof(hits));
			if (rules_prefilter_verify(rs, m, stderr) != 0)
				abort();	/* the prefilter changed a hit */
			{
				/*
				 * run, not an oracle: a difference here can be
				 * PCRE2's own JIT bug (10.42), not hamlet's
				 */
				struct rules_jitcheck jc;

				memset(&jc, 0, sizeof(jc));
				rules_jit_verify(rs, m, "fuzz", null, &jc);
			}
		}
		pool_free(p);
	}
	if (null != NULL)
		fclose(null);
	rules_free(rs);
	return 0;
}
