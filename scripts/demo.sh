#!/usr/bin/env bash
# `make demo`: the whole system on the embedded default (SQLite), with demo users and the lessons.
# Starts the server, seeds it, then opens the desktop app when there is a display (as root on Debian it
# first installs Qt's system libraries, `scripts/provision.sh qt`); without a display it says so and
# keeps the server running in the foreground (Ctrl+C stops it).
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

# The sandbox gives the marks that count: start the Docker engine and build its image where this
# machine allows (root on Debian, as `make test` does); otherwise say why. Runs on the laptop work anyway.
sandbox_note=""
docker_up() { [[ -S /var/run/docker.sock ]] && docker info >/dev/null 2>&1; }
if [[ ${POST16_SANDBOX_ENABLED:-} != false ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    if ! docker_up || ! docker image inspect "${POST16_SANDBOX_IMAGE:-post16-sandbox:latest}" >/dev/null 2>&1; then
      echo "Starting the Docker engine and building the sandbox image (the first time takes a minute or two)…"
      if ! { scripts/provision.sh system && scripts/provision.sh docker && scripts/provision.sh sandbox; } \
        >>"$POST16_DATA_DIR/provision.log" 2>&1; then
        sandbox_note="the Docker engine or the sandbox image could not be set up (see $POST16_DATA_DIR/provision.log)"
      fi
    fi
  elif ! docker_up; then
    sandbox_note="Docker is not running and this script is not root, so it cannot start it (run 'make demo' as root, or start Docker)"
  fi
fi
if [[ -z $sandbox_note ]] && docker_up; then
  export POST16_SANDBOX_ENABLED=${POST16_SANDBOX_ENABLED:-true}
else
  export POST16_SANDBOX_ENABLED=${POST16_SANDBOX_ENABLED:-false}
  [[ -n $sandbox_note ]] || sandbox_note="switched off (POST16_SANDBOX_ENABLED=false)"
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
if [[ $POST16_SANDBOX_ENABLED != true ]]; then
  echo "  Check gives provisional marks only: the server's sandbox is off — ${sandbox_note:-switched off (POST16_SANDBOX_ENABLED=false)}."
  echo "  Run still works: programs run on the laptop."
fi

if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]]; then
  # Qt's system libraries (libxcb-cursor0 and the rest of packaging/linux/qt-runtime-packages.txt), as
  # `make test` installs them; without them Qt cannot load its xcb plugin and the app does not open.
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "Checking Qt's system libraries (installs any that are missing)…"
    scripts/provision.sh qt >>"$POST16_DATA_DIR/provision.log" 2>&1 ||
      echo "Could not install Qt's system libraries (see $POST16_DATA_DIR/provision.log)." >&2
  fi
  echo "Opening the desktop app…"
  "$VENV/bin/post16-desktop" --server "$URL" || true
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
else
  echo
  echo "No display found (DISPLAY/WAYLAND_DISPLAY unset): the desktop app cannot open on this machine."
  echo "The server keeps running; press Ctrl+C to stop it."
  [[ -n $server_pid ]] && wait "$server_pid"
fi
