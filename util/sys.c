/* sys.c - the error helper, the monotonic clock and sleep, a free loopback
 * port, the $PATH search, whole-file reading and file type names of gutil.h:
 * what the drivers, the harness and the simulator each used to carry a
 * private copy of. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gutil.h"

int gu_fail(char *why, size_t why_len, const char *fmt, ...) {
  if (why && why_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int gu_free_port(char *why, size_t why_len) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return gu_fail(why, why_len, "socket: %s", strerror(errno));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t n = sizeof(a);
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &n) == 0)
    port = ntohs(a.sin_port);
  else
    gu_fail(why, why_len, "probing a loopback port: %s", strerror(errno));
  close(fd);
  return port;
}

double gu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void gu_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int is_executable_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int gu_find_program(const char *program, char *out, size_t out_len, char *why, size_t why_len) {
  if (!program || !*program)
    return gu_fail(why, why_len, "no program named");
  if (strchr(program, '/')) {
    if (!is_executable_file(program))
      return gu_fail(why, why_len, "%s is not an executable file", program);
    if ((size_t)snprintf(out, out_len, "%s", program) >= out_len)
      return gu_fail(why, why_len, "%s: path too long", program);
    return 0;
  }
  const char *path = getenv("PATH");
  for (const char *p = path ? path : ""; *p;) {
    size_t len = strcspn(p, ":");
    if (len > 0 && (size_t)snprintf(out, out_len, "%.*s/%s", (int)len, p, program) < out_len &&
        is_executable_file(out))
      return 0;
    p += len;
    p += *p == ':';
  }
  if (out_len)
    out[0] = '\0';
  return gu_fail(why, why_len, "%s: not found in PATH", program);
}

int gu_read_file(const char *path, size_t max, char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  gu_text t = {.limit = max}; /* an append past max fails: EFBIG below */
  char chunk[8192];
  size_t n = 0;
  while (!t.failed && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    gu_text_add(&t, chunk, n);
  int read_error = ferror(f);
  fclose(f);
  int err = read_error ? EIO : !t.failed ? 0 : max && t.len + n > max ? EFBIG : ENOMEM;
  if (err) {
    gu_text_free(&t);
    errno = err;
    return -1;
  }
  *len = t.len;
  *data = t.data ? gu_text_take(&t) : calloc(1, 1);
  if (!*data) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

const char *gu_file_type(unsigned mode) {
  mode_t m = (mode_t)mode;
  if (S_ISREG(m))
    return "a regular file";
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISFIFO(m))
    return "a FIFO (named pipe)";
  if (S_ISCHR(m))
    return "a character device";
  if (S_ISBLK(m))
    return "a block device";
  if (S_ISSOCK(m))
    return "a socket";
  if (S_ISLNK(m))
    return "a symbolic link";
  return "a file of an unknown type";
}
