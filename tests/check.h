/* check.h: the expectation the C unit tests share.  A failed EXPECT prints
 * its file, line and condition and marks the running case failed, so one run
 * reports every failed expectation of every case rather than the first.
 * case_failed is a flag (a test may reset it per case, or return it from
 * main); expectations_failed counts every failure of the whole run. */
#ifndef IPF_TEST_CHECK_H
#define IPF_TEST_CHECK_H

#include <stdio.h>

static int case_failed;
static int expectations_failed;

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: expected %s: ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            case_failed = 1;                                                                       \
            expectations_failed++;                                                                 \
        }                                                                                          \
    } while (0)

#endif
