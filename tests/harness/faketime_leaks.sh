#!/usr/bin/env bash
# faketime_leaks.sh start MARKER | check MARKER [SHM_DIR]
#
# libfaketime (libfaketime.c, ft_shm_create) gives the first faked process of
# a tree a POSIX semaphore "/faketime_sem_PID" and a shared memory object
# "/faketime_shm_PID" - glibc keeps them as SHM_DIR/sem.faketime_sem_PID and
# SHM_DIR/faketime_shm_PID (SHM_DIR: /dev/shm) - and unlinks both in its
# destructor when that process exits normally. A process killed with SIGKILL
# (or one that never returns from main) leaves them behind, one pair per
# case, until the machine reboots: every test that starts a faked child must
# stop it so that they go.
#
# `start` (the CTest fixture setup, before every test) marks the time of the
# run in MARKER. `check` (the fixture cleanup, after every test) lists the
# files of that naming in SHM_DIR that were made since MARKER by this user
# whose process is gone, and fails naming each. It never counts a file of
# another user, of a live process (another run going on, a process not yet
# stopped by someone else's test), or from before MARKER (an earlier run's
# leak is not this run's: it is listed as a note). Without MARKER it checks
# every file of this user.
set -uo pipefail
mode=${1:-} marker=${2:-} shm=${3:-/dev/shm}
case $mode in
start)
  # a second early: file times come from the kernel's coarse clock, a file
  # made in the same tick as the marker would not be newer than it
  mkdir -p "$(dirname "$marker")" && touch -d '1 second ago' "$marker" || exit 1
  echo "faketime leak check: run started; $marker marks it"
  exit 0
  ;;
check) ;;
*)
  echo "usage: faketime_leaks.sh start MARKER | check MARKER [SHM_DIR]" >&2
  exit 2
  ;;
esac

me=$(id -u)
leaks=0 old=0 live=0 others=0
for file in "$shm"/faketime_shm_* "$shm"/sem.faketime_sem_*; do
  [ -e "$file" ] || continue
  pid=${file##*_}
  case $pid in '' | *[!0-9]*) continue ;; esac
  if [ "$(stat -c %u "$file")" != "$me" ]; then
    others=$((others + 1))
  elif [ -e "/proc/$pid" ]; then
    live=$((live + 1))
  elif [ -e "$marker" ] && ! [ "$file" -nt "$marker" ]; then
    old=$((old + 1))
    echo "note: $file (pid $pid, gone) is from before this run"
  else
    leaks=$((leaks + 1))
    echo "LEAK: $file: pid $pid is gone and left its libfaketime file (made $(stat -c %y "$file"))"
  fi
done
[ -e "$marker" ] || echo "note: no $marker (the fixture setup did not run): every file of this user counts"
echo "faketime files in $shm: $leaks left by dead processes of this run, $old older, $live of live processes, $others of other users"
[ "$leaks" -eq 0 ]
