/* version.c - what gatecert is and where its installed files are.
 *
 * The version has one source: project(gatecert VERSION x.y.z) in the
 * top-level CMakeLists.txt, which also records `git describe --always
 * --dirty` of the checkout when the configure ran in one (else nothing) and
 * the path from the installed bin/ to share/gatecert/ (GNUInstallDirs), all
 * into the generated version.h. Every program's --version prints
 * gu_version_line: "NAME VERSION", plus " (git DESCRIBE)" when known.
 *
 * gu_data_path finds a file of the installed data directory relative to the
 * running program (/proc/self/exe), so an installed tree works wherever it
 * was unpacked (a DESTDIR, a .deb extracted with dpkg-deb -x).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gutil.h"
#include "version.h"

const char *gu_version(void) { return GU_VERSION; }

const char *gu_version_git(void) { return GU_VERSION_GIT; }

const char *gu_version_line(const char *name, char *out, size_t out_len) {
  if (GU_VERSION_GIT[0])
    snprintf(out, out_len, "%s %s (git %s)", name, GU_VERSION, GU_VERSION_GIT);
  else
    snprintf(out, out_len, "%s %s", name, GU_VERSION);
  return out;
}

int gu_data_path(const char *name, char *out, size_t out_len) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return -1;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash)
    return -1;
  *slash = '\0';
  int len = snprintf(out, out_len, "%s/%s/%s", self, GU_DATA_FROM_BIN, name);
  struct stat st;
  if (len < 0 || (size_t)len >= out_len || stat(out, &st) != 0)
    return -1;
  return 0;
}
