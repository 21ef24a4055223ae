/* The unit tests' checks. Every check prints one line in the project's test
 * protocol (PASS name / FAIL name: why / SKIP name: why), which tests/run
 * counts; a test binary exits non-zero when any check failed. */
#ifndef POPEK_CHECK_H
#define POPEK_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (cond) {                                                     \
			printf("PASS ");                                        \
			printf(__VA_ARGS__);                                    \
			printf("\n");                                           \
		} else {                                                        \
			check_failures++;                                       \
			printf("FAIL ");                                        \
			printf(__VA_ARGS__);                                    \
			printf(": %s (%s:%d)\n", #cond, __FILE__, __LINE__);    \
		}                                                               \
	} while (0)

/* Compares two integers and shows both on failure. */
#define CHECK_EQ(got, want, ...)                                                \
	do {                                                                    \
		unsigned long long g_ = (unsigned long long)(got);              \
		unsigned long long w_ = (unsigned long long)(want);             \
		if (g_ == w_) {                                                 \
			printf("PASS ");                                        \
			printf(__VA_ARGS__);                                    \
			printf("\n");                                           \
		} else {                                                        \
			check_failures++;                                       \
			printf("FAIL ");                                        \
			printf(__VA_ARGS__);                                    \
			printf(": expected %#llx got %#llx (%s:%d)\n", w_, g_,  \
			       __FILE__, __LINE__);                             \
		}                                                               \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle, ...)                                    \
	CHECK((hay) != NULL && strstr((hay), (needle)) != NULL, __VA_ARGS__)

#define CHECK_DONE() (fflush(stdout), check_failures ? 1 : 0)

#endif
