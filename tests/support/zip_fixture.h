/* zip_fixture.h - zip archives built member by member in memory (libzip), as
 * a hostile uploader or a hand-made SAP JAR would have them: the certs and
 * sim tests that feed archives to the JAR reader share this one builder.
 * Asserts (cmocka) on any libzip failure.
 */
#ifndef GATECERT_ZIP_FIXTURE_H
#define GATECERT_ZIP_FIXTURE_H

#include <stddef.h>

#include "gcert.h"

typedef struct test_zip_member {
  const char *name;
  const void *data; /* NULL: empty */
  int encrypt;      /* AES-256 with password "zip" */
  size_t len;       /* 0: strlen(data) (text members) */
} test_zip_member;

/* The archive of the n members, in order (malloc'd in the returned buffer). */
gcert_buf test_zip(const test_zip_member *members, size_t n);

#endif
