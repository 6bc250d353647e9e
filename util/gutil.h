/* gutil.h - the small things every gatecert component needs once: a growing
 * text (also libcurl's body collector), the "format a reason, return -1"
 * error helper, a free loopback port, a program search along $PATH, a
 * table-driven command-line option parser (gu_opts_parse) and the shell words
 * and fnmatch patterns of a command printed for a user to paste (shell.c).
 *
 * Error convention of the whole project: a function that can fail returns -1
 * (or NULL) and, when the caller passed a buffer, writes one line saying why
 * into it; it never prints. gu_fail is that convention in one call.
 *
 * A gu_text is zero-initialised ({0}) and needs no init call. Appends never
 * report an error one by one: an allocation failure, or growing past limit
 * when limit is not 0, sets failed, every later append does nothing, and the
 * owner checks failed once when the text is complete. data is NULL until the
 * first append and NUL-terminated after it.
 */
#ifndef GATECERT_UTIL_H
#define GATECERT_UTIL_H

#include <stddef.h>

typedef struct gu_text {
  char *data;
  size_t len;
  size_t cap;
  size_t limit; /* most bytes the text may hold; 0: no limit */
  int failed;
} gu_text;

void gu_text_add(gu_text *t, const void *data, size_t len);
void gu_text_printf(gu_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the text and empties t (limit included). */
void gu_text_free(gu_text *t);
/* Hands data over to the caller (who frees it) and empties t; NULL when
 * failed or nothing was appended. */
char *gu_text_take(gu_text *t);
/* A CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA a gu_text *: appends the
 * chunk, or answers 0 (libcurl then stops the transfer with
 * CURLE_WRITE_ERROR) once the text has failed or would pass its limit. */
size_t gu_text_curl_write(char *ptr, size_t size, size_t nmemb, void *text);

/* Writes the formatted reason into why (when why is not NULL and why_len not
 * 0) and returns -1. */
int gu_fail(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
 * released), or -1 with why. For programs that must be told a port in their
 * configuration; servers of our own bind port 0 and report theirs. */
int gu_free_port(char *why, size_t why_len);

/* Milliseconds on the monotonic clock (for deadlines and polling; never the
 * fake clock of a process under libfaketime, which does not touch ours). */
double gu_now_ms(void);
/* Sleeps ms milliseconds of real time, resuming after signals. */
void gu_sleep_ms(int ms);

/* Where program is: with a '/', that file; without, the first regular
 * executable file named so in a directory of $PATH. 0 and the path in out, or
 * -1 with why (not found, not executable, or the path too long for out). */
int gu_find_program(const char *program, char *out, size_t out_len, char *why, size_t why_len);

/* The whole file at path: 0 with *data (malloc'd, NUL-terminated after its
 * *len bytes), or -1 with errno: fopen's error, EIO when reading failed,
 * ENOMEM, or EFBIG when it holds more than max bytes (max 0: no limit). The
 * callers word their own messages from errno. */
int gu_read_file(const char *path, size_t max, char **data, size_t *len);

/* What a file of st_mode mode is, for a message: "a regular file", "a directory",
 * "a FIFO (named pipe)", "a character device", "a block device", "a socket",
 * "a symbolic link" (a static string). So a refusal names the thing given
 * ("--scenarios x is a FIFO") instead of an errno that fits badly ("Not a
 * directory"). */
const char *gu_file_type(unsigned mode);

/* ---- version and installed files (version.c) ----
 * The version is project(... VERSION) of the top-level CMakeLists.txt, e.g.
 * "0.1.0"; gu_version_git is `git describe --always --dirty` of the checkout
 * at configure time, "" when it was not one. gu_version_line writes what every
 * program's --version prints, "NAME VERSION" (plus " (git DESCRIBE)" when
 * known), into out and returns out. */
const char *gu_version(void);
const char *gu_version_git(void);
const char *gu_version_line(const char *name, char *out, size_t out_len);
/* The installed data file share/gatecert/NAME, found from the running
 * program (/proc/self/exe in bin/): 0 and its path in out when it exists, else
 * -1 (a build tree has none). */
int gu_data_path(const char *name, char *out, size_t out_len);

/* ---- command-line options (opts.c) ----
 * A command describes its options in a table of gu_opt, ended by an entry
 * whose name is NULL, and gu_opts_parse runs getopt_long over argv once:
 * every option is a long one (--name VALUE or --name=VALUE, unambiguous
 * abbreviations accepted, as getopt_long does), letter adds a short form
 * (-j N, -jN). What an option does is the one action field that is set:
 *   string  takes a value, stored in *string (the last one given wins);
 *   flag    takes no value, sets *flag to 1; with stop, the parse ends right
 *           there (--help: what follows is not read, even a bad option);
 *   list    takes a value, appended to list[*count] (at most max of them;
 *           one more is refused: "at most MAX --NAME");
 *   parse   takes a value, handed to parse(name, value, to, why, why_len),
 *           which checks and stores it, or returns -1 with why (a refusal).
 * The actions run in command-line order, so the first bad option is the one
 * reported. Command-specific words (the "COMMAND: " prefix, the usage text)
 * are the caller's: gu_opts_parse only fills why. */
typedef struct gu_opt {
  const char *name; /* the long name without "--"; NULL ends the table */
  char letter;      /* the short form -letter, or 0 for none */
  const char **string;
  int *flag;
  int stop;
  const char **list;
  size_t *count;
  size_t max;
  int (*parse)(const char *name, const char *value, void *to, char *why, size_t why_len);
  void *to;
} gu_opt;

#define GU_OPTS_MAX      32   /* most options in a table */
#define GU_OPTS_IN_ORDER 0x1  /* the first operand ends the options (else they are permuted) */
#define GU_OPTS_UNKNOWN  (-1) /* an unknown option or a missing value */
#define GU_OPTS_REFUSED  (-2) /* a value refused by parse, or one too many for a list */
#define GU_OPTS_TABLE    (-3) /* a malformed table (a programming error) */

/* Parses argv[1..argc-1] by the table (getopt's state is reset first, so it
 * may be called again in one process). The index in argv of the first
 * operand (argc when there is none; operands are moved behind the options
 * unless flags has GU_OPTS_IN_ORDER), or GU_OPTS_UNKNOWN with why
 * "ARG: unknown option or missing value" (ARG as getopt leaves it in
 * argv[optind - 1]), GU_OPTS_REFUSED with the refusal in why, or
 * GU_OPTS_TABLE. */
int gu_opts_parse(int argc, char **argv, const gu_opt *opts, int flags, char *why, size_t why_len);

/* ---- commands for a user to paste (shell.c) ----
 * What gatecert prints as a command (the reproduce command of a case, the
 * "made by" line of a repro script) is built with these, so that pasted into
 * sh or bash it runs exactly what it names, whatever the strings hold. */

/* Appends s to t as one shell word that sh and bash read back as exactly s:
 * bare when made only of letters, digits and _./:@%+,- (and not empty), else in
 * single quotes (a ' written '\''). Returns -1 and appends nothing when s
 * holds what cannot stand as itself on a pasted line: a control character
 * (C0, DEL, C1), U+FFFE/U+FFFF or bytes that are not UTF-8. */
int gu_shell_quote(gu_text *t, const char *s);
/* Appends the words of argv (NULL-ended) to t as one line of POSIX sh, each
 * by gu_shell_quote; a word it refuses is first set on the same line with
 * gatecert_argN="$(printf -- 'FORMAT_')"; (its other bytes as printf(1) escapes,
 * \OOO) and used as "${gatecert_argN%_}". The line holds printable characters
 * only and runs the same in dash and bash. */
void gu_shell_command(gu_text *t, const char *const *argv);
/* Appends s to t with a backslash before each of * ? [ \ , so that as an
 * fnmatch(3) pattern (flags 0) it matches exactly s. */
void gu_glob_escape(gu_text *t, const char *s);

#endif
