#!/usr/bin/env bash
# make-cert-header-seeds.sh - regenerates the seed corpus of fuzz_cert_header.c,
# fixtures/cert-header/.
#
# Each seed is the mode byte (1: client_certificate_encode true, 0: false)
# and a header value as load balancers send it, made from the first
# certificate of fixtures/keystores/openssl-chain.pem and an EC certificate
# the openssl CLI makes: nginx's $ssl_client_escaped_cert (URL-encoded PEM),
# base64 of DER, base64 of PEM, HAProxy's base64 DER, PEM with spaces for
# newlines, and broken ones (trailing bytes, two certificates, no END line).
# Seeds libFuzzer found later (merged with -merge=1) are kept: this script
# rewrites only the seed-*.bin files.
set -euo pipefail
here=$(cd "$(dirname "$0")/../../fixtures/cert-header" && pwd)
fixtures=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seed() { # seed NAME BYTE (the value on stdin)
  { printf "\\x$(printf %02x "$2")"; cat; } >"$here/seed-$1.bin"
}
urlenc() { # RFC 3986: everything but unreserved characters as %XX
  od -An -v -tx1 | tr -s ' \n' '\n\n' | grep -v '^$' | while read -r h; do
    case $h in
    2d | 2e | 5f | 7e | 3[0-9] | 4[1-9a-f] | 5[0-9a] | 6[1-9a-f] | 7[0-9a]) printf "\\x$h" ;;
    *) printf '%%%s' "$(printf %s "$h" | tr a-f A-F)" ;;
    esac
  done
}
rm -f "$here"/seed-*.bin
openssl x509 -in "$fixtures/keystores/openssl-chain.pem" -out "$tmp/rsa.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ec.key" \
  -subj "/CN=lb client/O=gatecert" -days 1 -out "$tmp/ec.pem" 2>/dev/null
for c in rsa ec; do
  openssl x509 -in "$tmp/$c.pem" -outform DER -out "$tmp/$c.der"
  urlenc <"$tmp/$c.pem" | seed "$c-nginx-escaped-pem" 1
  base64 -w0 "$tmp/$c.der" | seed "$c-base64-der" 1
  base64 -w0 "$tmp/$c.der" | urlenc | seed "$c-url-base64-der" 1
  base64 -w0 "$tmp/$c.pem" | seed "$c-base64-pem" 1
  tr '\n' ' ' <"$tmp/$c.pem" | seed "$c-pem-spaces" 0
  tr '\n' '\t' <"$tmp/$c.pem" | seed "$c-pem-tabs" 0
  tr '\n' ' ' <"$tmp/$c.pem" | seed "$c-pem-spaces-as-encoded" 1
done
{ cat "$tmp/rsa.der"; printf 'junk'; } | base64 -w0 | seed trailing-bytes 1
cat "$tmp/rsa.pem" "$tmp/ec.pem" | tr '\n' ' ' | seed two-pems 0
head -c 300 "$tmp/ec.pem" | tr '\n' ' ' | seed no-end-line 0
printf 'not base64!' | seed not-base64 1
printf '%%zz%%' | seed bad-percent 1
echo "make-cert-header-seeds: $(find "$here" -name 'seed-*.bin' | wc -l) seeds in $here"
