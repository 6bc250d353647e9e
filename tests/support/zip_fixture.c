/* zip_fixture.c - see zip_fixture.h. The archive is written into a libzip
 * buffer source kept past zip_close, then read back whole. */
#include "zip_fixture.h"

#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "support.h"

gcert_buf test_zip(const test_zip_member *members, size_t n) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
  assert_non_null(src);
  zip_source_keep(src);
  zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  assert_non_null(za);
  for (size_t i = 0; i < n; i++) {
    const void *data = members[i].data ? members[i].data : "";
    size_t len = members[i].len ? members[i].len : strlen(data);
    zip_source_t *s = zip_source_buffer(za, data, len, 0);
    assert_non_null(s);
    zip_int64_t index = zip_file_add(za, members[i].name, s, 0);
    assert_true(index >= 0);
    if (members[i].encrypt)
      assert_int_equal(0, zip_file_set_encryption(za, (zip_uint64_t)index, ZIP_EM_AES_256, "zip"));
  }
  assert_int_equal(0, zip_close(za));
  zip_stat_t sb;
  assert_int_equal(0, zip_source_stat(src, &sb));
  gcert_buf out = {malloc(sb.size), (size_t)sb.size};
  assert_non_null(out.data);
  assert_int_equal(0, zip_source_open(src));
  assert_int_equal((zip_int64_t)sb.size, zip_source_read(src, out.data, sb.size));
  zip_source_close(src);
  zip_source_free(src);
  zip_error_fini(&ze);
  return out;
}
