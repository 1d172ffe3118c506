#!/bin/sh
# The image's entrypoint: the first argument chooses what runs. exec replaces this shell, so the
# service is PID 1 and gets the orchestrator's SIGTERM itself (a graceful shutdown).
set -e
case "${1:-ingest}" in
  ingest) shift 2>/dev/null || true; exec node /app/dist/services/ingest/main.js "$@" ;;
  merger) shift; exec node /app/dist/services/merger/main.js "$@" ;;
  activity) shift; exec node /app/dist/services/activity/main.js "$@" ;;
  admin) shift; exec node /app/dist/services/admin/main.js "$@" ;;
  anonmerge) shift; exec node /app/dist/services/cli/main.js "$@" ;;
  *) exec "$@" ;;
esac
