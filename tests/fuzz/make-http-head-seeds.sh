#!/usr/bin/env bash
# make-http-head-seeds.sh - regenerates the seed corpus of fuzz_http_head.c,
# fixtures/http-head/: raw requests as a client (or an attacker) writes them,
# one file each - the framing rows of issue 15 (two Content-Lengths,
# "Transfer-Encoding :", "+5", a length past 64 bits) and the ones a reviewer
# adds (obs-fold, NUL in a header, bare LF, bare CR, absolute-form targets,
# Host duplicates, chunked with extensions and trailers, HTTP/1.0 with
# Transfer-Encoding, pipelined requests). Seeds libFuzzer found later (merged
# with -merge=1) are kept: this script rewrites only the seed-*.bin files.
set -euo pipefail
here=$(cd "$(dirname "$0")/../../fixtures/http-head" && pwd)
rm -f "$here"/seed-*.bin
seed() { printf "$2" >"$here/seed-$1.bin"; }
seed get 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'
seed get-10 'GET /x?y=1 HTTP/1.0\r\n\r\n'
seed post-cl 'POST /api/1.0/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello'
seed two-cl 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 30\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'
seed two-cl-equal 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'
seed cl-list 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello'
seed cl-plus 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello'
seed cl-huge 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\nx'
seed cl-over 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\nx'
seed cl-negative 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n'
seed te-space-colon 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
seed te-chunked 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer-X: y\r\n\r\n'
seed te-and-cl 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n'
seed te-gzip-chunked 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
seed te-not-chunked 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'
seed te-http10 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
seed te-two 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
seed chunk-hex 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n'
seed obs-fold 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n'
seed nul-in-value 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n'
seed nul-in-name 'GET / HTTP/1.1\r\nHost: a\r\nX\0A: b\r\n\r\n'
seed bare-lf 'GET / HTTP/1.1\nHost: a\nX-A: b\n\n'
seed bare-cr 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rX-B: c\r\n\r\n'
seed absolute-form 'GET http://b.example/x HTTP/1.1\r\nHost: a\r\n\r\n'
seed host-two 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
seed host-none 'GET / HTTP/1.1\r\n\r\n'
seed host-bad 'GET / HTTP/1.1\r\nHost: a b:x\r\n\r\n'
seed name-space 'GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n'
seed connection-names 'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n\r\n'
seed expect 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi'
seed version-09 'GET / HTTP/0.9\r\n\r\n'
seed version-2 'GET / HTTP/2.0\r\nHost: a\r\n\r\n'
seed version-11x 'GET / HTTP/1.9\r\nHost: a\r\n\r\n'
seed double-space 'GET  /x HTTP/1.1\r\nHost: a\r\n\r\n'
seed method-unknown 'BREW / HTTP/1.1\r\nHost: a\r\n\r\n'
seed pipelined 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx'
echo "make-http-head-seeds: $(find "$here" -name 'seed-*.bin' | wc -l) seeds in $here"
