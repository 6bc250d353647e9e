#!/usr/bin/env bash
# make-certs-seeds.sh GATECERT - regenerates the seed corpus of fuzz_certs.c, fixtures/gcert/.
#
# Every seed is one byte that tells the target how to read the rest (low 3 bits
# the password, bits 3-5 the format: fuzz_certs.c's top comment) followed by a
# store: the keytool/openssl stores of fixtures/keystores (auto-detected, with their
# password), the malformed corpus of fixtures/malformed (read as its MANIFEST says),
# and the stores `gatecert certs demo` makes, converted to the password
# changeit. Files above 16000 bytes are left out (run-fuzz.sh's -max_len).
# GATECERT is the built harness binary (build/harness/gatecert). Seeds libFuzzer
# found later (`-merge=1` into this directory) are kept: this script only
# rewrites the seed-*.bin files it makes.
set -euo pipefail
gatecert=${1:?usage: make-certs-seeds.sh GATECERT}
here=$(cd "$(dirname "$0")/../../fixtures/gcert" && pwd)
fixtures=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fmt_index() { # format name -> fuzz_certs.c's format bits
  case $1 in auto) echo 0 ;; pem) echo 1 ;; der) echo 2 ;; pkcs7) echo 3 ;; pkcs12) echo 4 ;;
  jks) echo 5 ;; sapjar) echo 6 ;; *) echo "unknown format $1" >&2; exit 1 ;; esac
}
pw_index() { # password -> index in fuzz_certs.c's passwords[]
  case $1 in -) echo 0 ;; changeit | wrong | wrongpass) echo 1 ;; wso2carbon) echo 2 ;;
  gatecert) echo 3 ;; secret) echo 4 ;; 'p!%^&#:/?[]@;=w') echo 5 ;; '!%^&#:/?[]@;=') echo 6 ;;
  'pässwörd€😀') echo 7 ;; *) echo "unknown password" >&2; exit 1 ;; esac
}
seed() { # seed NAME FORMAT PASSWORD FILE
  local size
  size=$(stat -c %s "$4")
  if [ "$size" -gt 16000 ]; then return; fi
  local byte=$((($(fmt_index "$2") << 3) | $(pw_index "$3")))
  { printf "\\x$(printf %02x "$byte")"; cat "$4"; } >"$here/seed-$1.bin"
}

rm -f "$here"/seed-*.bin
# the keytool and openssl stores, auto-detected (README.md there names the passwords)
for f in "$fixtures"/keystores/*.jks "$fixtures"/keystores/*.p12 "$fixtures"/keystores/*.pem \
  "$fixtures"/keystores/*.jar; do
  name=$(basename "$f")
  case $name in
  special-password.jks) pw='p!%^&#:/?[]@;=w' ;;
  unicode-password.jks) pw='pässwörd€😀' ;;
  openssl-special.p12) pw='!%^&#:/?[]@;=' ;;
  keytool-*.p12 | openssl-*.p12 | *-encrypted.*) pw=gatecert ;;
  rsa-chain.jks | truststore.jks) pw=wso2carbon ;;
  *.jar | *.pem) pw=- ;;
  *) pw=changeit ;;
  esac
  seed "keystores-$name" auto "$pw" "$f"
done
# the malformed corpus, read the way its MANIFEST says
for dir in "$fixtures"/malformed/*/; do
  while read -r file format _status password; do
    case $file in '' | '#'*) continue ;; esac
    seed "malformed-$(basename "$dir")-$file" "$format" "${password:--}" "$dir$file"
  done <"$dir/MANIFEST"
done
# stores the project makes: the demo catalogue, converted to the password changeit
"$gatecert" certs demo --out "$tmp/demo" --at 2026-01-01T00:00:00Z >/dev/null
printf changeit >"$tmp/pw"
for f in "$tmp"/demo/*; do
  name=$(basename "$f")
  case $name in
  *.pem) to=pem ;; *.der) to=der ;; *.p7b) to=pkcs7 ;; *.p12) to=pkcs12 ;; *.jks) to=jks ;;
  *.jar) to=sapjar ;; *) continue ;;
  esac
  extra=()
  if [ "$name" = truststore.pem.p7b ]; then extra=(--pem); fi
  "$gatecert" certs convert --password-file "$tmp/demo/store-password" --out-password-file "$tmp/pw" \
    --to "$to" "${extra[@]}" "$f" "$tmp/$name"
  seed "made-$name" auto changeit "$tmp/$name"
done
echo "make-seeds: $(find "$here" -name 'seed-*.bin' | wc -l) seeds in $here"
