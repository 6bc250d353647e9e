#!/usr/bin/env bash
# test_faketime_leaks.sh CHECKER FAKETIME_LIB SCRATCH
#
# The leak check (faketime_leaks.sh, the fixture cleanup every test requires)
# fails when it should and only then. Rows in a made-up SHM directory: a file
# of a dead pid made during the run fails it, naming the pid; a live pid's, an
# older one's, another user's (when we are root to chown it) and names that
# are not libfaketime's do not. Then for real in /dev/shm: a process under
# libfaketime that exits normally (date; dash's `sh -c 'exit 0'` was seen to
# skip the destructor and leak) leaves nothing (its destructor unlinks both
# files, so the naming the check looks for is the one libfaketime uses), one
# killed with SIGKILL leaves faketime_shm_PID and sem.faketime_sem_PID and the
# check names that pid; its files are removed afterwards.
set -uo pipefail
checker=$1 lib=$2 scratch=$3
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
rm -rf "$scratch"
mkdir -p "$scratch" || exit 1

# A pid that is certainly gone: a child that ran and was reaped.
sh -c 'exit 0' &
dead=$!
wait "$dead"

# row NAME EXPECTED-STATUS EXPECTED-TEXT SETUP...: a fresh SHM dir and marker,
# SETUP run in it, then the check.
row() {
  local name=$1 want=$2 text=$3
  shift 3
  local dir="$scratch/shm $name" marker="$scratch/marker $name"
  rm -rf "$dir"
  mkdir -p "$dir"
  touch -d '1 minute ago' "$marker"
  (cd "$dir" && eval "$*")
  bash "$checker" check "$marker" "$dir" >"$dir.out" 2>&1
  local status=$?
  [ "$status" -eq "$want" ] || fail "row $name: exit $status, not $want: $(cat "$dir.out")"
  grep -qF -- "$text" "$dir.out" || fail "row $name: the output does not say [$text]: $(cat "$dir.out")"
}
row "dead shm" 1 "LEAK: $scratch/shm dead shm/faketime_shm_$dead: pid $dead is gone" \
  "touch faketime_shm_$dead"
row "dead sem" 1 "pid $dead is gone" "touch sem.faketime_sem_$dead"
row "both dead" 1 "2 left by dead processes" "touch faketime_shm_$dead sem.faketime_sem_$dead"
row "live" 0 "0 left by dead processes of this run, 0 older, 2 of live processes" \
  "touch faketime_shm_$$ sem.faketime_sem_$$"
row "older" 0 "is from before this run" "touch -d '1 hour ago' faketime_shm_$dead"
row "not libfaketime's" 0 "0 left by dead processes" \
  "touch faketime_shm_x faketime_shm_ sem.faketime_sem_1a faketime_other_$dead"
row "no marker" 1 "every file of this user counts" \
  "touch -d '1 day ago' faketime_shm_$dead; rm -f \"\$OLDPWD/marker no marker\" \"$scratch/marker no marker\""
if [ "$(id -u)" -eq 0 ]; then
  row "other user" 0 "1 of other users" "touch faketime_shm_$dead && chown 65534 faketime_shm_$dead"
else
  echo "not root: the other-user row is left out"
fi

# For real: libfaketime's own files.
marker="$scratch/marker real"
touch -d '1 minute ago' "$marker"
LD_PRELOAD=$lib FAKETIME="@2030-01-01 00:00:00" date >/dev/null &
clean=$!
wait "$clean"
for f in "/dev/shm/faketime_shm_$clean" "/dev/shm/sem.faketime_sem_$clean"; do
  [ -e "$f" ] && fail "a faked process that exited normally left $f"
done
LD_PRELOAD=$lib FAKETIME="@2030-01-01 00:00:00" sleep 60 &
killed=$!
for _ in $(seq 1 100); do
  [ -e "/dev/shm/faketime_shm_$killed" ] && break
  sleep 0.05
done
[ -e "/dev/shm/faketime_shm_$killed" ] || fail "libfaketime made no /dev/shm/faketime_shm_$killed"
[ -e "/dev/shm/sem.faketime_sem_$killed" ] || fail "libfaketime made no /dev/shm/sem.faketime_sem_$killed"
bash "$checker" check "$marker" >"$scratch/real-live.out" 2>&1
grep -q "pid $killed is gone" "$scratch/real-live.out" && fail "the check counted pid $killed while it ran"
kill -KILL "$killed"
wait "$killed" 2>/dev/null
bash "$checker" check "$marker" >"$scratch/real.out" 2>&1
status=$?
[ "$status" -eq 1 ] || fail "after SIGKILL of a faked process the check exited $status, not 1"
grep -qF "LEAK: /dev/shm/faketime_shm_$killed: pid $killed is gone" "$scratch/real.out" ||
  fail "the check does not name /dev/shm/faketime_shm_$killed: $(cat "$scratch/real.out")"
grep -qF "LEAK: /dev/shm/sem.faketime_sem_$killed: pid $killed is gone" "$scratch/real.out" ||
  fail "the check does not name /dev/shm/sem.faketime_sem_$killed: $(cat "$scratch/real.out")"
rm -f "/dev/shm/faketime_shm_$killed" "/dev/shm/sem.faketime_sem_$killed"
bash "$checker" check "$marker" >"$scratch/real-after.out" 2>&1
grep -q "pid $killed is gone" "$scratch/real-after.out" && fail "pid $killed still counted once its files are gone"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "the leak check fails on a dead pid's files of this run, and only then"
