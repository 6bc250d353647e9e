#!/usr/bin/env bash
# make-jwt-seeds.sh - regenerates the seed corpus of fuzz_jwt.c, fixtures/jwt/.
#
# Each seed is fuzz_jwt.c's mode byte (its top comment: bits 0-1 the rules,
# bits 2-3 the mode, bit 4 the key's alg) and then the rest: Authorization
# header values (tokens whose signature cannot verify, as a client could send
# them: the check gets as far as the key manager and gjwt_verify), claims the
# target signs itself, and key manager keys made by the openssl CLI. Seeds
# libFuzzer found later (merged with -merge=1) are kept: this script rewrites
# only the seed-*.bin files.
set -euo pipefail
here=$(cd "$(dirname "$0")/../../fixtures/jwt" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
b64url() { basenc --base64url -w0 | tr -d '='; }
seed() { # seed NAME BYTE (the rest on stdin)
  { printf "\\x$(printf %02x "$2")"; cat; } >"$here/seed-$1.bin"
}
token() { # token HEADER-JSON CLAIMS-JSON: a compact JWS with a made-up signature
  printf '%s.%s.%s' "$(printf '%s' "$1" | b64url)" "$(printf '%s' "$2" | b64url)" \
    "$(head -c 64 /dev/zero | tr '\0' 'A' | b64url)"
}
rm -f "$here"/seed-*.bin
rs='{"alg":"RS256","typ":"JWT"}'
es='{"alg":"ES256","typ":"JWT"}'
good='{"iss":"https://rs.example","exp":1893459600,"azp":"client-a"}'
# mode 0: header values, for each of the four rule choices
for p in 0 1 2 3; do
  printf 'Bearer %s' "$(token "$rs" "$good")" | seed "header-rs-p$p" $p
done
printf 'Bearer %s' "$(token "$es" '{"iss":"https://es.example","client_id":"c"}')" | seed header-es 0
printf 'bearer\t %s \t' "$(token '{"alg":"none"}' '{"iss":"https://rs.example"}')" | seed header-none 0
printf 'Bearer %s' "$(token "$rs" '{"sub":"no-iss"}')" | seed header-no-iss 0
printf 'Bearer a.b' | seed header-two-parts 0
printf 'Bearer ' | seed header-empty-token 0
printf 'Basic dXNlcjpwYXNz' | seed header-basic 0
printf 'Bearer %s' "$(token "$rs" '{"iss":"https://unknown.example"}')" | seed header-unknown-iss 1
# modes 1 and 2: claims the target signs (rs, es)
i=0
while IFS= read -r claims; do
  i=$((i + 1))
  printf '%s' "$claims" | seed "claims-rs-$i" $(((1 << 2) | (i % 4)))
  printf '%s' "${claims//rs.example/es.example}" | seed "claims-es-$i" $(((2 << 2) | (i % 4)))
done <<'CLAIMS'
{"iss":"https://rs.example","exp":1893459600,"azp":"client-a"}
{"iss":"https://rs.example","exp":1893459600,"client_id":"forbidden-b"}
{"iss":"https://rs.example","exp":1893450000,"azp":"expired"}
{"iss":"https://rs.example","exp":1893459600,"nbf":1893460000,"azp":"not-yet"}
{"iss":"https://rs.example","azp":"no-exp"}
{"iss":"https://rs.example","exp":"1893459600","azp":"string-exp"}
{"iss":"https://rs.example","exp":1e308,"nbf":-1,"azp":"huge"}
{"iss":"https://rs.example","exp":1893459600,"azp":"a","client_id":"b"}
{"iss":"https://rs.example","exp":1893459600,"azp":7}
{"iss":"https://es.example","exp":1893459600,"azp":"other-km"}
CLAIMS
# mode 3: key manager keys (bit 4: ES256)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.key" 2>/dev/null
openssl pkey -in "$tmp/rsa.key" -pubout -out "$tmp/rsa.pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$tmp/rsa1024.key" 2>/dev/null
openssl pkey -in "$tmp/rsa1024.key" -pubout -out "$tmp/rsa1024.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.key"
openssl pkey -in "$tmp/ec.key" -pubout -out "$tmp/ec.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/ec384.key"
openssl pkey -in "$tmp/ec384.key" -pubout -out "$tmp/ec384.pub"
openssl req -x509 -new -key "$tmp/ec.key" -subj /CN=km -days 1 -out "$tmp/ec.crt" 2>/dev/null
seed key-rsa $((3 << 2)) <"$tmp/rsa.pub"
seed key-rsa1024 $((3 << 2)) <"$tmp/rsa1024.pub"
seed key-ec $(((3 << 2) | 16)) <"$tmp/ec.pub"
seed key-ec384 $(((3 << 2) | 16)) <"$tmp/ec384.pub"
seed key-ec-cert $(((3 << 2) | 16)) <"$tmp/ec.crt"
base64 -w0 "$tmp/ec.pub" | seed key-ec-base64 $(((3 << 2) | 16))
seed key-ec-as-rs $((3 << 2)) <"$tmp/ec.pub"
echo "make-jwt-seeds: $(find "$here" -name 'seed-*.bin' | wc -l) seeds in $here"
