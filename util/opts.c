/* opts.c - gu_opts_parse (gutil.h): the getopt_long loop every gatecert
 * command used to write out by hand, driven by a table.
 *
 * The table is turned into getopt_long's two descriptions: a struct option
 * per entry (required_argument unless the entry is a flag; val is the
 * entry's letter, or 256 + its index for a long-only option, so val finds
 * the entry again) and the short-option string of the letters ("+" first
 * for GU_OPTS_IN_ORDER, ':' after a letter that takes a value). getopt's
 * own messages are off (opterr = 0): every '?' it returns, an unknown
 * option, an ambiguous abbreviation or a missing value, becomes one
 * GU_OPTS_UNKNOWN naming argv[optind - 1], as the commands printed it.
 */
#include <ctype.h>
#include <getopt.h>
#include <stddef.h>

#include "gutil.h"

/* 1 when the entry has exactly one action and what that action needs. */
static int well_formed(const gu_opt *o) {
  int actions = (o->string != NULL) + (o->flag != NULL) + (o->list != NULL) + (o->parse != NULL);
  if (actions != 1 || (o->stop && !o->flag))
    return 0;
  if (o->list && (!o->count || o->max == 0))
    return 0;
  return o->letter == 0 || isalnum((unsigned char)o->letter);
}

/* Runs the entry's action on value (NULL for a flag). 0, or GU_OPTS_REFUSED. */
static int apply(const gu_opt *o, const char *value, char *why, size_t why_len) {
  if (o->string)
    *o->string = value;
  else if (o->flag)
    *o->flag = 1;
  else if (o->list) {
    if (*o->count >= o->max) {
      gu_fail(why, why_len, "at most %zu --%s", o->max, o->name);
      return GU_OPTS_REFUSED;
    }
    o->list[(*o->count)++] = value;
  } else if (o->parse(o->name, value, o->to, why, why_len) != 0)
    return GU_OPTS_REFUSED;
  return 0;
}

int gu_opts_parse(int argc, char **argv, const gu_opt *opts, int flags, char *why, size_t why_len) {
  struct option longs[GU_OPTS_MAX + 1];
  char shorts[1 + 2 * GU_OPTS_MAX + 1];
  size_t n = 0, s = 0;
  if (flags & GU_OPTS_IN_ORDER)
    shorts[s++] = '+';
  for (; opts[n].name; n++) {
    const gu_opt *o = &opts[n];
    if (n == GU_OPTS_MAX || !well_formed(o)) {
      gu_fail(why, why_len, "option table: --%s is malformed or one too many", o->name);
      return GU_OPTS_TABLE;
    }
    int has_value = o->flag == NULL;
    longs[n] = (struct option){o->name, has_value ? required_argument : no_argument, NULL,
                               o->letter ? o->letter : 256 + (int)n};
    if (o->letter) {
      shorts[s++] = o->letter;
      if (has_value)
        shorts[s++] = ':';
    }
  }
  longs[n] = (struct option){NULL, 0, NULL, 0};
  shorts[s] = '\0';
  optind = 0; /* glibc: 0 also resets getopt's state from an earlier parse */
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    const gu_opt *o = NULL;
    for (size_t i = 0; i < n && !o; i++)
      if (ch != '?' && longs[i].val == ch)
        o = &opts[i];
    if (!o) {
      gu_fail(why, why_len, "%s: unknown option or missing value", argv[optind - 1]);
      return GU_OPTS_UNKNOWN;
    }
    int rc = apply(o, o->flag ? NULL : optarg, why, why_len);
    if (rc != 0)
      return rc;
    if (o->stop)
      break;
  }
  return optind;
}
