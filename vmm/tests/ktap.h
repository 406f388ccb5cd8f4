/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KTAP producer for host unit tests: one plan per binary, one
 * "ok"/"not ok" line per case, diagnostics as "# " lines.
 */
#ifndef XENKVM_TESTS_KTAP_H
#define XENKVM_TESTS_KTAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct ktap {
	int planned;
	int number;
	int failed;
	int case_failed;
};

static inline void ktap_plan(struct ktap *t, int n)
{
	t->planned = n;
	printf("KTAP version 1\n1..%d\n", n);
	fflush(stdout);
}

/* Record a failed expectation inside the current case. */
#define KTAP_EXPECT(t, cond) do {					\
	if (!(cond)) {							\
		(t)->case_failed = 1;					\
		printf("# %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
	}								\
} while (0)

static inline void ktap_case_end(struct ktap *t, const char *name)
{
	t->number++;
	if (t->case_failed)
		t->failed++;
	printf("%s %d %s\n", t->case_failed ? "not ok" : "ok", t->number, name);
	fflush(stdout);
	t->case_failed = 0;
}

static inline int ktap_finish(struct ktap *t)
{
	if (t->number != t->planned) {
		printf("# planned %d cases, ran %d\n", t->planned, t->number);
		return 1;
	}
	return t->failed ? 1 : 0;
}

#endif
