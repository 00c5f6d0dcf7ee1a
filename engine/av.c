/*
 * av.c - ClamAV inside the engine: one compiled cl_engine per hamlet
 * engine, a STAGE_CONTENT check scanning decoded MIME parts from memory,
 * and the X-Virus-* header values.
 *
 * Ownership: av_attach() allocates a struct av (the cl_engine, the
 * database directory, the scan options and the symbol ids) and hands it
 * to the engine twice: as the context of the check (no ctx_free) and to
 * engine_on_free(), which frees the cl_engine when the last reference to
 * the hamlet engine goes. A reload (SIGHUP) builds a whole new engine,
 * hence a new cl_engine; scans still running keep the old engine (and
 * its cl_engine) alive through their reference. Nothing here is global
 * except libclamav's own one-time initialisation (cl_init and the log
 * callback, run once under pthread_once).
 *
 * What is scanned: every decoded MIME leaf part (attachments, other
 * non-text parts and text parts: clamav-milter, which this replaces,
 * saw the whole message), except message/rfc822 containers whose parts
 * were parsed. When the parser did not decode everything (broken MIME,
 * part/depth/decoded-size limits, a truncated or undecodable part), the
 * raw message also goes to ClamAV's own mail parser.
 *
 * libclamav is opened with dlopen() on first use (av_attach() with a
 * database directory, av_watch_new()) instead of being linked: it and
 * what it pulls in (ICU, libstdc++, libxml2 ...) were about a third of
 * the symbols the dynamic linker bound at every start of hamlet (a
 * procmail filter starts once per message), and scanning is off unless
 * av_db_dir is set. Its soname is the one found at build time.
 *
 * Threads: after cl_engine_compile() the cl_engine is only read;
 * cl_scanmap_callback() on a shared compiled engine is what clamd does
 * from its thread pool. The check keeps its state on the stack and in
 * the scan's pool.
 *
 * Errors: startup problems (no directory, empty directory, a database
 * ClamAV rejects, inconsistent limits) are returned to the caller with a
 * message. A scan error on a part becomes AV_ERROR plus scan_error(), and
 * scanning goes on with the next part: a failing check never fails the
 * scan, the front end applies its failure policy.
 *
 * SECURITY: the bytes scanned are untrusted mail content. They are only
 * handed to libclamav (bounded by the limits set on the cl_engine: file
 * size, scan size, recursion, files, time) and never interpreted here.
 * Attachment file names (chosen by the sender) are not passed to it.
 * libclamav extracts archive members into its own temporary directory
 * ($TMPDIR or /tmp, which the milter's user must be able to write) and
 * removes it after each scan.
 * Signature names go into mail headers, so they are cut to printable
 * ASCII and a bounded length. The number of parts is bounded by the
 * parser (max_mime_parts) and the loop also stops when the scan's time
 * budget is spent.
 */
#include <clamav.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "av.h"
#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "msg.h"
#include "pool.h"
#include "result.h"
#include "scan.h"
#include "spamhdr.h"
#include "symbols.h"
#include "xalloc.h"

#define AV_MAX_NAMES	4	/* distinct signature names kept per message */
#define AV_NAME_MAX	128	/* bytes of one signature name kept */
#define AV_DIR_MAX	100000	/* directory entries looked at when checking */
#define AV_LIMIT_PREFIX	"Heuristics.Limits.Exceeded."

struct av {
	struct cl_engine *cl;
	char		*dir;
	unsigned int	 sigs;
	size_t		 max_filesize;
	struct cl_scan_options opts;
	int		 id_virus;
	int		 id_error;
	int		 id_scanned;
	int		 id_limit;
};

static check_fn av_check;

#ifndef HAMLET_CLAMAV_SONAME
#define HAMLET_CLAMAV_SONAME "libclamav.so"
#endif

/* the libclamav functions used, each with its own prototype */
static struct {
	__typeof__(&cl_init)		 init;
	__typeof__(&cl_set_clcb_msg)	 set_clcb_msg;
	__typeof__(&cl_strerror)	 strerror;
	__typeof__(&cl_retver)		 retver;
	__typeof__(&cl_engine_new)	 engine_new;
	__typeof__(&cl_engine_free)	 engine_free;
	__typeof__(&cl_engine_set_num)	 engine_set_num;
	__typeof__(&cl_engine_compile)	 engine_compile;
	__typeof__(&cl_load)		 load;
	__typeof__(&cl_fmap_open_memory) fmap_open_memory;
	__typeof__(&cl_fmap_close)	 fmap_close;
	__typeof__(&cl_scanmap_callback) scanmap_callback;
	__typeof__(&cl_statinidir)	 statinidir;
	__typeof__(&cl_statchkdir)	 statchkdir;
	__typeof__(&cl_statfree)	 statfree;
} clam;

static pthread_once_t av_once = PTHREAD_ONCE_INIT;
static int clam_loaded;
static char clam_error[256];	/* why it is not, for av_attach() */
static cl_error_t av_init_rc = CL_SUCCESS;

/* dlopen libclamav and look up what clam holds; 0 on success */
static int
clam_open(void)
{
	void *h = dlopen(HAMLET_CLAMAV_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *e;

	if (h == NULL) {
		e = dlerror();
		snprintf(clam_error, sizeof(clam_error), "cannot load %s: %s",
		    HAMLET_CLAMAV_SONAME, e ? e : "unknown error");
		return -1;
	}
#define CLAM_SYM(f) \
	if ((clam.f = (__typeof__(clam.f))dlsym(h, "cl_" #f)) == NULL) { \
		snprintf(clam_error, sizeof(clam_error), \
		    "%s has no cl_%s", HAMLET_CLAMAV_SONAME, #f); \
		dlclose(h); \
		return -1; \
	}
	CLAM_SYM(init)
	CLAM_SYM(set_clcb_msg)
	CLAM_SYM(strerror)
	CLAM_SYM(retver)
	CLAM_SYM(engine_new)
	CLAM_SYM(engine_free)
	CLAM_SYM(engine_set_num)
	CLAM_SYM(engine_compile)
	CLAM_SYM(load)
	CLAM_SYM(fmap_open_memory)
	CLAM_SYM(fmap_close)
	CLAM_SYM(scanmap_callback)
	CLAM_SYM(statinidir)
	CLAM_SYM(statchkdir)
	CLAM_SYM(statfree)
#undef CLAM_SYM
	return 0;	/* the handle stays open for the process */
}

/* libclamav's messages into our log: errors as warnings, the rest debug */
static void
av_clmsg(enum cl_msg severity, const char *fullmsg, const char *msg,
    void *ctx)
{
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	if (severity == CL_MSG_ERROR)
		log_warnx("clamav: %.*s", (int)n, msg);
	else
		log_debug("clamav: %.*s", (int)n, msg);
}

static void
av_global_init(void)
{
	if (clam_open() != 0)
		return;
	clam_loaded = 1;
	clam.set_clcb_msg(av_clmsg);
	av_init_rc = clam.init(CL_INIT_DEFAULT);
}

static void
av_free(void *arg)
{
	struct av *av = arg;

	if (av == NULL)
		return;
	if (av->cl)
		clam.engine_free(av->cl);
	free(av->dir);
	free(av);
}

/*
 * A clear error for a directory that is missing, not a directory or has
 * no files in it (cl_load's own message for these is vague).
 */
static enum status
av_check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;
	size_t n = 0, seen = 0;

	if (stat(dir, &sb) == -1) {
		snprintf(err, errlen, "ClamAV database directory %s: %s", dir,
		    strerror(errno));
		return ST_ERR_IO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen,
		    "ClamAV database directory %s: not a directory", dir);
		return ST_ERR_CONFIG;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "ClamAV database directory %s: %s", dir,
		    strerror(errno));
		return ST_ERR_IO;
	}
	while (seen++ < AV_DIR_MAX && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	if (n == 0) {
		snprintf(err, errlen, "ClamAV database directory %s is empty "
		    "(no signature files; unset av_db_dir to run without AV)",
		    dir);
		return ST_ERR_CONFIG;
	}
	return ST_OK;
}

/*
 * The limits, made consistent with the parser's: a part the parser
 * decoded must never be too big for ClamAV, or it would pass unscanned.
 */
static enum status
av_limits(struct av *av, const struct cfg *c, char *err, size_t errlen)
{
	struct {
		enum cl_engine_field f;
		long long v;
		const char *key;
	} lim[] = {
		{ CL_ENGINE_MAX_FILESIZE, (long long)c->av_max_filesize,
		  "av_max_filesize" },
		{ CL_ENGINE_MAX_SCANSIZE, (long long)c->av_max_scansize,
		  "av_max_scansize" },
		{ CL_ENGINE_MAX_RECURSION, c->av_max_recursion,
		  "av_max_recursion" },
		{ CL_ENGINE_MAX_FILES, c->av_max_files, "av_max_files" },
		{ CL_ENGINE_MAX_SCANTIME, c->av_max_scantime_ms,
		  "av_max_scantime" },
	};
	cl_error_t rc;

	if (c->av_max_filesize < c->scan_max_size) {
		snprintf(err, errlen, "av_max_filesize (%zu) is smaller than "
		    "scan_max_size (%zu): attachments between the two would "
		    "pass unscanned", c->av_max_filesize, c->scan_max_size);
		return ST_ERR_CONFIG;
	}
	if (c->av_max_scantime_ms > c->scan_timeout_ms) {
		snprintf(err, errlen, "av_max_scantime (%ld ms) is longer than "
		    "scan_timeout (%ld ms): one part could outlast the whole "
		    "scan", c->av_max_scantime_ms, c->scan_timeout_ms);
		return ST_ERR_CONFIG;
	}
	if (c->av_max_scansize < c->av_max_filesize) {
		snprintf(err, errlen, "av_max_scansize (%zu) is smaller than "
		    "av_max_filesize (%zu)", c->av_max_scansize,
		    c->av_max_filesize);
		return ST_ERR_CONFIG;
	}
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		if ((rc = clam.engine_set_num(av->cl, lim[i].f, lim[i].v)) !=
		    CL_SUCCESS) {
			snprintf(err, errlen, "%s %lld: ClamAV refused it: %s",
			    lim[i].key, lim[i].v, clam.strerror(rc));
			return ST_ERR_CONFIG;
		}
	}
	av->max_filesize = c->av_max_filesize;
	return ST_OK;
}

static void
av_set_options(struct av *av)
{
	memset(&av->opts, 0, sizeof(av->opts));
	/* what clamd does by default: heuristic alerts on, every parser on */
	av->opts.general = CL_SCAN_GENERAL_HEURISTICS;
	av->opts.parse = CL_SCAN_PARSE_ARCHIVE | CL_SCAN_PARSE_ELF |
	    CL_SCAN_PARSE_PDF | CL_SCAN_PARSE_SWF | CL_SCAN_PARSE_HWP3 |
	    CL_SCAN_PARSE_XMLDOCS | CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_OLE2 |
	    CL_SCAN_PARSE_HTML | CL_SCAN_PARSE_PE | CL_SCAN_PARSE_ONENOTE |
	    CL_SCAN_PARSE_IMAGE;
	/*
	 * A part ClamAV stops scanning at a limit (zip bomb, deep nesting)
	 * is reported as Heuristics.Limits.Exceeded.*; those become AV_LIMIT,
	 * not AV_VIRUS. A real signature found in the same part wins.
	 */
	av->opts.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
	av->opts.mail = 0;
}

enum status
av_attach(struct engine *e, const char *db_dir_override, char *err,
    size_t errlen)
{
	const struct cfg *c = engine_cfg(e);
	struct symreg *reg = engine_symbols(e);
	const char *dir;
	struct av *av;
	struct symdef *d;
	uint64_t t0 = clock_ns();
	cl_error_t rc;
	enum status st;

	dir = db_dir_override && *db_dir_override ? db_dir_override :
	    c->av_db_dir;
	if (dir == NULL || *dir == '\0')
		return ST_OK;		/* AV off */

	if ((st = av_check_dir(dir, err, errlen)) != ST_OK)
		return st;
	pthread_once(&av_once, av_global_init);
	if (!clam_loaded) {
		snprintf(err, errlen, "ClamAV: %s", clam_error);
		return ST_ERR_INTERNAL;
	}
	if (av_init_rc != CL_SUCCESS) {
		snprintf(err, errlen, "ClamAV initialisation failed: %s",
		    clam.strerror(av_init_rc));
		return ST_ERR_INTERNAL;
	}

	av = xcalloc(1, sizeof(*av));
	av->dir = xstrdup(dir);
	if ((av->cl = clam.engine_new()) == NULL) {
		snprintf(err, errlen, "ClamAV: cannot create an engine");
		av_free(av);
		return ST_ERR_INTERNAL;
	}
	if ((st = av_limits(av, c, err, errlen)) != ST_OK) {
		av_free(av);
		return st;
	}
	rc = clam.load(dir, av->cl, &av->sigs, CL_DB_STDOPT);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "ClamAV database directory %s: cannot "
		    "load: %s", dir, clam.strerror(rc));
		av_free(av);
		return ST_ERR_CONFIG;
	}
	if (av->sigs == 0) {
		snprintf(err, errlen, "ClamAV database directory %s holds no "
		    "signatures", dir);
		av_free(av);
		return ST_ERR_CONFIG;
	}
	if ((rc = clam.engine_compile(av->cl)) != CL_SUCCESS) {
		snprintf(err, errlen, "ClamAV database directory %s: cannot "
		    "compile: %s", dir, clam.strerror(rc));
		av_free(av);
		return ST_ERR_CONFIG;
	}
	av_set_options(av);

	d = symreg_define(reg, "AV_VIRUS", c->av_score,
	    "Attachment contains a virus (ClamAV)", SYM_NOAUTOLEARN);
	av->id_virus = d->id;
	d = symreg_define(reg, "AV_ERROR", 0,
	    "ClamAV could not scan a part", SYM_NOAUTOLEARN);
	av->id_error = d->id;
	d = symreg_define(reg, "__AV_SCANNED", 0, NULL, SYM_SUB);
	av->id_scanned = d->id;
	d = symreg_define(reg, "AV_LIMIT", 0,
	    "Part not fully scanned: a ClamAV limit was reached",
	    SYM_NOAUTOLEARN);
	av->id_limit = d->id;

	engine_add_check(e, STAGE_CONTENT, "av", av_check, av, NULL);
	engine_on_free(e, av_free, av);
	log_debug("av: %u signatures loaded from %s in %.1f ms (ClamAV %s)",
	    av->sigs, dir, (double)(clock_ns() - t0) / 1e6, clam.retver());
	return ST_OK;
}

/* per-message state of the check, on its stack */
struct av_run {
	struct scan	*s;
	const struct av	*av;
	const char	*names[AV_MAX_NAMES];
	size_t		 nnames;
	const char	*limit;		/* first Heuristics.Limits.Exceeded.* */
	int		 nscanned;
	int		 nerrors;
};

/* keep a signature name: printable ASCII, bounded, distinct */
static void
av_keep_name(struct av_run *r, const char *vn)
{
	char buf[AV_NAME_MAX + 1];
	size_t n = 0;

	for (; vn && *vn && n < AV_NAME_MAX; vn++)
		buf[n++] = (*vn > ' ' && *vn < 127) ? *vn : '_';
	buf[n] = '\0';
	if (n == 0)
		strcpy(buf, "Unknown");
	for (size_t i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], buf) == 0)
			return;
	if (r->nnames < AV_MAX_NAMES)
		r->names[r->nnames++] = pool_strdup(r->s->pool, buf);
}

static void
av_error(struct av_run *r, const char *what, const char *why)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "%s: %s", what, why);
	r->nerrors++;
	/* one hit, the first error is the detail; scan_error keeps the first */
	result_add_id(r->s, r->av->id_error, detail);
	scan_error(r->s, "clamav: %s", detail);
}

/* Scan len bytes at data; what names it in logs and errors. */
static void
av_scan_mem(struct av_run *r, const void *data, size_t len, const char *what,
    unsigned mailopts)
{
	struct cl_scan_options o = r->av->opts;
	const char *vn = NULL;
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t rc;

	if ((map = clam.fmap_open_memory(data, len)) == NULL) {
		av_error(r, what, "cannot map the data");
		return;
	}
	o.mail |= mailopts;
	/* no file name: the sender chose it, ClamAV does not need it */
	rc = clam.scanmap_callback(map, NULL, &vn, &scanned, r->av->cl, &o, NULL);
	clam.fmap_close(map);
	r->nscanned++;
	switch (rc) {
	case CL_CLEAN:
		break;
	case CL_VIRUS:
		log_debug("av: %s: %s", what, vn ? vn : "?");
		if (vn && strncmp(vn, AV_LIMIT_PREFIX,
		    sizeof(AV_LIMIT_PREFIX) - 1) == 0) {
			if (r->limit == NULL)
				r->limit = pool_strndup(r->s->pool, vn,
				    AV_NAME_MAX);
		} else
			av_keep_name(r, vn);
		break;
	default:
		av_error(r, what, clam.strerror(rc));
		break;
	}
}

/* 1 when part i is a message/rfc822 whose content the parser split up */
static int
av_has_children(const struct msg *m, size_t i)
{
	for (size_t j = i + 1; j < m->nparts; j++)
		if (m->parts[j].parent == (int)i)
			return 1;
	return 0;
}

/*
 * 1 when the parser did not hand us everything: then ClamAV's own mail
 * parser also gets the raw message, so a broken or over-limit MIME tree
 * cannot hide an attachment.
 */
static int
av_need_raw(const struct msg *m)
{
	if (m->raw_len == 0)
		return 0;
	if (m->nparts == 0 || (m->anomalies & MSG_MIME_BROKEN) ||
	    (m->limits & (MSG_LIM_PARTS | MSG_LIM_DEPTH | MSG_LIM_DECODED)))
		return 1;
	for (size_t i = 0; i < m->nparts; i++)
		if (m->parts[i].flags & (PART_TRUNCATED | PART_BAD_ENCODING))
			return 1;
	return 0;
}

static void
av_check(struct scan *s, void *ctx)
{
	const struct av *av = ctx;
	const struct msg *m = s->msg;
	struct av_run r;
	char what[64];

	memset(&r, 0, sizeof(r));
	r.s = s;
	r.av = av;
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];

		if (p->flags & PART_MULTIPART || p->data == NULL ||
		    p->size == 0)
			continue;
		if ((p->flags & PART_MESSAGE) && av_has_children(m, i))
			continue;
		if (scan_expired(s)) {
			av_error(&r, "message", "scan time budget spent");
			break;
		}
		snprintf(what, sizeof(what), "part %zu", i);
		av_scan_mem(&r, p->data, p->size, what, 0);
	}
	if (av_need_raw(m) && !scan_expired(s)) {
		size_t len = m->raw_len;
		unsigned mo = 0;

		if (len > av->max_filesize) {
			len = av->max_filesize;
			mo = CL_SCAN_MAIL_PARTIAL_MESSAGE;
		}
		av_scan_mem(&r, m->raw, len, "raw message", mo);
	}

	result_add_id(s, av->id_scanned,
	    pool_printf(s->pool, "%d parts", r.nscanned));
	if (r.limit)
		result_add_id(s, av->id_limit, r.limit);
	if (r.nnames > 0) {
		struct buf b = BUF_INIT;

		for (size_t i = 0; i < r.nnames; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", r.names[i]);
		result_add_id(s, av->id_virus, buf_str(&b));
		log_debug("av: virus found: %s", buf_str(&b));
		buf_free(&b);
	}
}

const char *
av_virus(const struct scan *s)
{
	const struct hit *h;

	h = result_get(&s->res, "AV_VIRUS", engine_symbols(s->eng));
	return h ? (h->detail ? h->detail : "Unknown") : NULL;
}

size_t
av_headers(struct scan *s, struct spamhdr out[AV_HEADERS_MAX])
{
	const struct symreg *reg = engine_symbols(s->eng);
	const char *host = s->cfg->hostname, *vn;
	const struct hit *h;
	char hbuf[256];

	if (result_get(&s->res, "__AV_SCANNED", reg) == NULL)
		return 0;
	if (host == NULL || *host == '\0') {
		if (gethostname(hbuf, sizeof(hbuf)) == -1)
			strcpy(hbuf, "localhost");
		hbuf[sizeof(hbuf) - 1] = '\0';
		host = hbuf;
	}
	out[0].name = "X-Virus-Scanned";
	out[0].value = pool_printf(s->pool, "hamlet %s with ClamAV %s at %s",
	    HAMLET_VERSION, clam.retver(), host);
	out[1].name = "X-Virus-Status";
	if ((vn = av_virus(s)) != NULL)
		out[1].value = pool_printf(s->pool, "Infected (%s)", vn);
	else if (result_get(&s->res, "AV_ERROR", reg) != NULL)
		out[1].value = "Error";
	else if ((h = result_get(&s->res, "AV_LIMIT", reg)) != NULL)
		out[1].value = pool_printf(s->pool, "Unscanned (%s)",
		    h->detail ? h->detail : "limit");
	else
		out[1].value = "Clean";
	return 2;
}

struct av_watch {
	struct cl_stat	 st;
};

struct av_watch *
av_watch_new(const char *db_dir)
{
	struct av_watch *w;

	pthread_once(&av_once, av_global_init);
	if (!clam_loaded)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	if (clam.statinidir(db_dir, &w->st) != CL_SUCCESS) {
		clam.statfree(&w->st);
		free(w);
		return NULL;
	}
	return w;
}

int
av_watch_changed(struct av_watch *w)
{
	return w != NULL && clam.statchkdir(&w->st) == 1;
}

void
av_watch_free(struct av_watch *w)
{
	if (w == NULL)
		return;
	clam.statfree(&w->st);
	free(w);
}
