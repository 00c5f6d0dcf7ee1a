/*
 * maildir.h - list the message files of a Maildir (cur/ and new/) or of
 * an MH / plain directory (every regular file, MH's numeric names in
 * numeric order).
 *
 * Names starting with '.' are skipped (MH's .mh_sequences, Maildir
 * tools' dot files); Maildir's tmp/ is never read (messages being
 * delivered). Subdirectories are not descended into.
 */
#ifndef HAMLET_MAILDIR_H
#define HAMLET_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

struct maildir_list {
	char	**paths;	/* full paths, sorted */
	size_t	  n;
	uint64_t  bytes;	/* sum of the file sizes */
};

/* 1 if dir has a cur/ or new/ subdirectory. */
int maildir_is_maildir(const char *dir);

/*
 * Fill l with the messages of dir (Maildir when maildir is set, else
 * MH/plain). ST_ERR_IO with err set when dir cannot be read.
 */
enum status maildir_list(const char *dir, int maildir,
    struct maildir_list *l /* OUT */, char *err, size_t errlen);
void maildir_list_free(struct maildir_list *l);

#endif
