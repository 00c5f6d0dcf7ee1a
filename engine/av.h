/*
 * av.h - the antivirus adapter: ClamAV (libclamav) inside the engine.
 *
 * av_attach() loads one ClamAV engine from a signature directory at
 * start (and again on every reload, since a reload builds a new engine),
 * and registers a STAGE_CONTENT check that scans every decoded MIME leaf
 * part from memory: attachments, non-text parts and text parts alike
 * (archives, PDF, Office, mail and HTML parsing on). The ClamAV engine is
 * compiled once and then shared read-only by every scan thread; it is
 * released with the hamlet engine (engine_on_free).
 *
 * Symbols it defines:
 *   AV_VIRUS      a signature matched; detail = signature name(s),
 *                 score = cfg av_score
 *   AV_ERROR      ClamAV failed on a part (score 0); the scan goes on and
 *                 scan_error() is recorded so the front end applies its
 *                 failure policy (cfg on_error)
 *   AV_LIMIT      a part was not scanned to the end because a ClamAV
 *                 limit was reached (archive nesting, size, files, time);
 *                 detail = Heuristics.Limits.Exceeded.*, score 0
 *   __AV_SCANNED  (sub symbol, never scored) AV ran on this message;
 *                 detail = "N parts"
 *
 * What to do with an infected message (cfg av_action: reject /
 * quarantine / tag) is the front end's decision; av_virus() and
 * av_headers() give it what it needs.
 */
#ifndef HAMLET_AV_H
#define HAMLET_AV_H

#include <stddef.h>

#include "scan.h"
#include "spamhdr.h"
#include "status.h"

/* at most this many X-Virus-* headers come out of av_headers() */
#define AV_HEADERS_MAX	2

/*
 * Attach ClamAV to an engine (call before engine_freeze()). The database
 * directory is db_dir_override (--av-db DIR) when not NULL/empty, else
 * cfg av_db_dir; when both are empty AV is off and this returns ST_OK
 * having done nothing. A missing, unreadable or empty directory, a
 * database ClamAV cannot load, or limits inconsistent with scan_max_size
 * are startup errors: a message naming the directory goes to err and the
 * status is ST_ERR_CONFIG (bad setting) or ST_ERR_IO (cannot read).
 */
enum status av_attach(struct engine *e, const char *db_dir_override,
    char *err, size_t errlen);

/*
 * The signature name(s) found in this scan ("Eicar.UNOFFICIAL", several
 * joined by ", "), or NULL when AV_VIRUS did not hit. Lives in the scan.
 */
const char *av_virus(const struct scan *s);

/*
 * The X-Virus-* headers for this scan, ClamAV's (clamav-milter's) names:
 *   X-Virus-Scanned: hamlet 0.1.0 with ClamAV 1.4.6 at HOST
 *   X-Virus-Status: Infected (NAME) | Clean | Error | Unscanned (LIMIT)
 * Returns 0 when AV did not run on this message (AV off, or the scan
 * stopped before the content stage), else 2. Values live in the scan's
 * pool, unfolded, without a trailing newline. Call after scan_run().
 */
size_t av_headers(struct scan *s, struct spamhdr out[AV_HEADERS_MAX]);

/*
 * Database change check (optional; SIGHUP does the same by rebuilding the
 * engine). av_watch_new() records the state of the directory's database
 * files; av_watch_changed() returns 1 once a file was added, removed or
 * modified since, else 0. One watcher per thread; av_watch_free accepts
 * NULL. Returns NULL when the directory cannot be read.
 */
struct av_watch;
struct av_watch *av_watch_new(const char *db_dir);
int av_watch_changed(struct av_watch *w);
void av_watch_free(struct av_watch *w);

#endif
