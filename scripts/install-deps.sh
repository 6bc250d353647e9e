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
  clang-format clang-tidy cppcheck shellcheck
  clang libclang-rt-14-dev
  nginx haproxy
  caddy
  apache2 jq
  chromium
  man-db dpkg-dev
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
# nginx, haproxy, caddy and apache2 are driven by the harness as the current user (their own
# instances, loopback, port 0 or probed ports): their packages must not start a
# system service. policy-rc.d answering 101 makes invoke-rc.d skip the start;
# a systemd machine gets the units stopped and disabled afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
  printf "#!/bin/sh\nexit 101\n" | "${sudo_cmd[@]}" tee $policy >/dev/null
  "${sudo_cmd[@]}" chmod 755 $policy
  own_policy=1
fi
"${sudo_cmd[@]}" apt-get update -qq
status=0
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if ((own_policy)); then
  "${sudo_cmd[@]}" rm -f $policy
fi
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  "${sudo_cmd[@]}" systemctl disable --now nginx.service haproxy.service caddy.service apache2.service >/dev/null 2>&1 || true
fi
exit $status
