/*
 * testhelp.h - the whole unit-test harness (after antirez's testhelp.h).
 *
 *   test_cond("what is checked", expr);
 *   ...
 *   return test_report();   prints "N passed, N failed", exit 1 on failure
 */
#ifndef HAMLET_TESTHELP_H
#define HAMLET_TESTHELP_H

#include <stdio.h>

static int th_passed, th_failed;

#define test_cond(descr, cond) do {					\
	if (cond) {							\
		th_passed++;						\
	} else {							\
		th_failed++;						\
		printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, descr);	\
	}								\
} while (0)

#define test_report() (printf("%d passed, %d failed\n", th_passed,	\
	th_failed), th_failed ? 1 : 0)

#endif
