/* file.c - loading and saving certificate files safely.
 *
 * Loading checks the size with fstat before reading anything, refuses what is
 * not a regular file (a FIFO or /dev/zero would never end), and reads exactly
 * the size seen. Saving writes a temporary file in the same directory with the
 * final mode (0600 for anything holding a private key) and renames it into
 * place, so a reader never sees half a file and a key is never world-readable,
 * not even for a moment.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gcert_status gcert_file_load(const char *path, size_t max_len, gcert_buf *out, gcert_error *err) {
  /* O_NONBLOCK: a FIFO given as a file is refused below, never waited on */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return gcert_fail_plain(err, GCERT_E_IO, "cannot open %s: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return gcert_fail_plain(err, GCERT_E_IO, "cannot stat %s: %s", path, strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return gcert_fail_plain(err, GCERT_E_IO, "%s is not a regular file", path);
  }
  if ((uint64_t)sb.st_size > max_len) {
    close(fd);
    return gcert_fail_plain(err, GCERT_E_TOO_LARGE, "%s is %lld bytes, the limit is %zu", path,
                            (long long)sb.st_size, max_len);
  }
  size_t size = (size_t)sb.st_size;
  unsigned char *data = malloc(size > 0 ? size : 1);
  if (data == NULL) {
    close(fd);
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory reading %s", path);
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = n < 0 ? errno : 0;
      close(fd);
      free(data);
      return gcert_fail_plain(err, GCERT_E_IO, "cannot read %s: %s", path,
                              e ? strerror(e) : "file shrank while reading");
    }
    got += (size_t)n;
  }
  close(fd);
  out->data = data;
  out->len = size;
  return GCERT_OK;
}

static int write_all(int fd, const unsigned char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

gcert_status gcert_file_save(const char *path, const unsigned char *data, size_t len,
                             int private_data, gcert_error *err) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (tmp == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory");
  snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp); /* created 0600 */
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return gcert_fail_plain(err, GCERT_E_IO, "cannot create a file next to %s: %s", path,
                            strerror(e));
  }
  int ok =
      (private_data || fchmod(fd, 0644) == 0) && write_all(fd, data, len) == 0 && fsync(fd) == 0;
  int e = errno;
  ok = (close(fd) == 0) && ok;
  if (ok && rename(tmp, path) != 0) {
    e = errno;
    ok = 0;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    return gcert_fail_plain(err, GCERT_E_IO, "cannot write %s: %s", path, strerror(e));
  }
  free(tmp);
  return GCERT_OK;
}
