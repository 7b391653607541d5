#!/bin/bash
# Runs a command with its memory (page cache included) capped, through a
# cgroup of its own: the way to show that a context larger than the cap is
# served from disk (quest bench decode --kv-file). Needs root.
#   scripts/run_capped.sh 8G build/release/quest bench decode ... --kv-file /path/pool.kv
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 LIMIT COMMAND [ARGS...]   (LIMIT like 8G, 512M)" >&2
  exit 2
fi
limit=$(numfmt --from=iec "$1") || { echo "$0: bad limit '$1'" >&2; exit 2; }
shift
name="quest-capped-$$"
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then      # cgroup v2
  dir=/sys/fs/cgroup/$name
  mkdir "$dir"
  echo "$limit" > "$dir/memory.max"
  echo 0 > "$dir/memory.swap.max" 2>/dev/null || true
elif [[ -d /sys/fs/cgroup/memory ]]; then                # cgroup v1
  dir=/sys/fs/cgroup/memory/$name
  mkdir "$dir"
  echo "$limit" > "$dir/memory.limit_in_bytes"
else
  echo "$0: no memory cgroup controller under /sys/fs/cgroup" >&2
  exit 2
fi
echo "$0: memory capped at $limit bytes ($dir)" >&2
( echo "$BASHPID" > "$dir/cgroup.procs"; exec "$@" ) && rc=0 || rc=$?
peak=$(cat "$dir/memory.max_usage_in_bytes" 2>/dev/null || cat "$dir/memory.peak" 2>/dev/null || echo '?')
echo "$0: peak memory of the group: $peak bytes" >&2
rmdir "$dir" 2>/dev/null || true
exit "$rc"
