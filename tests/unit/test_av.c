/*
 * test_av.c - the ClamAV adapter: startup errors, detection in decoded
 * parts, headers, errors, and a reload with a changed database.
 *
 * The signature database is built here in a temporary directory: the
 * EICAR test string as an .ndb hex signature and, for the reload, an
 * .hdb line (md5:size:name) of a made-up attachment.
 */
#include <clamav.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/av.h"
#include "engine/cfg.h"
#include "engine/log.h"
#include "engine/result.h"
#include "engine/scan.h"
#include "engine/spamhdr.h"
#include "engine/symbols.h"
#include "tests/unit/testhelp.h"

/* EICAR, hex-encoded so this file itself is not a test virus */
static const char eicar_hex[] =
    "58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d"
    "5354414e444152442d414e544956495255532d544553542d46494c452124482b482a";

static const char msg_eicar_b64[] =
    "From: a@example.test\r\n"
    "To: b@example.test\r\n"
    "Subject: eicar\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"BB\"\r\n"
    "\r\n"
    "--BB\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "see attachment\r\n"
    "--BB\r\n"
    "Content-Type: application/octet-stream; name=\"eicar.com\"\r\n"
    "Content-Disposition: attachment; filename=\"eicar.com\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJV\r\n"
    "Uy1URVNULUZJTEUhJEgrSCo=\r\n"
    "--BB--\r\n";

/* the attachment is "hamlet av reload blob\n", base64 */
static const char blob[] = "hamlet av reload blob\n";
static const char msg_blob[] =
    "From: a@example.test\n"
    "To: b@example.test\n"
    "Subject: blob\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"BB\"\n"
    "\n"
    "--BB\n"
    "Content-Type: text/plain\n"
    "\n"
    "a harmless attachment\n"
    "--BB\n"
    "Content-Type: application/octet-stream; name=\"blob.bin\"\n"
    "Content-Disposition: attachment; filename=\"blob.bin\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "aGFtbGV0IGF2IHJlbG9hZCBibG9iCg==\n"
    "--BB--\n";

static char dbdir[64], emptydir[64];

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
}

static void
rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* an engine with AV attached from dir; NULL on error (message in err) */
static struct engine *
make_engine(struct cfg *c, const char *dir, enum status *st, char *err,
    size_t errlen)
{
	struct engine *e = engine_new(c);

	*st = av_attach(e, dir, err, errlen);
	if (*st != ST_OK) {
		engine_unref(e);
		return NULL;
	}
	engine_freeze(e);
	return e;
}

static struct scan *
run(struct engine *e, const char *raw)
{
	struct scan *s = scan_new(e, NULL, raw, strlen(raw));

	scan_run(s);
	return s;
}

/* a STAGE_CONTENT check registered before AV: spends the time budget */
static void
expire_now(struct scan *s, void *ctx)
{
	(void)ctx;
	s->deadline_ns = 1;
}

static void
test_startup(void)
{
	struct engine *e;
	enum status st;
	char err[512];
	char missing[128];

	/* no directory anywhere: AV off, nothing registered */
	err[0] = '\0';
	e = make_engine(cfg_new(), NULL, &st, err, sizeof(err));
	test_cond("AV off without a directory", e != NULL && st == ST_OK);
	if (e) {
		struct scan *s = run(e, msg_eicar_b64);
		struct spamhdr h[AV_HEADERS_MAX];

		test_cond("AV off: no AV_VIRUS symbol",
		    symreg_get(engine_symbols(e), "AV_VIRUS") == NULL);
		test_cond("AV off: no X-Virus headers", av_headers(s, h) == 0);
		test_cond("AV off: av_virus NULL", av_virus(s) == NULL);
		scan_free(s);
		engine_unref(e);
	}

	snprintf(missing, sizeof(missing), "%s/nonexistent", dbdir);
	e = make_engine(cfg_new(), missing, &st, err, sizeof(err));
	test_cond("missing dir is an error", e == NULL && st == ST_ERR_IO);
	test_cond("missing dir message names it", strstr(err, missing) != NULL);

	e = make_engine(cfg_new(), emptydir, &st, err, sizeof(err));
	test_cond("empty dir is an error", e == NULL && st == ST_ERR_CONFIG);
	test_cond("empty dir message says empty", strstr(err, "empty") != NULL &&
	    strstr(err, emptydir) != NULL);

	/* cfg av_db_dir is used when there is no override */
	{
		struct cfg *c = cfg_new();

		test_cond("cfg_set av_db_dir", cfg_set(c, "av_db_dir", emptydir,
		    err, sizeof(err)) == ST_OK);
		e = make_engine(c, NULL, &st, err, sizeof(err));
		test_cond("cfg av_db_dir is used", e == NULL &&
		    strstr(err, emptydir) != NULL);
	}

	/* a file that is not a directory */
	{
		char f[128];

		snprintf(f, sizeof(f), "%s/eicar.ndb", dbdir);
		e = make_engine(cfg_new(), f, &st, err, sizeof(err));
		test_cond("a file is not a database dir", e == NULL &&
		    st == ST_ERR_CONFIG);
	}

	/* ClamAV limits below the parser's size limit */
	{
		struct cfg *c = cfg_new();

		cfg_set(c, "scan_max_size", "8M", err, sizeof(err));
		cfg_set(c, "av_max_filesize", "4M", err, sizeof(err));
		e = make_engine(c, dbdir, &st, err, sizeof(err));
		test_cond("av_max_filesize < scan_max_size is an error",
		    e == NULL && st == ST_ERR_CONFIG &&
		    strstr(err, "av_max_filesize") != NULL);
	}
	{
		struct cfg *c = cfg_new();

		cfg_set(c, "av_max_filesize", "30M", err, sizeof(err));
		cfg_set(c, "av_max_scansize", "20M", err, sizeof(err));
		e = make_engine(c, dbdir, &st, err, sizeof(err));
		test_cond("av_max_scansize < av_max_filesize is an error",
		    e == NULL && st == ST_ERR_CONFIG);
	}

	{
		struct cfg *c = cfg_new();

		cfg_set(c, "scan_timeout", "5s", err, sizeof(err));
		cfg_set(c, "av_max_scantime", "10s", err, sizeof(err));
		e = make_engine(c, dbdir, &st, err, sizeof(err));
		test_cond("av_max_scantime > scan_timeout is an error",
		    e == NULL && st == ST_ERR_CONFIG &&
		    strstr(err, "av_max_scantime") != NULL);
	}

	/* a database ClamAV cannot load */
	{
		char bad[64];

		snprintf(bad, sizeof(bad), "/tmp/hamlet-av-bad.XXXXXX");
		if (mkdtemp(bad) != NULL) {
			write_file(bad, "broken.ndb", "NoColonsHere\n");
			e = make_engine(cfg_new(), bad, &st, err, sizeof(err));
			test_cond("a broken database is an error", e == NULL &&
			    st == ST_ERR_CONFIG && strstr(err, bad) != NULL);
			rm_dir(bad);
		}
	}
}

static void
test_scan(void)
{
	struct engine *e;
	struct scan *s;
	struct spamhdr h[AV_HEADERS_MAX];
	const struct hit *hit;
	enum status st;
	char err[512] = "";
	struct cfg *c = cfg_new();

	cfg_set(c, "av_score", "42", err, sizeof(err));
	e = make_engine(c, dbdir, &st, err, sizeof(err));
	test_cond("attach with a tiny database", e != NULL && st == ST_OK);
	if (e == NULL) {
		printf("attach: %s\n", err);
		return;
	}

	s = run(e, msg_eicar_b64);
	hit = result_get(&s->res, "AV_VIRUS", engine_symbols(e));
	test_cond("EICAR in a base64 attachment hits AV_VIRUS", hit != NULL);
	test_cond("detail is the signature name", hit && hit->detail &&
	    strcmp(hit->detail, "Hamlet.Test.Eicar.UNOFFICIAL") == 0);
	test_cond("AV_VIRUS scores av_score", hit && hit->score == 42.0);
	test_cond("av_virus names it", av_virus(s) &&
	    strstr(av_virus(s), "Hamlet.Test.Eicar") != NULL);
	test_cond("no AV_ERROR", result_get(&s->res, "AV_ERROR",
	    engine_symbols(e)) == NULL);
	test_cond("two X-Virus headers", av_headers(s, h) == 2);
	test_cond("X-Virus-Scanned", strcmp(h[0].name, "X-Virus-Scanned") == 0 &&
	    strstr(h[0].value, "ClamAV") != NULL);
	test_cond("X-Virus-Status Infected (NAME)",
	    strcmp(h[1].name, "X-Virus-Status") == 0 &&
	    strcmp(h[1].value, "Infected (Hamlet.Test.Eicar.UNOFFICIAL)") == 0);
	test_cond("score includes AV_VIRUS", s->res.score >= 42.0);
	scan_free(s);

	s = run(e, msg_blob);
	test_cond("a clean attachment: no AV_VIRUS", result_get(&s->res,
	    "AV_VIRUS", engine_symbols(e)) == NULL);
	test_cond("a clean attachment: Clean", av_headers(s, h) == 2 &&
	    strcmp(h[1].value, "Clean") == 0);
	hit = result_get(&s->res, "__AV_SCANNED", engine_symbols(e));
	test_cond("both parts scanned", hit && hit->detail &&
	    strcmp(hit->detail, "2 parts") == 0);
	scan_free(s);

	/*
	 * Over the parser's part limit the last attachment is never decoded:
	 * ClamAV's own mail parser gets the raw message and still finds it.
	 */
	{
		static const char many[] =
		    "From: a@example.test\n"
		    "Subject: many parts\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: multipart/mixed; boundary=\"QQ\"\n"
		    "\n"
		    "--QQ\n"
		    "Content-Type: text/plain\n"
		    "\n"
		    "one\n"
		    "--QQ\n"
		    "Content-Type: text/plain\n"
		    "\n"
		    "two\n"
		    "--QQ\n"
		    "Content-Type: text/plain\n"
		    "\n"
		    "three\n"
		    "--QQ\n"
		    "Content-Type: application/octet-stream; name=\"e.com\"\n"
		    "Content-Transfer-Encoding: base64\n"
		    "\n"
		    "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJV\n"
		    "Uy1URVNULUZJTEUhJEgrSCo=\n"
		    "--QQ--\n";
		struct cfg *c3 = cfg_new();
		struct engine *e3;

		cfg_set(c3, "max_mime_parts", "2", err, sizeof(err));
		e3 = make_engine(c3, dbdir, &st, err, sizeof(err));
		test_cond("attach with max_mime_parts 2", e3 != NULL);
		if (e3) {
			s = run(e3, many);
			test_cond("the parser hit its part limit",
			    (s->msg->limits & MSG_LIM_PARTS) != 0);
			test_cond("EICAR past the part limit is found",
			    av_virus(s) != NULL);
			scan_free(s);
			engine_unref(e3);
		}
	}

	/* AV_ERROR: the time budget is gone when the AV check runs */
	{
		struct engine *e2 = engine_new(cfg_new());

		engine_add_check(e2, STAGE_CONTENT, "expire", expire_now, NULL,
		    NULL);
		st = av_attach(e2, dbdir, err, sizeof(err));
		test_cond("attach a second engine", st == ST_OK);
		engine_freeze(e2);
		s = scan_new(e2, NULL, msg_eicar_b64, strlen(msg_eicar_b64));
		st = scan_run(s);
		hit = result_get(&s->res, "AV_ERROR", engine_symbols(e2));
		test_cond("scanner error gives AV_ERROR", hit != NULL &&
		    hit->detail && strstr(hit->detail, "time") != NULL);
		test_cond("AV_ERROR scores 0", hit && hit->score == 0);
		test_cond("the scan reports the error", st != ST_OK &&
		    s->error != NULL);
		test_cond("X-Virus-Status: Error", av_headers(s, h) == 2 &&
		    strcmp(h[1].value, "Error") == 0);
		scan_free(s);
		engine_unref(e2);
	}
	engine_unref(e);
}

/* a reload sees a changed database; the old engine keeps working */
static void
test_reload(void)
{
	struct engine *e1, *e2;
	struct scan *s1, *s2;
	struct av_watch *w;
	enum status st;
	char err[512] = "", line[256], *md5;
	unsigned char *digest;
	unsigned int dlen = 0;

	e1 = make_engine(cfg_new(), dbdir, &st, err, sizeof(err));
	w = av_watch_new(dbdir);
	test_cond("watch a database dir", w != NULL);
	test_cond("no change yet", av_watch_changed(w) == 0);
	s1 = run(e1, msg_blob);
	test_cond("blob not detected before the reload", av_virus(s1) == NULL);

	digest = cl_hash_data("md5", blob, strlen(blob), NULL, &dlen);
	md5 = line;
	for (unsigned i = 0; digest && i < dlen; i++)
		md5 += sprintf(md5, "%02x", digest[i]);
	free(digest);
	snprintf(md5, sizeof(line) - (size_t)(md5 - line), ":%zu:Hamlet.Test.Blob\n",
	    strlen(blob));
	write_file(dbdir, "blob.hdb", line);
	test_cond("the watcher sees the new file", av_watch_changed(w) == 1);
	av_watch_free(w);
	av_watch_free(NULL);

	e2 = make_engine(cfg_new(), dbdir, &st, err, sizeof(err));
	test_cond("reload builds a new engine", e2 != NULL);
	if (e2) {
		s2 = run(e2, msg_blob);
		test_cond("blob detected after the reload", av_virus(s2) &&
		    strcmp(av_virus(s2), "Hamlet.Test.Blob.UNOFFICIAL") == 0);
		scan_free(s2);
		s2 = run(e2, msg_eicar_b64);
		test_cond("EICAR still detected after the reload",
		    av_virus(s2) != NULL);
		scan_free(s2);
	}
	/* the old engine is still usable while a scan holds it */
	engine_unref(e1);
	scan_free(s1);
	engine_unref(e2);
}

/* scan threads share one engine (and its cl_engine), as in the milter */
#define NTHREADS	4
#define NSCANS		25

struct worker {
	struct engine	*e;
	int		 wrong;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < NSCANS; i++) {
		int infected = (i % 2) == 0;
		struct scan *s = run(w->e, infected ? msg_eicar_b64 : msg_blob);

		if ((av_virus(s) != NULL) != infected)
			w->wrong++;
		scan_free(s);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct worker w[NTHREADS];
	pthread_t tid[NTHREADS];
	struct engine *e;
	enum status st;
	char err[512] = "";
	int wrong = 0, started = 0;

	e = make_engine(cfg_new(), dbdir, &st, err, sizeof(err));
	if (e == NULL) {
		test_cond("engine for the thread test", 0);
		return;
	}
	for (int i = 0; i < NTHREADS; i++) {
		w[i].e = e;
		w[i].wrong = 0;
		if (pthread_create(&tid[i], NULL, worker_run, &w[i]) == 0)
			started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		wrong += w[i].wrong;
	}
	test_cond("threads started", started == NTHREADS);
	test_cond("concurrent scans on one engine all right", wrong == 0);
	engine_unref(e);
}

int
main(void)
{
	char text[512];

	log_init("test_av", 0, 0);
	snprintf(dbdir, sizeof(dbdir), "/tmp/hamlet-av-db.XXXXXX");
	snprintf(emptydir, sizeof(emptydir), "/tmp/hamlet-av-empty.XXXXXX");
	if (mkdtemp(dbdir) == NULL || mkdtemp(emptydir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(text, sizeof(text), "Hamlet.Test.Eicar:0:*:%s\n", eicar_hex);
	write_file(dbdir, "eicar.ndb", text);

	test_startup();
	test_scan();
	test_threads();		/* before test_reload() adds the blob's .hdb */
	test_reload();

	rm_dir(dbdir);
	rm_dir(emptydir);
	return test_report();
}
