/* test_sim_multipart.c - the multipart/form-data parser, case by case.
 *
 * Most of this is two tables in the style of curl's tests: each row is an
 * input and what must come out of it. body_cases are whole bodies parsed with
 * one boundary (curl's) and the status, a substring of the reason and the
 * parts expected; boundary_cases are Content-Type values and the boundary or
 * status expected. Every body is copied into a buffer of exactly its length
 * so that AddressSanitizer (the sanitize build) sees any read past its end.
 *
 * The rest is generated: the bounds on either side of each limit, a real DER
 * certificate and every byte value as content, every prefix of valid bodies
 * (never OK before the close delimiter), byte flips and inserted bytes (the
 * result is consistent whatever the status), 10 MiB hostile bodies (timed;
 * the figures are printed, never asserted), and the seed corpus in
 * fixtures/multipart, whose file names start with the status expected.
 */
#include "support.h"

#include "multipart.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

/* The boundary curl 7.x picks (24 dashes, 16 hex digits) and its delimiter line. */
#define BND "------------------------d74496d66958873e"
#define DL  "--" BND
#define CD  "Content-Disposition: form-data; "

/* A body literal with its length (it may hold NUL bytes). */
#define BODY(s) .body = (s), .len = sizeof(s) - 1
/* An expected part: name, filename (NULL when none), Content-Type, content. */
#define PART(n, f, t, d)                                                                           \
  { (n), (f), (t), (d), sizeof(d) - 1 }

typedef struct want_part {
  const char *name;
  const char *filename;
  const char *type;
  const char *data;
  size_t len;
} want_part;

typedef struct body_case {
  const char *label;
  const char *body;
  size_t len;
  gsim_mp_status status;
  const char *why; /* a substring of the reason, for errors */
  size_t count;
  want_part parts[4];
} body_case;

/* What curl -F 'certificate=@x.crt' -F alias=a -F endpoint=https://... sends: the same
 * bytes as curl 7.88.1 (fixtures/multipart/ok--curl-pem-alias-endpoint.mp) but the boundary. */
#define CURL_PEM                                                                                   \
  "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUb2s=\n-----END CERTIFICATE-----\n"
#define CURL_BODY                                                                                  \
  DL "\r\n" CD "name=\"certificate\"; filename=\"x.crt\"\r\n"                                      \
     "Content-Type: application/octet-stream\r\n\r\n" CURL_PEM "\r\n" DL "\r\n" CD                 \
     "name=\"alias\"\r\n\r\na\r\n" DL "\r\n" CD                                                    \
     "name=\"endpoint\"\r\n\r\nhttps://backend.example:8443/api\r\n" DL "--\r\n"

/* Binary content: DER-like bytes with NUL, CRLF, dashes and near-delimiters. */
#define BIN_OK                                                                                     \
  "\x30\x82\x01\x0a\x00\r\n--\r\n\x00"                                                             \
  "\r\n-" BND "\r\r\n--------------------------d74496d66958873\n--" BND "\r\n\n\r\x00\xff"

static const body_case body_cases[] = {
    /* ---- accepted ---- */
    {"curl: file, alias, endpoint",
     BODY(CURL_BODY),
     GSIM_MP_OK,
     NULL,
     3,
     {PART("certificate", "x.crt", "application/octet-stream", CURL_PEM),
      PART("alias", NULL, "", "a"),
      PART("endpoint", NULL, "", "https://backend.example:8443/api")}},
    {"unquoted parameter values",
     BODY(DL "\r\n" CD "name=alias; filename=a.crt\r\n\r\nv\r\n" DL "--\r\n"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("alias", "a.crt", "", "v")}},
    {"header and parameter names in any case",
     BODY(DL "\r\nCONTENT-DISPOSITION: FORM-DATA; NAME=\"a\"; FileName=\"f.pem\"\r\n"
             "content-TYPE: Text/Plain\r\n\r\nv\r\n" DL "--\r\n"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a", "f.pem", "Text/Plain", "v")}},
    {"backslash escapes in quoted strings",
     BODY(DL "\r\n" CD "name=\"a\\\"b\"; filename=\"c:\\\\dir\\\\x.crt\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a\"b", "c:\\dir\\x.crt", "", "v")}},
    {"whitespace around ';' and '=', none after ':'",
     BODY(DL "\r\nContent-Disposition:form-data ;name = \"a\" ;\tfilename=\"b\" ;\r\n"
             "Content-Type:   text/plain  \r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a", "b", "text/plain", "v")}},
    {"empty filename is still a file",
     BODY(DL "\r\n" CD "name=\"f\"; filename=\"\"\r\n\r\n\r\n" DL "--\r\n"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("f", "", "", "")}},
    {"percent sequences in a plain filename are kept",
     BODY(DL "\r\n" CD "name=\"f\"; filename=\"a%22b.crt\"\r\n\r\nv\r\n" DL "--\r\n"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("f", "a%22b.crt", "", "v")}},
    {"filename* alone is decoded",
     BODY(DL "\r\n" CD "name=f; filename*=UTF-8''%E2%82%AC%20rates.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("f", "\xe2\x82\xac rates.crt", "", "v")}},
    {"filename* with a language tag, lowercase charset",
     BODY(DL "\r\n" CD "name=f; filename*=utf-8'en-GB'a.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("f", "a.crt", "", "v")}},
    {"filename wins over filename*",
     BODY(DL "\r\n" CD "name=f; filename*=UTF-8''b.crt; filename=\"a.crt\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("f", "a.crt", "", "v")}},
    {"preamble and epilogue are ignored",
     BODY("This is the preamble.\r\n-- " BND "\r\n" DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL
          "--\r\nepilogue\r\n" DL "\r\n" CD "name=a\r\n\r\n"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a", NULL, "", "v")}},
    {"no CRLF after the close delimiter",
     BODY(DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a", NULL, "", "v")}},
    {"transport padding after delimiters",
     BODY(DL " \t \r\n" CD "name=a\r\n\r\nv\r\n" DL "\t\r\n" CD "name=b\r\n\r\nw\r\n" DL "--  "),
     GSIM_MP_OK,
     NULL,
     2,
     {PART("a", NULL, "", "v"), PART("b", NULL, "", "w")}},
    {"the opening delimiter after an empty preamble's CRLF",
     BODY("\r\n" DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a", NULL, "", "v")}},
    {"empty content, content of CRLFs, content ending in CR",
     BODY(DL "\r\n" CD "name=a\r\n\r\n\r\n" DL "\r\n" CD "name=b\r\n\r\n\r\n\r\n\r\n" DL "\r\n" CD
             "name=c\r\n\r\nx\r\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     3,
     {PART("a", NULL, "", ""), PART("b", NULL, "", "\r\n\r\n"), PART("c", NULL, "", "x\r")}},
    {"boundary in content not preceded by CRLF is content",
     BODY(DL "\r\n" CD "name=a\r\n\r\nx" DL "\r\ny\n" DL "--\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a", NULL, "", "x" DL "\r\ny\n" DL "--")}},
    {"binary content: NUL, CRLF, dashes, near-delimiters",
     BODY(DL "\r\n" CD "name=\"der\"; filename=\"a.der\"\r\n"
             "Content-Type: application/pkix-cert\r\n\r\n" BIN_OK "\r\n" DL "--\r\n"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("der", "a.der", "application/pkix-cert", BIN_OK)}},
    {"unknown headers and parameters are ignored",
     BODY(DL "\r\nContent-Transfer-Encoding: binary\r\nX-Thing: \"unbalanced\r\n" CD
             "name=a; size=12; creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"\r\n\r\nv\r\n" DL
             "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("a", NULL, "", "v")}},
    {"UTF-8 names, header values with obs-text",
     BODY(DL "\r\n" CD
             "name=\"\xe0\xb7\x81\xe0\xb7\x8a\"; filename=\"\xc3\xa4.crt\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     1,
     {PART("\xe0\xb7\x81\xe0\xb7\x8a", "\xc3\xa4.crt", "", "v")}},
    {"field names are case-sensitive: not duplicates",
     BODY(DL "\r\n" CD "name=alias\r\n\r\na\r\n" DL "\r\n" CD "name=Alias\r\n\r\nb\r\n" DL "--"),
     GSIM_MP_OK,
     NULL,
     2,
     {PART("alias", NULL, "", "a"), PART("Alias", NULL, "", "b")}},

    /* ---- no-delimiter ---- */
    {"empty body", BODY(""), GSIM_MP_NO_DELIMITER, "body is empty", 0, {{0}}},
    {"no delimiter at all",
     BODY("hello world\r\n"),
     GSIM_MP_NO_DELIMITER,
     "no delimiter line",
     0,
     {{0}}},
    {"boundary not at the start of a line",
     BODY("x" DL "\r\n" CD "name=a\r\n\r\nv\r\nx" DL "--"),
     GSIM_MP_NO_DELIMITER,
     "no delimiter line",
     0,
     {{0}}},
    {"LF-only body after a preamble",
     BODY("preamble\n" DL "\n" CD "name=a\n\nv\n" DL "--\n"),
     GSIM_MP_NO_DELIMITER,
     "CRLF line ends are required",
     0,
     {{0}}},
    {"body is only the close delimiter",
     BODY(DL "--\r\n"),
     GSIM_MP_NO_DELIMITER,
     "no part",
     0,
     {{0}}},

    /* ---- truncated ---- */
    {"body is only the boundary",
     BODY(DL),
     GSIM_MP_TRUNCATED,
     "opening delimiter: body ends after the boundary",
     0,
     {{0}}},
    {"body ends in padding",
     BODY(DL " \t"),
     GSIM_MP_TRUNCATED,
     "body ends after the boundary",
     0,
     {{0}}},
    {"body ends after CR",
     BODY(DL "\r"),
     GSIM_MP_TRUNCATED,
     "body ends after the boundary",
     0,
     {{0}}},
    {"body ends after the delimiter line",
     BODY(DL "\r\n"),
     GSIM_MP_TRUNCATED,
     "part 1: body ends inside the header block",
     0,
     {{0}}},
    {"no empty line after the headers",
     BODY(DL "\r\n" CD "name=a\r\n"),
     GSIM_MP_TRUNCATED,
     "part 1: body ends inside the header block",
     0,
     {{0}}},
    {"no delimiter after the content",
     BODY(DL "\r\n" CD "name=a\r\n\r\nv\r\n"),
     GSIM_MP_TRUNCATED,
     "part 1: body ends inside the content",
     0,
     {{0}}},
    {"missing CRLF before the close delimiter",
     BODY(DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "\r\n" CD "name=b\r\n\r\nw" DL "--\r\n"),
     GSIM_MP_TRUNCATED,
     "part 2: body ends inside the content",
     0,
     {{0}}},
    {"body ends inside the close delimiter",
     BODY(DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "-"),
     GSIM_MP_TRUNCATED,
     "delimiter after part 1: body ends inside the close delimiter",
     0,
     {{0}}},
    {"header block and content run into the close delimiter",
     BODY(DL "\r\n" CD "name=a\r\n" DL "--\r\n"),
     GSIM_MP_BAD_HEADER,
     "part 1: delimiter inside the header block",
     0,
     {{0}}},

    /* ---- bad-header: delimiter lines ---- */
    {"LF-only body from the start",
     BODY(DL "\n" CD "name=a\n\nv\n" DL "--\n"),
     GSIM_MP_BAD_HEADER,
     "opening delimiter: line ends in a bare LF; CRLF line ends are required",
     0,
     {{0}}},
    {"boundary followed by other characters",
     BODY(DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "x\r\n" CD "name=b\r\n\r\nw\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "delimiter after part 1: boundary followed by other characters",
     0,
     {{0}}},
    {"one dash after the boundary",
     BODY(DL "-x\r\n"),
     GSIM_MP_BAD_HEADER,
     "opening delimiter: boundary followed by other characters",
     0,
     {{0}}},
    {"CR without LF after a delimiter",
     BODY(DL "\rx"),
     GSIM_MP_BAD_HEADER,
     "opening delimiter: CR without LF",
     0,
     {{0}}},

    /* ---- bad-header: header lines ---- */
    {"header line without ':' in part 2",
     BODY(DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "\r\n" CD "name=b\r\nBogus line\r\n\r\nw\r\n" DL
             "--"),
     GSIM_MP_BAD_HEADER,
     "part 2: header line without ':'",
     0,
     {{0}}},
    {"obsolete line folding",
     BODY(DL "\r\n" CD "name=a;\r\n filename=b\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: folded header line",
     0,
     {{0}}},
    {"NUL byte in a header",
     BODY(DL "\r\n" CD "name=\"a\x00"
             "b\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: NUL byte in the header block",
     0,
     {{0}}},
    {"control character in a header",
     BODY(DL "\r\n" CD "name=\"a\x1b[31m\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: control character 0x1b",
     0,
     {{0}}},
    {"bare LF in a header block",
     BODY(DL "\r\n" CD "name=a\nX: y\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: header line ends in a bare LF",
     0,
     {{0}}},
    {"bare CR in a header block",
     BODY(DL "\r\n" CD "name=a\rX: y\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: CR without LF in the header block",
     0,
     {{0}}},
    {"space before the colon",
     BODY(DL "\r\nContent-Disposition : form-data; name=a\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: header name has a character not allowed",
     0,
     {{0}}},
    {"empty header name",
     BODY(DL "\r\n: x\r\n" CD "name=a\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: header line with an empty name",
     0,
     {{0}}},
    {"two Content-Disposition headers",
     BODY(DL "\r\n" CD "name=a\r\n" CD "name=b\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: two Content-Disposition headers",
     0,
     {{0}}},
    {"two Content-Type headers",
     BODY(DL "\r\n" CD "name=a\r\nContent-Type: a/b\r\ncontent-type: c/d\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: two Content-Type headers",
     0,
     {{0}}},

    /* ---- bad-header: Content-Disposition parameters ---- */
    {"unterminated quoted string",
     BODY(DL "\r\n" CD "name=\"abc\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: unterminated quoted string in parameter 'name'",
     0,
     {{0}}},
    {"quoted string ending in a backslash",
     BODY(DL "\r\n" CD "name=\"abc\\\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "unterminated quoted string",
     0,
     {{0}}},
    {"no ';' between parameters",
     BODY(DL "\r\n" CD "name=\"a\" filename=\"b\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: Content-Disposition: expected ';'",
     0,
     {{0}}},
    {"parameter without '='",
     BODY(DL "\r\n" CD "name\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: parameter 'name' without '='",
     0,
     {{0}}},
    {"parameter without a value",
     BODY(DL "\r\n" CD "name=; filename=x\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: parameter 'name' has no value",
     0,
     {{0}}},
    {"unquoted value with a space",
     BODY(DL "\r\n" CD "name=a; filename=my file.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "expected ';'",
     0,
     {{0}}},
    {"parameter name missing",
     BODY(DL "\r\n" CD "=a\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "parameter name expected",
     0,
     {{0}}},
    {"two name parameters",
     BODY(DL "\r\n" CD "name=a; NAME=b\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "part 1: two 'NAME' parameters",
     0,
     {{0}}},
    {"two filename parameters",
     BODY(DL "\r\n" CD "name=a; filename=b; filename=c\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "two 'filename' parameters",
     0,
     {{0}}},
    {"filename* in another charset",
     BODY(DL "\r\n" CD "name=a; filename*=ISO-8859-1''%E4.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* charset 'ISO-8859-1' is not UTF-8",
     0,
     {{0}}},
    {"filename* without the charset prefix",
     BODY(DL "\r\n" CD "name=a; filename*=a.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* lacks the charset'language' prefix",
     0,
     {{0}}},
    {"filename* quoted",
     BODY(DL "\r\n" CD "name=a; filename*=\"UTF-8''a.crt\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* is not charset'language'value",
     0,
     {{0}}},
    {"filename* decoding to CR",
     BODY(DL "\r\n" CD "name=a; filename*=UTF-8''a%0D.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* decodes to a control character",
     0,
     {{0}}},
    {"filename* with a bad escape",
     BODY(DL "\r\n" CD "name=a; filename*=UTF-8''a%G1.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* has a '%' without two hex digits",
     0,
     {{0}}},
    {"filename* with a cut escape",
     BODY(DL "\r\n" CD "name=a; filename*=UTF-8''a%4\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* has a '%' without two hex digits",
     0,
     {{0}}},
    {"filename* with a third quote",
     BODY(DL "\r\n" CD "name=a; filename*=UTF-8''a'b\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* has a third quote",
     0,
     {{0}}},
    {"filename* with a bad language tag",
     BODY(DL "\r\n" CD "name=a; filename*=UTF-8'e!'a\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_BAD_HEADER,
     "filename* language tag is invalid",
     0,
     {{0}}},

    /* ---- no-disposition ---- */
    {"no Content-Disposition",
     BODY(DL "\r\nContent-Type: text/plain\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_NO_DISPOSITION,
     "part 1: no Content-Disposition header",
     0,
     {{0}}},
    {"no headers at all",
     BODY(DL "\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_NO_DISPOSITION,
     "part 1: no Content-Disposition header",
     0,
     {{0}}},
    {"attachment, not form-data",
     BODY(DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL
             "\r\nContent-Disposition: attachment; name=b\r\n\r\nw\r\n" DL "--"),
     GSIM_MP_NO_DISPOSITION,
     "part 2: Content-Disposition is 'attachment; name=b', not form-data",
     0,
     {{0}}},
    {"no name parameter",
     BODY(DL "\r\n" CD "filename=a.crt\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_NO_DISPOSITION,
     "part 1: Content-Disposition has no name parameter",
     0,
     {{0}}},
    {"empty name",
     BODY(DL "\r\n" CD "name=\"\"\r\n\r\nv\r\n" DL "--"),
     GSIM_MP_NO_DISPOSITION,
     "part 1: empty name parameter",
     0,
     {{0}}},

    /* ---- duplicate-field ---- */
    {"the same field twice",
     BODY(DL "\r\n" CD "name=alias\r\n\r\na\r\n" DL "\r\n" CD "name=endpoint\r\n\r\nb\r\n" DL
             "\r\n" CD "name=\"alias\"\r\n\r\nc\r\n" DL "--"),
     GSIM_MP_DUPLICATE_FIELD,
     "part 3: field 'alias' was already given by part 1",
     0,
     {{0}}},
};

typedef struct boundary_case {
  const char *content_type;
  gsim_mp_status status;
  const char *boundary; /* on success */
} boundary_case;

#define B70 "0123456789012345678901234567890123456789012345678901234567890123456789"

static const boundary_case boundary_cases[] = {
    {"multipart/form-data; boundary=" BND, GSIM_MP_OK, BND},
    {"Multipart/Form-Data; BOUNDARY=\"abc def\"", GSIM_MP_OK, "abc def"},
    {"multipart/form-data;boundary=abc", GSIM_MP_OK, "abc"},
    {" multipart/form-data ; charset=utf-8 ;; boundary = abc ;", GSIM_MP_OK, "abc"},
    {"multipart/form-data; boundary=\"a:b/c=d?e'(f)+_,-.g\"", GSIM_MP_OK, "a:b/c=d?e'(f)+_,-.g"},
    {"multipart/form-data; boundary=\"\\a\\b\"", GSIM_MP_OK, "ab"},
    {"multipart/form-data; x=\"; boundary=no\"; boundary=yes", GSIM_MP_OK, "yes"},
    {"multipart/form-data; boundary=" B70, GSIM_MP_OK, B70},
    {"multipart/form-data; boundary=" B70 "0", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"" B70 "0123456789\"", GSIM_MP_BAD_BOUNDARY, NULL},
    {"", GSIM_MP_NOT_MULTIPART, NULL},
    {"text/plain; boundary=abc", GSIM_MP_NOT_MULTIPART, NULL},
    {"multipart/mixed; boundary=abc", GSIM_MP_NOT_MULTIPART, NULL},
    {"multipart/form-datax; boundary=abc", GSIM_MP_NOT_MULTIPART, NULL},
    {"multipart / form-data; boundary=abc", GSIM_MP_NOT_MULTIPART, NULL},
    {"multipart", GSIM_MP_NOT_MULTIPART, NULL},
    {"application/x-www-form-urlencoded", GSIM_MP_NOT_MULTIPART, NULL},
    {"multipart/form-data", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; charset=utf-8", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"\"", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"abc", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"abc \"", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"a\\\"b\"", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=a*b", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=a; boundary=b", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; Boundary=a; BOUNDARY=a", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data garbage", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; =abc", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=abc def", GSIM_MP_BAD_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"a\rb\"", GSIM_MP_BAD_BOUNDARY, NULL},
};

/* ---- helpers ---------------------------------------------------------- */

/* A copy of len bytes in a buffer of exactly that size (ASan sees overreads). */
static unsigned char *exact_copy(const void *data, size_t len) {
  unsigned char *copy = malloc(len == 0 ? 1 : len);
  assert_non_null(copy);
  if (len > 0 && data != NULL)
    memcpy(copy, data, len);
  return copy;
}

/* Checks what holds whatever the status: on OK the parts are inside the body
 * and well formed, on failure the form is empty and there is a reason. */
static void check_consistent(const unsigned char *body, size_t len, gsim_mp_status st,
                             const gsim_mp_form *form, const char *why, size_t why_size) {
  assert_non_null(memchr(why, '\0', why_size));
  if (st != GSIM_MP_OK) {
    assert_int_equal(0, form->count);
    assert_true(why[0] != '\0');
    assert_string_not_equal("unknown", gsim_mp_status_name(st));
    return;
  }
  assert_string_equal("", why);
  assert_true(form->count >= 1 && form->count <= GSIM_MP_MAX_PARTS);
  for (size_t i = 0; i < form->count; i++) {
    const gsim_mp_part *p = &form->parts[i];
    assert_true(p->data >= body && p->len <= len && (size_t)(p->data - body) <= len - p->len);
    assert_non_null(memchr(p->name, '\0', sizeof(p->name)));
    assert_non_null(memchr(p->filename, '\0', sizeof(p->filename)));
    assert_non_null(memchr(p->content_type, '\0', sizeof(p->content_type)));
    assert_true(p->name[0] != '\0');
    assert_true(p->has_filename || p->filename[0] == '\0');
    assert_ptr_equal(p, gsim_mp_find(form, p->name));
  }
}

/* Parses len bytes of data (copied) with boundary; checks consistency. */
static gsim_mp_status parse_copy(const void *data, size_t len, const char *boundary,
                                 gsim_mp_form *form, char *why, size_t why_size) {
  unsigned char *copy = exact_copy(data, len);
  gsim_mp_status st = gsim_mp_parse(copy, len, boundary, form, why, why_size);
  check_consistent(copy, len, st, form, why, why_size);
  /* the parts point into copy: rebase them onto data before copy goes away */
  for (size_t i = 0; i < form->count; i++)
    form->parts[i].data = (const unsigned char *)data + (form->parts[i].data - copy);
  free(copy);
  return st;
}

static void expect_status(gsim_mp_status want, gsim_mp_status got, const char *label,
                          const char *why) {
  if (want != got)
    fail_msg("%s: expected %s, got %s (%s)", label, gsim_mp_status_name(want),
             gsim_mp_status_name(got), why);
}

static void expect_why(const char *label, const char *why, const char *want) {
  if (strstr(why, want) == NULL)
    fail_msg("%s: reason '%s' does not contain '%s'", label, why, want);
}

/* ---- the tables ------------------------------------------------------- */

static void test_body_table(void **state) {
  (void)state;
  size_t n = sizeof(body_cases) / sizeof(body_cases[0]);
  gsim_mp_form form;
  char why[256];
  for (size_t i = 0; i < n; i++) {
    const body_case *c = &body_cases[i];
    gsim_mp_status st = parse_copy(c->body, c->len, BND, &form, why, sizeof(why));
    expect_status(c->status, st, c->label, why);
    if (c->why != NULL)
      expect_why(c->label, why, c->why);
    if (form.count != c->count)
      fail_msg("%s: %zu parts, expected %zu", c->label, form.count, c->count);
    for (size_t k = 0; k < c->count; k++) {
      const want_part *w = &c->parts[k];
      const gsim_mp_part *p = &form.parts[k];
      if (strcmp(w->name, p->name) != 0)
        fail_msg("%s: part %zu: name '%s', expected '%s'", c->label, k + 1, p->name, w->name);
      assert_int_equal(w->filename != NULL, p->has_filename);
      assert_string_equal(w->filename != NULL ? w->filename : "", p->filename);
      assert_string_equal(w->type, p->content_type);
      if (w->len != p->len || memcmp(w->data, p->data, w->len) != 0)
        fail_msg("%s: part %zu: %zu content bytes differ from the %zu expected", c->label, k + 1,
                 p->len, w->len);
    }
  }
  print_message("%zu body cases\n", n);
}

static void test_boundary_table(void **state) {
  (void)state;
  size_t n = sizeof(boundary_cases) / sizeof(boundary_cases[0]);
  for (size_t i = 0; i < n; i++) {
    const boundary_case *c = &boundary_cases[i];
    char boundary[GSIM_MP_BOUNDARY_MAX];
    memset(boundary, 'x', sizeof(boundary));
    gsim_mp_status st = gsim_mp_boundary(c->content_type, boundary, sizeof(boundary));
    expect_status(c->status, st, c->content_type, boundary);
    assert_string_equal(c->status == GSIM_MP_OK ? c->boundary : "", boundary);
  }
  char small[4];
  assert_int_equal(GSIM_MP_BAD_BOUNDARY,
                   gsim_mp_boundary("multipart/form-data; boundary=abcd", small, sizeof(small)));
  assert_string_equal("", small);
  assert_int_equal(GSIM_MP_OK,
                   gsim_mp_boundary("multipart/form-data; boundary=abc", small, sizeof(small)));
  assert_string_equal("abc", small);
  assert_int_equal(GSIM_MP_NOT_MULTIPART, gsim_mp_boundary(NULL, small, sizeof(small)));
  assert_int_equal(GSIM_MP_BAD_BOUNDARY,
                   gsim_mp_boundary("multipart/form-data; boundary=abc", NULL, 0));
  print_message("%zu boundary cases\n", n);
}

/* gsim_mp_parse checks the boundary it is given too. */
static void test_parse_rejects_bad_boundaries(void **state) {
  (void)state;
  static const struct {
    const char *boundary;
    const char *why;
  } cases[] = {
      {"", "boundary is empty"},
      {B70 "0", "boundary is longer than 70 characters"},
      {"a\r\nb", "boundary has a character RFC 2046 does not allow"},
      {"abc ", "boundary ends in a space"},
  };
  const char body[] = DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "--";
  gsim_mp_form form;
  char why[256];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gsim_mp_status st =
        parse_copy(body, sizeof(body) - 1, cases[i].boundary, &form, why, sizeof(why));
    expect_status(GSIM_MP_BAD_BOUNDARY, st, cases[i].boundary, why);
    expect_why(cases[i].boundary, why, cases[i].why);
  }
  assert_int_equal(
      GSIM_MP_BAD_BOUNDARY,
      gsim_mp_parse((const unsigned char *)body, sizeof(body) - 1, NULL, &form, why, sizeof(why)));
  /* a boundary with a space and the 70-character maximum work end to end */
  const char spaced[] = "--a b\r\n" CD "name=a\r\n\r\nv\r\n--a b--";
  assert_int_equal(GSIM_MP_OK,
                   parse_copy(spaced, sizeof(spaced) - 1, "a b", &form, why, sizeof(why)));
  const char longest[] = "--" B70 "\r\n" CD "name=a\r\n\r\nv\r\n--" B70 "--";
  assert_int_equal(GSIM_MP_OK,
                   parse_copy(longest, sizeof(longest) - 1, B70, &form, why, sizeof(why)));
}

/* why may be NULL or small; the status is the same. */
static void test_reason_buffer(void **state) {
  (void)state;
  const char body[] = DL "\r\nBogus\r\n\r\nv\r\n" DL "--";
  gsim_mp_form form;
  assert_int_equal(GSIM_MP_BAD_HEADER, gsim_mp_parse((const unsigned char *)body, sizeof(body) - 1,
                                                     BND, &form, NULL, 0));
  char tiny[8];
  assert_int_equal(GSIM_MP_BAD_HEADER, gsim_mp_parse((const unsigned char *)body, sizeof(body) - 1,
                                                     BND, &form, tiny, sizeof(tiny)));
  assert_string_equal("part 1:", tiny);
  assert_int_equal(GSIM_MP_NO_DELIMITER, gsim_mp_parse(NULL, 0, BND, &form, tiny, sizeof(tiny)));
  /* a failed parse leaves nothing of the parts it had read */
  const char later[] = DL "\r\n" CD "name=a\r\n\r\nv\r\n" DL "\r\nBogus\r\n\r\nv\r\n" DL "--";
  memset(&form, 0x5a, sizeof(form));
  char why[128];
  assert_int_equal(GSIM_MP_BAD_HEADER,
                   parse_copy(later, sizeof(later) - 1, BND, &form, why, sizeof(why)));
  assert_int_equal(0, form.count);
  assert_null(form.parts[0].data);
  assert_string_equal("", form.parts[0].name);
}

static void test_status_names_and_find(void **state) {
  (void)state;
  const char *seen[GSIM_MP_DUPLICATE_FIELD + 1];
  for (int s = GSIM_MP_OK; s <= GSIM_MP_DUPLICATE_FIELD; s++) {
    seen[s] = gsim_mp_status_name((gsim_mp_status)s);
    assert_string_not_equal("unknown", seen[s]);
    for (int k = 0; k < s; k++)
      assert_string_not_equal(seen[k], seen[s]);
  }
  assert_string_equal("ok", gsim_mp_status_name(GSIM_MP_OK));
  assert_string_equal("duplicate-field", gsim_mp_status_name(GSIM_MP_DUPLICATE_FIELD));
  assert_string_equal("unknown", gsim_mp_status_name((gsim_mp_status)99));

  gsim_mp_form form;
  char why[128];
  assert_int_equal(GSIM_MP_OK,
                   parse_copy(CURL_BODY, sizeof(CURL_BODY) - 1, BND, &form, why, sizeof(why)));
  assert_ptr_equal(&form.parts[1], gsim_mp_find(&form, "alias"));
  assert_null(gsim_mp_find(&form, "Alias"));
  assert_null(gsim_mp_find(&form, "missing"));
  assert_null(gsim_mp_find(&form, NULL));
  assert_null(gsim_mp_find(NULL, "alias"));
}

/* ---- limits ----------------------------------------------------------- */

/* A growing body in a fixed buffer. */
typedef struct buf {
  char *data;
  size_t len;
  size_t cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n) {
  if (n == 0)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap == 0 ? 4096 : b->cap;
    while (cap < b->len + n)
      cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL)
      abort();
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_fill(buf *b, char c, size_t n) {
  for (size_t i = 0; i < n; i++)
    buf_add(b, &c, 1);
}

/* Parses b with curl's boundary, expecting status and a reason substring. */
static void expect_buf(const buf *b, gsim_mp_status want, const char *reason, const char *label) {
  gsim_mp_form form;
  char why[256];
  gsim_mp_status st = parse_copy(b->data, b->len, BND, &form, why, sizeof(why));
  expect_status(want, st, label, why);
  if (reason != NULL)
    expect_why(label, why, reason);
}

/* One part whose Content-Disposition has a name of name_len characters,
 * a filename of file_len characters (none when 0) and a Content-Type of
 * type_len characters (none when 0). */
static void limit_body(buf *b, size_t name_len, size_t file_len, size_t type_len) {
  b->len = 0;
  buf_str(b, DL "\r\n" CD "name=\"");
  buf_fill(b, 'n', name_len);
  buf_str(b, "\"");
  if (file_len > 0) {
    buf_str(b, "; filename=\"");
    buf_fill(b, 'f', file_len);
    buf_str(b, "\"");
  }
  buf_str(b, "\r\n");
  if (type_len > 0) {
    buf_str(b, "Content-Type: ");
    buf_fill(b, 't', type_len);
    buf_str(b, "\r\n");
  }
  buf_str(b, "\r\nv\r\n" DL "--\r\n");
}

static void test_name_limits(void **state) {
  (void)state;
  buf b = {0};
  limit_body(&b, GSIM_MP_NAME_MAX - 1, 0, 0);
  expect_buf(&b, GSIM_MP_OK, NULL, "name of 127");
  limit_body(&b, GSIM_MP_NAME_MAX, 0, 0);
  expect_buf(&b, GSIM_MP_NAME_TOO_LONG, "part 1: field name is 128 bytes, the limit is 127",
             "name of 128");
  limit_body(&b, 5000, 0, 0);
  expect_buf(&b, GSIM_MP_NAME_TOO_LONG, "field name is 5000 bytes", "name of 5000");
  limit_body(&b, 1, GSIM_MP_FILENAME_MAX - 1, 0);
  expect_buf(&b, GSIM_MP_OK, NULL, "filename of 255");
  limit_body(&b, 1, GSIM_MP_FILENAME_MAX, 0);
  expect_buf(&b, GSIM_MP_NAME_TOO_LONG, "part 1: file name is 256 bytes, the limit is 255",
             "filename of 256");
  limit_body(&b, 1, 0, GSIM_MP_TYPE_MAX - 1);
  expect_buf(&b, GSIM_MP_OK, NULL, "Content-Type of 127");
  limit_body(&b, 1, 0, GSIM_MP_TYPE_MAX);
  expect_buf(&b, GSIM_MP_BAD_HEADER, "part 1: Content-Type is 128 bytes, the limit is 127",
             "Content-Type of 128");

  /* filename*: 85 euro signs (3 bytes each) decode to 255 bytes, 86 to 258 */
  for (int extra = 0; extra < 2; extra++) {
    b.len = 0;
    buf_str(&b, DL "\r\n" CD "name=a; filename*=UTF-8''");
    for (int i = 0; i < 85 + extra; i++)
      buf_str(&b, "%E2%82%AC");
    buf_str(&b, "\r\n\r\nv\r\n" DL "--");
    if (extra == 0)
      expect_buf(&b, GSIM_MP_OK, NULL, "filename* of 255");
    else
      expect_buf(&b, GSIM_MP_NAME_TOO_LONG, "file name (filename*) is 258", "filename* of 86");
  }
  free(b.data);
}

/* A header block of exactly size bytes (its lines, their CRLFs and the empty
 * line's CRLF), padded with an X-Pad header. */
static void header_block_body(buf *b, size_t size) {
  size_t fixed = strlen(CD "name=a\r\n") + strlen("X-Pad: \r\n") + 2;
  assert_true(size >= fixed);
  b->len = 0;
  buf_str(b, DL "\r\n" CD "name=a\r\nX-Pad: ");
  buf_fill(b, 'p', size - fixed);
  buf_str(b, "\r\n\r\nv\r\n" DL "--\r\n");
}

static void test_header_block_limit(void **state) {
  (void)state;
  buf b = {0};
  header_block_body(&b, GSIM_MP_MAX_HEADER_BLOCK);
  expect_buf(&b, GSIM_MP_OK, NULL, "header block of 8192");
  header_block_body(&b, GSIM_MP_MAX_HEADER_BLOCK + 1);
  expect_buf(&b, GSIM_MP_BAD_HEADER, "part 1: header block longer than 8192 bytes",
             "header block of 8193");
  header_block_body(&b, 1 << 20);
  expect_buf(&b, GSIM_MP_BAD_HEADER, "header block longer than 8192 bytes", "header block of 1M");
  /* many short lines count the same */
  b.len = 0;
  buf_str(&b, DL "\r\n" CD "name=a\r\n");
  for (int i = 0; i < 3000; i++)
    buf_str(&b, "X: y\r\n");
  buf_str(&b, "\r\nv\r\n" DL "--");
  expect_buf(&b, GSIM_MP_BAD_HEADER, "header block longer than 8192 bytes", "3000 header lines");
  free(b.data);
}

static void parts_body(buf *b, int parts) {
  b->len = 0;
  for (int i = 0; i < parts; i++) {
    char line[160];
    snprintf(line, sizeof(line), DL "\r\n" CD "name=\"field%d\"\r\n\r\nvalue %d\r\n", i + 1, i + 1);
    buf_str(b, line);
  }
  buf_str(b, DL "--\r\n");
}

static void test_part_limit(void **state) {
  (void)state;
  buf b = {0};
  parts_body(&b, GSIM_MP_MAX_PARTS);
  gsim_mp_form form;
  char why[256];
  assert_int_equal(GSIM_MP_OK, parse_copy(b.data, b.len, BND, &form, why, sizeof(why)));
  assert_int_equal(GSIM_MP_MAX_PARTS, form.count);
  assert_string_equal("field16", form.parts[15].name);
  assert_memory_equal("value 16", form.parts[15].data, 8);
  parts_body(&b, GSIM_MP_MAX_PARTS + 1);
  expect_buf(&b, GSIM_MP_TOO_MANY_PARTS, "part 17: more than 16 parts", "17 parts");
  parts_body(&b, 1000);
  expect_buf(&b, GSIM_MP_TOO_MANY_PARTS, "part 17: more than 16 parts", "1000 parts");
  free(b.data);
}

/* ---- content ---------------------------------------------------------- */

/* A real certificate's DER and every byte value, as curl sends a file. */
static void test_binary_content(void **state) {
  (void)state;
  gcert_item cert = {0};
  test_issue(GCERT_KIND_SERVER, NULL, NULL, &cert);
  unsigned char *der = NULL;
  int der_len = i2d_X509(cert.cert, &der);
  assert_true(der_len > 0);

  unsigned char bytes[2 * 256 + 8];
  for (size_t i = 0; i < 512; i++)
    bytes[i] = (unsigned char)(i % 256);
  static const unsigned char tail[8] = {'\r', '\n', '-', '-', '\r', '\n', '\r', '\n'};
  memcpy(bytes + 512, tail, sizeof(tail));

  buf b = {0};
  buf_str(&b, "preamble " DL "\r\n" DL "\r\n" CD "name=\"certificate\"; filename=\"server.der\"\r\n"
              "Content-Type: application/pkix-cert\r\n\r\n");
  buf_add(&b, der, (size_t)der_len);
  buf_str(&b, "\r\n" DL "\r\n" CD "name=\"bytes\"; filename=\"all.bin\"\r\n"
              "Content-Type: application/octet-stream\r\n\r\n");
  buf_add(&b, bytes, sizeof(bytes));
  buf_str(&b, "\r\n" DL "--\r\n");

  gsim_mp_form form;
  char why[256];
  gsim_mp_status st = parse_copy(b.data, b.len, BND, &form, why, sizeof(why));
  expect_status(GSIM_MP_OK, st, "DER and all bytes", why);
  assert_int_equal(2, form.count);
  const gsim_mp_part *p = gsim_mp_find(&form, "certificate");
  assert_non_null(p);
  assert_string_equal("server.der", p->filename);
  assert_int_equal((size_t)der_len, p->len);
  assert_memory_equal(der, p->data, (size_t)der_len);
  const unsigned char *q = p->data;
  X509 *back = d2i_X509(NULL, &q, (long)p->len);
  assert_non_null(back);
  assert_true(test_same_cert(cert.cert, back));
  X509_free(back);
  p = gsim_mp_find(&form, "bytes");
  assert_non_null(p);
  assert_int_equal(sizeof(bytes), p->len);
  assert_memory_equal(bytes, p->data, sizeof(bytes));
  OPENSSL_free(der);
  gcert_item_free(&cert);
  free(b.data);
}

/* ---- truncation and mutation ------------------------------------------ */

/* Valid bodies (they hold NUL bytes, hence the lengths). */
typedef struct sized {
  const char *data;
  size_t len;
} sized;
#define SIZED(s)                                                                                   \
  { (s), sizeof(s) - 1 }

static const sized valid_bodies[] = {
    SIZED(CURL_BODY),
    SIZED("preamble\r\n" DL " \r\n" CD "name=a; filename*=UTF-8''%C3%A4\r\nContent-Type: a/b\r\n"
          "\r\n\r\n" DL "\r\n" CD "name=\"b\\\"\"\r\n\r\n" BIN_OK "\r\n" DL "--\r\nepilogue"),
};

/* Every prefix that stops before the end of the close delimiter fails; from
 * there on (epilogue) every prefix parses to the same parts. */
static void test_every_prefix(void **state) {
  (void)state;
  size_t runs = 0;
  for (size_t v = 0; v < sizeof(valid_bodies) / sizeof(valid_bodies[0]); v++) {
    const char *full = valid_bodies[v].data;
    size_t len = valid_bodies[v].len;
    const char *close = memmem(full, len, "\r\n" DL "--", strlen("\r\n" DL "--"));
    assert_non_null(close);
    size_t close_end = (size_t)(close - full) + strlen("\r\n" DL "--");
    gsim_mp_form whole;
    char why[256];
    assert_int_equal(GSIM_MP_OK, parse_copy(full, len, BND, &whole, why, sizeof(why)));
    for (size_t n = 0; n <= len; n++, runs++) {
      gsim_mp_form form;
      gsim_mp_status st = parse_copy(full, n, BND, &form, why, sizeof(why));
      if (n < close_end && st == GSIM_MP_OK)
        fail_msg("body %zu cut to %zu of %zu bytes parsed OK", v, n, len);
      if (n >= close_end) {
        expect_status(GSIM_MP_OK, st, "prefix with the close delimiter", why);
        assert_int_equal(whole.count, form.count);
      }
    }
  }
  print_message("%zu prefixes\n", runs);
}

/* Every byte changed to interesting values, and bytes inserted everywhere:
 * whatever the status, the result is consistent (parse_copy checks it). */
static void test_byte_flips(void **state) {
  (void)state;
  static const unsigned char values[] = {0x00, '\r', '\n', '-', '"', '\\', ';', ' ', ':', 0xff};
  static const unsigned char masks[] = {0x01, 0x20, 0x80};
  size_t runs = 0;
  size_t ok = 0;
  for (size_t v = 0; v < sizeof(valid_bodies) / sizeof(valid_bodies[0]); v++) {
    size_t len = valid_bodies[v].len;
    unsigned char *m = malloc(len + 1);
    assert_non_null(m);
    gsim_mp_form form;
    char why[256];
    for (size_t i = 0; i < len; i++) {
      for (size_t k = 0; k < sizeof(values) + sizeof(masks); k++, runs++) {
        memcpy(m, valid_bodies[v].data, len);
        m[i] = k < sizeof(values) ? values[k] : (unsigned char)(m[i] ^ masks[k - sizeof(values)]);
        ok += parse_copy(m, len, BND, &form, why, sizeof(why)) == GSIM_MP_OK;
      }
      for (size_t k = 0; k < sizeof(values); k++, runs++) {
        memcpy(m, valid_bodies[v].data, i);
        m[i] = values[k];
        memcpy(m + i + 1, valid_bodies[v].data + i, len - i);
        ok += parse_copy(m, len + 1, BND, &form, why, sizeof(why)) == GSIM_MP_OK;
      }
    }
    free(m);
  }
  print_message("%zu mutated bodies, %zu still parse\n", runs, ok);
}

/* ---- hostile bodies ---------------------------------------------------- */

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 10 MiB (the HTTP layer's bound) of a repeated fragment after head. */
static void hostile(const char *label, const char *boundary, const char *head, const char *fragment,
                    gsim_mp_status want, const char *reason) {
  const size_t size = 10u << 20;
  unsigned char *body = malloc(size);
  assert_non_null(body);
  size_t h = strlen(head);
  size_t f = strlen(fragment);
  for (size_t i = 0; i < size; i++)
    body[i] = (unsigned char)(i < h ? head[i] : fragment[(i - h) % f]);
  gsim_mp_form form;
  char why[256];
  gsim_mp_status st = GSIM_MP_OK;
  double best = 1e9; /* the best of three: the figure is the parser's, not the machine's load */
  for (int run = 0; run < 3; run++) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = gsim_mp_parse(body, size, boundary, &form, why, sizeof(why));
    double s = seconds_since(&t0);
    best = s < best ? s : best;
    check_consistent(body, size, st, &form, why, sizeof(why));
    expect_status(want, st, label, why);
    expect_why(label, why, reason);
  }
  print_message("hostile 10 MiB, %s: %s in %.3f ms\n", label, gsim_mp_status_name(st), best * 1e3);
  free(body);
}

/* The client picks the boundary too: one of 70 'a's makes every position of
 * a body of 'a's a partial match for a naive search. */
#define A10 "aaaaaaaaaa"
#define A69 A10 A10 A10 A10 A10 A10 "aaaaaaaaa"
#define A70 A69 "a"

static void test_hostile_giant_bodies(void **state) {
  (void)state;
  const char *open = DL "\r\n" CD "name=a\r\n\r\n";
  hostile("content of \"\\r\\n--\"", BND, open, "\r\n--", GSIM_MP_TRUNCATED,
          "body ends inside the content");
  hostile("content of near-delimiters", BND, open, "\r\n" DL "x", GSIM_MP_BAD_HEADER,
          "boundary followed by other characters");
  hostile("content of delimiters cut short", BND, open,
          "\r\n--------------------------d74496d66958873", GSIM_MP_TRUNCATED,
          "body ends inside the content");
  hostile("content of delimiters off by the last byte", BND, open,
          "\r\n--------------------------d74496d66958873f", GSIM_MP_TRUNCATED,
          "body ends inside the content");
  hostile("content of delimiters off by the first byte", BND, open,
          "\r\n-x------------------------d74496d66958873e", GSIM_MP_TRUNCATED,
          "body ends inside the content");
  hostile("preamble of \"\\r\\n--\"", BND, "", "\r\n--", GSIM_MP_NO_DELIMITER, "no delimiter line");
  hostile("preamble of dashes", BND, "", "-", GSIM_MP_NO_DELIMITER, "no delimiter line");
  hostile("preamble of CRs", BND, "", "\r", GSIM_MP_NO_DELIMITER, "no delimiter line");
  hostile("preamble of LFs", BND, "", "\n", GSIM_MP_NO_DELIMITER, "no delimiter line");
  hostile("content of CRs", BND, open, "\r", GSIM_MP_TRUNCATED, "body ends inside the content");
  hostile("preamble of LF delimiters", BND, "", "\n" DL, GSIM_MP_NO_DELIMITER, "bare LFs");
  hostile("delimiter lines", BND, "", DL "\r\n", GSIM_MP_BAD_HEADER,
          "part 1: delimiter inside the header block");
  hostile("empty parts", BND, "", DL "\r\n" CD "name=a\r\n\r\n\r\n", GSIM_MP_DUPLICATE_FIELD,
          "part 2: field 'a' was already given by part 1");
  hostile("one header line", BND, DL "\r\nX: ", "y", GSIM_MP_BAD_HEADER,
          "header block longer than");
  hostile("padding", BND, DL, " ", GSIM_MP_TRUNCATED, "body ends after the boundary");

  const char *open_a = "--" A70 "\r\n" CD "name=a\r\n\r\n";
  hostile("boundary of 70 'a', content of 'a'", A70, open_a, "a", GSIM_MP_TRUNCATED,
          "body ends inside the content");
  hostile("boundary of 70 'a', content of CRLF--69 'a'", A70, open_a, "\r\n--" A69,
          GSIM_MP_TRUNCATED, "body ends inside the content");
  hostile("boundary of 70 'a', content of CRLF--69 'a' b", A70, open_a, "\r\n--" A69 "b",
          GSIM_MP_TRUNCATED, "body ends inside the content");
  hostile("boundary of 70 'a', content of CRLF-70 'a'", A70, open_a, "\r\n-" A70, GSIM_MP_TRUNCATED,
          "body ends inside the content");
  hostile("boundary of 70 'a', preamble of 'a'", A70, "", "a", GSIM_MP_NO_DELIMITER,
          "no delimiter line");
  hostile("boundary of 70 'a', preamble of CR LF - a", A70, "", "\r\n-a\r\n--a",
          GSIM_MP_NO_DELIMITER, "no delimiter line");
}

/* ---- the seed corpus --------------------------------------------------- */

/* Each file in fixtures/multipart (except README.md) is the fuzz input
 * format: a Content-Type line, then the body. Its name starts with the status
 * expected and "--" (e.g. "bad-header--folded.mp"). */
static void test_seed_corpus(void **state) {
  (void)state;
  const char *dir = test_fixture_path("multipart");
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  assert_true(n > 0);
  int checked = 0;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    const char *dash = strstr(name, "--");
    if (name[0] == '.' || strcmp(name, "README.md") == 0) {
      free(names[i]);
      continue;
    }
    if (dash == NULL)
      fail_msg("%s/%s: name does not start with '<status>--'", dir, name);
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char data[1 << 16];
    size_t len = fread(data, 1, sizeof(data), f);
    assert_true(feof(f));
    fclose(f);
    const unsigned char *nl = memchr(data, '\n', len);
    if (nl == NULL || nl - data > 200) {
      fail_msg("%s: no Content-Type line", path);
      return; /* not reached: fail_msg does not return */
    }
    char type[201];
    size_t tlen = (size_t)(nl - data);
    memcpy(type, data, tlen);
    type[tlen] = '\0';
    if (tlen > 0 && type[tlen - 1] == '\r')
      type[tlen - 1] = '\0';
    char boundary[GSIM_MP_BOUNDARY_MAX];
    gsim_mp_status st = gsim_mp_boundary(type, boundary, sizeof(boundary));
    gsim_mp_form form;
    char why[256] = "";
    if (st == GSIM_MP_OK)
      st = parse_copy(nl + 1, len - tlen - 1, boundary, &form, why, sizeof(why));
    const char *got = gsim_mp_status_name(st);
    if (strlen(got) != (size_t)(dash - name) || strncmp(got, name, strlen(got)) != 0)
      fail_msg("%s: got %s (%s)", path, got, why);
    if (st == GSIM_MP_OK) {
      /* no prefix that stops before the close delimiter's end parses */
      char close[GSIM_MP_BOUNDARY_MAX + 8];
      int clen = snprintf(close, sizeof(close), "\r\n--%s--", boundary);
      const unsigned char *at = memmem(nl + 1, len - tlen - 1, close, (size_t)clen);
      assert_non_null(at);
      for (size_t cut = 0; cut < (size_t)(at + clen - (nl + 1)); cut++) {
        if (parse_copy(nl + 1, cut, boundary, &form, why, sizeof(why)) == GSIM_MP_OK)
          fail_msg("%s: cut to %zu bytes parsed OK", path, cut);
      }
    }
    checked++;
    free(names[i]);
  }
  free(names);
  print_message("%d seed files\n", checked);
  assert_true(checked >= 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_body_table),
      cmocka_unit_test(test_boundary_table),
      cmocka_unit_test(test_parse_rejects_bad_boundaries),
      cmocka_unit_test(test_reason_buffer),
      cmocka_unit_test(test_status_names_and_find),
      cmocka_unit_test(test_name_limits),
      cmocka_unit_test(test_header_block_limit),
      cmocka_unit_test(test_part_limit),
      cmocka_unit_test(test_binary_content),
      cmocka_unit_test(test_every_prefix),
      cmocka_unit_test(test_byte_flips),
      cmocka_unit_test(test_hostile_giant_bodies),
      cmocka_unit_test(test_seed_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
