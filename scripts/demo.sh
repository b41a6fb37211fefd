#!/usr/bin/env bash
# `make demo`: the whole system on the embedded default (SQLite), with demo users and the lessons.
# Starts the server, seeds it, then opens the desktop app when there is a display; without one it
# says so and keeps the server running in the foreground (Ctrl+C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PORT=${POST16_DEMO_PORT:-8000}
URL="http://127.0.0.1:${PORT}"
export POST16_DATA_DIR=${POST16_DATA_DIR:-var/demo}
export POST16_COOKIE_SECURE=${POST16_COOKIE_SECURE:-false}   # plain http on this machine only
export POST16_LOG_JSON=${POST16_LOG_JSON:-false}
export POST16_METRICS_TOKEN=${POST16_METRICS_TOKEN:-demo-metrics-token}
mkdir -p "$POST16_DATA_DIR"

if [[ -S /var/run/docker.sock ]] && docker info >/dev/null 2>&1; then
  export POST16_SANDBOX_ENABLED=${POST16_SANDBOX_ENABLED:-true}
else
  export POST16_SANDBOX_ENABLED=${POST16_SANDBOX_ENABLED:-false}
fi

"$VENV/bin/post16-server" demo-seed

server_pid=""
if curl -fsS "$URL/api/health" >/dev/null 2>&1; then
  echo "A server already answers at $URL; using it."
else
  "$VENV/bin/post16-server" serve --host 127.0.0.1 --port "$PORT" >>"$POST16_DATA_DIR/server.log" 2>&1 &
  server_pid=$!
  trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null; exit 0' INT TERM
  for _ in $(seq 1 100); do
    curl -fsS "$URL/api/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "The server stopped; see $POST16_DATA_DIR/server.log" >&2; exit 1; }
    sleep 0.2
  done
fi

cat <<EOT

Post16 Lessons demo
  server:         $URL   (SQLite at $POST16_DATA_DIR, sandbox: $POST16_SANDBOX_ENABLED)
  admin console:  $URL/admin/
  API docs:       $URL/api/docs
  demo logins (password: post16-demo):
    admin   — the admin console
    teacher — the desktop app, teacher mode (class 12C Computer Science)
    pupil, pupil2, pupil3 — the desktop app, pupil mode
EOT

if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]]; then
  echo "Opening the desktop app…"
  "$VENV/bin/post16-desktop" --server "$URL" || true
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
else
  echo
  echo "No display found (DISPLAY/WAYLAND_DISPLAY unset): the desktop app cannot open on this machine."
  echo "The server keeps running; press Ctrl+C to stop it."
  [[ -n $server_pid ]] && wait "$server_pid"
fi
