# shellcheck shell=bash
# Helpers for the benchmark scripts (sourced, not run). Measures wall time and peak RSS of a
# shell command string over N runs.
#
#   bench_measure RUNS CMD   -> prints "MEDIAN_WALL_S MAX_RSS_KIB" (the median wall time over the
#                               runs and the largest peak RSS of any run, of the command and its
#                               children); returns 1 and prints the command's stderr tail when a
#                               run exits non-zero.
#   bench_mib KIB            -> KiB as MiB with one decimal
#   bench_ratio A B          -> A/B with two decimals ("-" when either is missing)
#
# Timing comes from GNU time (/usr/bin/time -f "%e %M"); without it, from a Python wrapper around
# resource.getrusage(RUSAGE_CHILDREN), which reports the same ru_maxrss. CMD runs under `bash -c`
# (bash execs a simple command, so the measured process is the command itself), stdout goes to
# /dev/null, stdin is whatever CMD redirects.

# BENCH_TIMER=gnu|python in the environment forces a timer (python: to test the fallback).
BENCH_TIMER=${BENCH_TIMER:-}

bench_init_timer() {
  [[ $BENCH_TIMER == python || $BENCH_TIMER == gnu ]] && return 0
  if [[ -x /usr/bin/time ]] && /usr/bin/time -f "%e %M" -o /dev/null true 2>/dev/null; then
    BENCH_TIMER=gnu
  elif command -v python3 >/dev/null 2>&1; then
    BENCH_TIMER=python
  else
    echo "bench: need /usr/bin/time (apt-get install time) or python3" >&2
    return 1
  fi
}

# One run: writes "WALL_S MAXRSS_KIB" to $2; the command's stderr to $3.
_bench_once() {
  local cmd=$1 out=$2 err=$3
  if [[ $BENCH_TIMER == gnu ]]; then
    # GNU time prints "Command exited with non-zero status N" before the format on failure;
    # the exit status is passed through, so only the last line matters on success.
    /usr/bin/time -f "%e %M" -o "$out" bash -c "$cmd" >/dev/null 2>"$err"
  else
    python3 - "$cmd" "$out" >/dev/null 2>"$err" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
rc = subprocess.call(["bash", "-c", sys.argv[1]])
wall = time.monotonic() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
with open(sys.argv[2], "w") as f:
    f.write(f"{wall:.2f} {rss}\n")
sys.exit(rc)
PY
  fi
}

bench_measure() {
  local runs=$1 cmd=$2 i wall rss max_rss=0 walls=() tmp
  [[ -n $BENCH_TIMER ]] || bench_init_timer || return 1
  tmp=$(mktemp -d)
  for ((i = 0; i < runs; i++)); do
    if ! _bench_once "$cmd" "$tmp/t" "$tmp/err"; then
      echo "bench: command failed (run $((i + 1))/$runs): $cmd" >&2
      tail -n 5 "$tmp/err" | sed 's/^/bench:   /' >&2
      rm -rf "$tmp"
      return 1
    fi
    read -r wall rss < <(tail -n 1 "$tmp/t")
    walls+=("$wall")
    ((rss > max_rss)) && max_rss=$rss
  done
  rm -rf "$tmp"
  printf '%s\n' "${walls[@]}" | sort -g | awk -v rss="$max_rss" '
    { a[NR] = $1 }
    END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f %d\n", m, rss }'
}

bench_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

bench_ratio() {
  if [[ -z $1 || -z $2 || $1 == - || $2 == - ]]; then echo "-"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
