#!/usr/bin/env bash
# run-fuzz.sh FUZZER SEEDS SCRATCH SECONDS DICT [LIBFUZZER-OPTION...] - a bounded libFuzzer run.
#
# Copies the seed corpus SEEDS (fixtures/multipart, fixtures/yaml) into
# SCRATCH/corpus, so the source tree is never written, then runs FUZZER over
# that copy for SECONDS with the dictionary DICT (multipart.dict, yaml.dict). New inputs land in
# SCRATCH/corpus, a crashing input in SCRATCH/artifacts/. Exits with the
# fuzzer's status: 0 when no invariant broke and no sanitizer fired. Extra
# arguments go to libFuzzer (e.g. -jobs=4 -workers=4). Used by CTest (test
# fuzz_multipart and fuzz_yaml, label fuzz) and by hand (README.md here).
set -euo pipefail
usage="usage: run-fuzz.sh FUZZER SEEDS SCRATCH SECONDS DICT [LIBFUZZER-OPTION...]"
fuzzer=${1:?$usage}
seeds=${2:?$usage}
scratch=${3:?$usage}
seconds=${4:?$usage}
dict=${5:?$usage}
shift 5
dict=$(cd "$(dirname "$dict")" && pwd)/$(basename "$dict")
fuzzer=$(cd "$(dirname "$fuzzer")" && pwd)/$(basename "$fuzzer")
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)

# one run per scratch directory: the lock is held by the fuzzer (exec keeps fd 9)
exec 9>"$scratch/.lock"
if ! flock -n 9; then
  echo "run-fuzz: $scratch is in use by another run" >&2
  exit 1
fi
rm -rf "$scratch/corpus" "$scratch/artifacts"
mkdir -p "$scratch/corpus" "$scratch/artifacts"
find "$seeds" -maxdepth 1 -type f ! -name README.md ! -name '.*' -exec cp -t "$scratch/corpus/" {} +
echo "run-fuzz: $(find "$scratch/corpus" -type f | wc -l) seeds, ${seconds}s, scratch $scratch"

cd "$scratch"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=5 -max_len=16384 \
  -print_final_stats=1 -dict="$dict" -artifact_prefix="$scratch/artifacts/" \
  "$@" "$scratch/corpus"
