/* shell.c - commands gatecert prints for a user to paste (gutil.h): shell
 * words and fnmatch patterns that stand for exactly one given string.
 *
 * A word is written for POSIX sh (dash) and bash alike, on one line:
 *   - bare when it is made only of letters, digits and _./:@%+,- (none of
 *     them means anything to the shell in a word);
 *   - else between single quotes, where the shell reads every byte as itself
 *     but the quote, which is written '\'' (close, an escaped quote, reopen);
 *   - a word holding a byte that cannot stay as itself on a pasted line - a
 *     C0 control (newline, tab, ESC, ...), DEL, a C1 control (U+0080..U+009F,
 *     which terminals act on), a noncharacter U+FFFE/U+FFFF or bytes that are
 *     not well-formed UTF-8 (gatecert's report filter replaces all of these,
 *     report.c) - is not single-quoted (gu_shell_quote refuses it). bash's
 *     $'...' would do but dash has no such thing, so gu_shell_command assigns
 *     such a word to a variable on the same line with printf -- FORMAT (the
 *     -- keeps a leading - from being an option), whose escapes are POSIX:
 *     \OOO (three octal digits) for each such byte, \\ and %% for \ and %,
 *     the rest as itself, then '_' so that $(...) cannot strip a trailing
 *     newline; the command then says "${gatecert_argN%_}". The printed line
 *     holds printable characters only.
 *
 * gu_glob_escape puts a backslash before *, ?, [ and \, the characters
 * fnmatch(3) with flags 0 reads as special; every other character matches
 * itself, so the pattern matches the one string.
 */
#include <stdio.h>
#include <string.h>

#include "gutil.h"

/* Bytes a bare word may hold. */
static int bare_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("_./:@%+,-", c) != NULL);
}

/* How many bytes at s (n left) form one character that may stand as itself on
 * a pasted line: 1 for printable ASCII, 2..4 for a well-formed UTF-8 sequence
 * of a code point past U+009F that is not U+FFFE/U+FFFF; 0 otherwise. */
static size_t printable_at(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80)
    return c >= 0x20 && c != 0x7f;
  size_t len = c >= 0xc2 && c <= 0xdf   ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
  if (len == 0 || len > n)
    return 0;
  unsigned long cp = c & (0x7f >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0 ||
      cp == 0xfffe || cp == 0xffff)
    return 0;
  return len;
}

/* 1 when every character of s may stand as itself on a pasted line. */
static int printable(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t k = printable_at(u + i, n - i);
    if (k == 0)
      return 0;
    i += k;
  }
  return 1;
}

int gu_shell_quote(gu_text *t, const char *s) {
  if (!printable(s))
    return -1;
  size_t n = strlen(s), bare = n > 0;
  for (size_t i = 0; i < n && bare; i++)
    bare = bare_char((unsigned char)s[i]);
  if (bare) {
    gu_text_add(t, s, n);
    return 0;
  }
  gu_text_add(t, "'", 1);
  for (const char *p = s; *p; p++) {
    if (*p == '\'')
      gu_text_add(t, "'\\''", 4);
    else
      gu_text_add(t, p, 1);
  }
  gu_text_add(t, "'", 1);
  return 0;
}

/* printf(1)'s format for s, in single quotes, with the '_' guard. */
static void printf_format(gu_text *t, const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = strlen(s);
  gu_text_add(t, "'", 1);
  for (size_t i = 0; i < n;) {
    size_t k = printable_at(u + i, n - i);
    if (k == 0) {
      gu_text_printf(t, "\\%03o", u[i]);
      i++;
      continue;
    }
    if (u[i] == '\\')
      gu_text_add(t, "\\\\", 2);
    else if (u[i] == '%')
      gu_text_add(t, "%%", 2);
    else if (u[i] == '\'')
      gu_text_add(t, "'\\''", 4);
    else
      gu_text_add(t, u + i, k);
    i += k;
  }
  gu_text_add(t, "_'", 2);
}

void gu_shell_command(gu_text *t, const char *const *argv) {
  size_t vars = 0;
  for (size_t i = 0; argv[i]; i++) {
    if (printable(argv[i]))
      continue;
    gu_text_printf(t, "gatecert_arg%zu=\"$(printf -- ", ++vars);
    printf_format(t, argv[i]);
    gu_text_add(t, ")\"; ", 4);
  }
  vars = 0;
  for (size_t i = 0; argv[i]; i++) {
    if (i > 0)
      gu_text_add(t, " ", 1);
    if (gu_shell_quote(t, argv[i]) != 0)
      gu_text_printf(t, "\"${gatecert_arg%zu%%_}\"", ++vars);
  }
}

void gu_glob_escape(gu_text *t, const char *s) {
  for (; *s; s++) {
    if (strchr("*?[\\", *s) != NULL)
      gu_text_add(t, "\\", 1);
    gu_text_add(t, s, 1);
  }
}
