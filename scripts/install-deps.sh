#!/usr/bin/env bash
# install-deps.sh - install the Debian packages gatecert builds and tests with.
#
# Idempotent: asks dpkg which packages are missing and runs apt-get only for
# those, so a second run on a ready machine does nothing and needs no network.
# Used by `make run`, `make test` and .ci/run. Runs apt-get directly as root,
# through sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libssl-dev openssl
  libcurl4-openssl-dev
  libevent-dev
  libjansson-dev
  libyaml-dev
  libxml2-dev libxml2-utils
  libsqlite3-dev
  libzip-dev
  libcmocka-dev
  libfaketime faketime
  clang-format clang-tidy cppcheck
  clang libclang-rt-14-dev
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
