/* nginx.c - placeholder: the nginx driver is being written (issue 7). */
#include <stdio.h>

#include "driver.h"

gh_driver *gh_driver_nginx_new(const char *bin, gh_real_info *info, char *why, size_t why_len) {
  (void)bin;
  (void)info;
  snprintf(why, why_len, "the nginx driver is not built yet");
  return NULL;
}
