#!/usr/bin/env bash
# package_deb.sh - the Debian package works without the checkout: builds it
# with cpack -G DEB from the build tree, checks its control fields (name,
# the version of project(), Depends with the runtime libraries and
# libfaketime), unpacks it with dpkg-deb -x into a temporary root (no root
# needed), and from an empty directory runs the unpacked gatecert: --version,
# three catalogue cases against the built-in simulator, and one through the
# installed exec reference program. The source and build trees are hidden
# (tmpfs mounted over them in a private mount namespace, unshare -rm) so the
# installed files are the only ones it can read; where user namespaces are
# not allowed the runs still happen from the empty directory, with no path
# of either tree in their arguments or environment, and the test says so.
# usage: package_deb.sh SOURCE_DIR BUILD_DIR VERSION
set -u
src=$(realpath "$1") build=$(realpath "$2") version=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gatecert-deb.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}
case $tmp/ in "$src"/* | "$build"/*) fail "the temporary directory $tmp is inside the trees" ;; esac

# 1. the package
SECONDS=0
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
debs=("$tmp"/pkg/gatecert_*.deb)
[[ -f ${debs[0]} && ${#debs[@]} == 1 ]] || fail "cpack made no single gatecert_*.deb: ${debs[*]}"
deb=${debs[0]}
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes, cpack ${SECONDS} s)"
[[ $(dpkg-deb -f "$deb" Package) == gatecert ]] || fail "Package is not gatecert"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version $(dpkg-deb -f "$deb" Version), want $version"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libfaketime libssl3 libcurl4 libevent-2.1-7 libevent-openssl-2.1-7 libjansson4 \
  libyaml-0-2 libxml2 libsqlite3-0 libzip4; do
  grep -Eq "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib"
done

# 2. unpacked
root=$tmp/root
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x"
for f in usr/bin/gatecert usr/bin/gatecert-sim usr/bin/gatecert-backend usr/bin/gatecert-introspect \
  usr/share/gatecert/drivers/exec-driver-sim.sh usr/share/gatecert/drivers/nginx.known \
  usr/share/man/man1/gatecert.1 usr/share/man/man5/gatecert-scenario.5 \
  usr/share/doc/gatecert/README.md; do
  [[ -e $root/$f ]] || fail "$f is not in the package"
done
yaml=$(find "$root/usr/share/gatecert/scenarios" -name '*.yaml' | wc -l)
[[ $yaml == $(find "$src/scenarios" -name '*.yaml' | wc -l) ]] || fail "$yaml scenario files installed"

# 3. run from an empty directory, the trees out of reach
mkdir "$tmp/empty"
cd "$tmp/empty" || fail "cd"
hide=""
if unshare -rm true 2>/dev/null; then
  hide="mount -t tmpfs none '$src' &&"
  # a build tree inside the source tree (make's build/) is hidden with it
  case $build/ in "$src"/*) ;; *) hide="$hide mount -t tmpfs none '$build' &&" ;; esac
else
  echo "note: user namespaces are not allowed here: the trees stay readable (runs use no path of theirs)"
fi
installed() { # runs the arguments with a clean environment, the trees hidden when possible
  local cmd
  printf -v cmd '%q ' "$@"
  if [[ -n $hide ]]; then
    unshare -rm bash -c "$hide [[ -z \$(ls -A '$src') ]] && env -i PATH=/usr/bin:/bin HOME='$tmp/empty' $cmd"
  else
    env -i PATH=/usr/bin:/bin HOME="$tmp/empty" "$@"
  fi
}
want="gatecert $version"
got=$(installed "$root/usr/bin/gatecert" --version) || fail "gatecert --version exited $?"
[[ $got == "$want" || $got == "$want (git "*")" ]] || fail "gatecert --version printed \"$got\""
echo "ok: $got"
cases=("endpoint cert takes effect at the next sender reload tick"
  "upload-accepted[case=pem,cert=good,format=pem,status_2023=201,body_2023=\"name\":\"a1\"]"
  "backend-mtls-without-identity[default_key=none]")
args=()
for c in "${cases[@]}"; do args+=(--case "$c"); done
installed "$root/usr/bin/gatecert" run "${args[@]}" --reports sim -j 2 || fail "gatecert run exited $?"
if [[ $(grep -c '<testcase ' sim/junit.xml) != 3 ]] || grep -qE '<(failure|error)[ >]' sim/junit.xml; then
  fail "sim/junit.xml has not 3 passing cases"
fi
! grep -rqF "$src/" sim/junit.xml sim/conformance.json || fail "the reports name the source tree"
# the exec reference program, installed, finds the installed gatecert-sim itself
installed "$root/usr/bin/gatecert" run \
  --driver "exec:$root/usr/share/gatecert/drivers/exec-driver-sim.sh" --case "${cases[0]}" --reports exec ||
  fail "gatecert run --driver exec:exec-driver-sim.sh exited $?"
if [[ $(grep -c '<testcase ' exec/junit.xml) != 1 ]] || grep -qE '<(failure|error|skipped)[ >]' exec/junit.xml; then
  fail "exec/junit.xml has not 1 passing case"
fi
echo "ok: the unpacked package ran ${#cases[@]} cases with the simulator and 1 through the exec program"
