/*
 * snap.c - the refcounted configuration snapshot of the milter.
 *
 * Ownership: the module holds one reference on the current snapshot;
 * snap_get() hands out more. A snapshot (its engine and trusted list) is
 * destroyed by the snap_put() that drops the last reference, which may
 * be a connection thread finishing a message after a reload.
 *
 * Locking: one mutex guards the current pointer and every refcount;
 * it is held only for pointer and counter updates, never while building
 * an engine or scanning.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/log.h"
#include "engine/xalloc.h"
#include "milter/snap.h"

struct snap_box {
	struct snap	 pub;		/* first: snap_get() hands out &pub */
	int		 refs;
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snap_box *snap_cur;
static unsigned snap_gen;

static void
box_destroy(struct snap_box *b)
{
	engine_unref(b->pub.eng);
	netlist_free(b->pub.trusted);
	free(b);
}

enum status
snap_load(const struct setup *o, char *err, size_t errlen)
{
	struct engine *e;
	struct netlist *nl;
	struct snap_box *b, *old;
	char msg[256];

	if ((e = setup_engine(o, err, errlen)) == NULL)
		return ST_ERR_CONFIG;
	if (netlist_parse(engine_cfg(e)->trusted_networks, &nl, msg,
	    sizeof(msg)) != ST_OK) {
		snprintf(err, errlen, "trusted_networks: %s", msg);
		engine_unref(e);
		return ST_ERR_CONFIG;
	}
	b = xcalloc(1, sizeof(*b));
	b->pub.eng = e;
	b->pub.cfg = engine_cfg(e);
	b->pub.trusted = nl;
	b->refs = 1;

	pthread_mutex_lock(&snap_lock);
	b->pub.generation = ++snap_gen;
	old = snap_cur;
	snap_cur = b;
	if (old && --old->refs > 0)
		old = NULL;	/* messages still use it; the last put frees */
	pthread_mutex_unlock(&snap_lock);
	if (old)
		box_destroy(old);
	return ST_OK;
}

struct snap *
snap_get(void)
{
	struct snap_box *b;

	pthread_mutex_lock(&snap_lock);
	if ((b = snap_cur) != NULL)
		b->refs++;
	pthread_mutex_unlock(&snap_lock);
	return b ? &b->pub : NULL;
}

void
snap_put(struct snap *sn)
{
	struct snap_box *b = (struct snap_box *)sn;
	int last;

	if (b == NULL)
		return;
	pthread_mutex_lock(&snap_lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&snap_lock);
	if (last)
		box_destroy(b);
}

void
snap_shutdown(void)
{
	struct snap_box *b;

	pthread_mutex_lock(&snap_lock);
	b = snap_cur;
	snap_cur = NULL;
	pthread_mutex_unlock(&snap_lock);
	snap_put(b ? &b->pub : NULL);
}
