#!/usr/bin/env bash
# Installs the Debian packages a make target needs beyond Go:
#   prometheus  the collector's tests and `make demo VIA=prometheus` run a real one
#   chromium    the report's browser check (cmd/kn-iter8/commands/browser_test.go)
#   curl        the kn plugin test runs the curl command `kn iter8 start` prints
# Usage: tools/deps.sh PACKAGE... (those missing are installed).
#
# As root with apt-get it installs what is missing (one apt-get update
# first). Otherwise it stops at once and prints the exact command to run:
# a check CI needs never skips quietly.
set -euo pipefail
(($# > 0)) || exit 0

# present PACKAGE: the package's program is installed.
present() {
  case $1 in
    prometheus) command -v prometheus >/dev/null || [[ -x /usr/bin/prometheus ]] ;;
    chromium) command -v chromium >/dev/null || command -v chromium-browser >/dev/null ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

missing=()
for p in "$@"; do
  present "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps: $* installed"
  exit 0
fi

install="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "deps: missing ${missing[*]}, which this target needs. Install them, then run make again:" >&2
  echo "  sudo sh -c '$install'" >&2
  exit 1
fi

start=$SECONDS
echo "deps: installing ${missing[*]} with apt-get (Debian packages and their dependencies; a minute or a few)"
echo "deps:   apt-get update"
apt-get update -qq
# apt prints a line per package fetched and set up: count them instead.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 |
  awk -v t0="$(date +%s)" '
    # A large package takes a while alone: name it, with its size.
    /^Get:/ { got++
      if (match($0, /\[[0-9.]+ MB\]/) && substr($0, RSTART + 1, RLENGTH - 5) + 0 >= 5) printf "deps:   fetching %s %s (%ds)\n", $5, substr($0, RSTART, RLENGTH), systime() - t0
      else if (got % 20 == 0) printf "deps:   %d packages downloaded (%ds)\n", got, systime() - t0
      next }
    /^Setting up / { set++; if (set % 20 == 0) printf "deps:   %d packages set up (%ds)\n", set, systime() - t0; next }
    /^(E|W): / { print > "/dev/stderr" }
    END { printf "deps:   %d packages downloaded, %d set up\n", got, set }'
for p in "${missing[@]}"; do
  if ! present "$p"; then
    echo "deps: $p is still missing after apt-get install; run: $install" >&2
    exit 1
  fi
done
echo "deps: installed ${missing[*]} in $((SECONDS - start))s"
