/*
 * lmdb_hold.c - test helper for 90-procmail.sh: holds the write lock of
 * an LMDB environment (a Bayes store) until killed, like a trainer stuck
 * in a transaction. Prints "locked" once it holds it.
 *   cc -o lmdb_hold lmdb_hold.c -llmdb && ./lmdb_hold STORE_DIR
 */
#include <stdio.h>
#include <unistd.h>

#include <lmdb.h>

int
main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	int rc;

	if (argc != 2)
		return 2;
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 16)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
		fprintf(stderr, "lmdb_hold: %s\n", mdb_strerror(rc));
		return 1;
	}
	printf("locked\n");
	fflush(stdout);
	for (;;)
		pause();
}
