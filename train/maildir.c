/*
 * maildir.c - listing Maildir and MH/plain directories (see maildir.h).
 *
 * Ownership: a maildir_list owns its path strings.
 * SECURITY: file names are untrusted (anything but '/' and NUL); they
 * are only joined to the directory path, never interpreted.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xalloc.h"
#include "train/maildir.h"

int
maildir_is_maildir(const char *dir)
{
	struct stat sb;
	char *p;
	int yes;

	p = xasprintf("%s/cur", dir);
	yes = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
	free(p);
	if (yes)
		return 1;
	p = xasprintf("%s/new", dir);
	yes = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
	free(p);
	return yes;
}

static int
cmp_path(const void *a, const void *b)
{
	/* natural order, so MH's 2 comes before 10 */
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* append the regular files of dir; -1 if it cannot be opened */
static int
add_dir(struct maildir_list *l, size_t *cap, const char *dir, int must,
    char *err, size_t errlen)
{
	struct dirent *de;
	struct stat sb;
	char *p;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		if (!must && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			free(p);
			continue;
		}
		if (l->n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			l->paths = xreallocarray(l->paths, *cap,
			    sizeof(*l->paths));
		}
		l->paths[l->n++] = p;
		l->bytes += (uint64_t)sb.st_size;
	}
	closedir(d);
	return 0;
}

enum status
maildir_list(const char *dir, int maildir, struct maildir_list *l,
    char *err, size_t errlen)
{
	size_t cap = 0, first;
	char *sub;
	int rc;

	memset(l, 0, sizeof(*l));
	if (maildir) {
		sub = xasprintf("%s/cur", dir);
		rc = add_dir(l, &cap, sub, 0, err, errlen);
		free(sub);
		first = l->n;
		if (rc == 0) {
			sub = xasprintf("%s/new", dir);
			rc = add_dir(l, &cap, sub, 0, err, errlen);
			free(sub);
		}
		if (rc == 0) {
			/* each subdirectory in name order */
			qsort(l->paths, first, sizeof(*l->paths), cmp_path);
			qsort(l->paths + first, l->n - first,
			    sizeof(*l->paths), cmp_path);
		}
	} else {
		rc = add_dir(l, &cap, dir, 1, err, errlen);
		if (rc == 0)
			qsort(l->paths, l->n, sizeof(*l->paths), cmp_path);
	}
	if (rc != 0) {
		maildir_list_free(l);
		return ST_ERR_IO;
	}
	return ST_OK;
}

void
maildir_list_free(struct maildir_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	memset(l, 0, sizeof(*l));
}
