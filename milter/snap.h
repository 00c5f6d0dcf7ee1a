/*
 * snap.h - the milter's current configuration snapshot: one frozen
 * engine (config, rules, Bayes, AV) plus what the milter derives from
 * the config (the trusted network list), shared read-only by every
 * connection thread.
 *
 * A message takes a reference at MAIL FROM and drops it when the
 * message ends, so it is scanned with the configuration it started
 * with. SIGHUP builds a new snapshot and swaps the pointer; the old one
 * goes away when its last message finishes.
 */
#ifndef HAMLET_SNAP_H
#define HAMLET_SNAP_H

#include <stddef.h>

#include "engine/cfg.h"
#include "engine/scan.h"
#include "engine/status.h"
#include "milter/netlist.h"
#include "train/setup.h"

struct snap {
	struct engine	*eng;		/* one reference, released with the snap */
	const struct cfg *cfg;		/* engine_cfg(eng) */
	struct netlist	*trusted;	/* cfg trusted_networks, parsed */
	unsigned	 generation;	/* 1 at start, +1 per reload */
};

/*
 * Build a snapshot from the setup options (config file, overrides) and
 * make it current. On error the current snapshot (if any) stays and err
 * says why (file:line for config errors).
 */
enum status snap_load(const struct setup *o, char *err, size_t errlen);

/* The current snapshot with a reference, or NULL before snap_load(). */
struct snap *snap_get(void);
/* Drop a reference (accepts NULL). */
void snap_put(struct snap *sn);

/* Drop the current snapshot (at exit). */
void snap_shutdown(void);

#endif
