#!/usr/bin/env bash
# The browser of the snippet's end-to-end test: Debian's chromium (never a download by npm).
# Prints its path; installs the package first when it is missing and we may (root, apt).
# Usage: infra/chromium.sh ensure
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

ensure() {
  if [[ -x "$CHROMIUM" ]]; then echo "$CHROMIUM"; return 0; fi
  [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null || die "$CHROMIUM is missing; install Debian's chromium package (apt-get install chromium) or set CHROMIUM"
  log "installing Debian's chromium package (once per machine)"
  local t; t=$(now_ms)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$LOG_DIR/chromium-install.log" 2>&1 \
    || { apt-get update -q >>"$LOG_DIR/chromium-install.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$LOG_DIR/chromium-install.log" 2>&1; } \
    || die "apt-get install chromium failed; see $LOG_DIR/chromium-install.log"
  log "chromium installed in $(elapsed_since "$t")"
  echo "$CHROMIUM"
}

case "${1:-}" in
  ensure) ensure ;;
  *) die "usage: $0 ensure" ;;
esac
