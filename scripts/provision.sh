#!/usr/bin/env bash
# Installs and starts what the test suite and the demo need on a fresh Debian machine, as root.
# Idempotent: every step checks before it acts, so a second run takes a few seconds.
#   scripts/provision.sh venv        the Python virtual environment from the lock file
#   scripts/provision.sh system      Debian packages (PostgreSQL, Docker engine, Chromium, fonts, Qt libs)
#   scripts/provision.sh qt          only Qt's system libraries (packaging/linux/qt-runtime-packages.txt),
#                                    so `post16-desktop` opens on a display (`make demo` runs this)
#   scripts/provision.sh axe         axe-core (pinned, checksum-verified) for the console's accessibility test
#   scripts/provision.sh postgres    start PostgreSQL 15 and create the test role and database
#   scripts/provision.sh docker      start dockerd (no bridge, no iptables) and wait for its socket
#   scripts/provision.sh sandbox     build the sandbox image offline if it is missing
#   scripts/provision.sh docker2     a second dockerd (own socket and data root) with the sandbox image,
#                                    for the sandbox's two-engine test
#   scripts/provision.sh all         all of the above but qt (in system) and docker2, in that order
set -euo pipefail
cd "$(dirname "$0")/.."

PG_USER=${POST16_TEST_PG_USER:-post16}
PG_PASSWORD=${POST16_TEST_PG_PASSWORD:-post16-test-only}
PG_DB=${POST16_TEST_PG_DB:-post16_test}
VENV=${VENV:-.venv}
LOCK=${LOCK:-requirements/dev.lock}

log() { printf '[provision] %s\n' "$*" >&2; }

apt_packages=(
  postgresql postgresql-contrib
  docker.io debootstrap
  chromium fonts-dejavu-core fonts-liberation
  xvfb caddy prometheus wrk docker-compose
)

# Qt's system libraries: the one list the .deb declares too (packaging/build.py reads it).
mapfile -t qt_packages < <(sed 's/#.*//; /^[[:space:]]*$/d; s/[[:space:]]//g' packaging/linux/qt-runtime-packages.txt)

# Installs the Debian packages named as arguments that are not installed yet.
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

system() { apt_install "${apt_packages[@]}" "${qt_packages[@]}"; }

qt_libs() { apt_install "${qt_packages[@]}"; }

# axe-core, the accessibility rules engine that tests/integration/web/test_web_accessibility.py runs in
# every console page. Pinned by version and by the sha256 of the package tarball npm fetches; the test
# reads $AXE_DIR/axe.min.js and checks its version.
AXE_VERSION=4.14.1
AXE_TARBALL_SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE_DIR=${POST16_AXE_DIR:-build/axe-core}

axe_core() {
  if [[ -f $AXE_DIR/axe.min.js && $(cat "$AXE_DIR/VERSION" 2>/dev/null) == "$AXE_VERSION" ]]; then
    return
  fi
  command -v npm >/dev/null || apt_install npm
  log "fetching axe-core $AXE_VERSION"
  local scratch tarball
  scratch=$(mktemp -d)
  tarball="$scratch/axe-core-$AXE_VERSION.tgz"
  (cd "$scratch" && npm pack --silent --ignore-scripts "axe-core@$AXE_VERSION" >/dev/null)
  if ! echo "$AXE_TARBALL_SHA256  $tarball" | sha256sum --check --quiet --status; then
    log "axe-core $AXE_VERSION: the tarball's sha256 is not $AXE_TARBALL_SHA256; refusing it"
    rm -rf "$scratch"
    return 1
  fi
  tar -xzf "$tarball" -C "$scratch" package/axe.min.js package/LICENSE
  mkdir -p "$AXE_DIR"
  mv "$scratch/package/axe.min.js" "$scratch/package/LICENSE" "$AXE_DIR/"
  echo "$AXE_VERSION" >"$AXE_DIR/VERSION"
  rm -rf "$scratch"
}

venv() {
  local stamp="$VENV/.lock-stamp"
  if [[ -f $stamp ]] && cmp -s "$stamp" <(cat "$LOCK" pyproject.toml); then
    return
  fi
  log "creating $VENV from $LOCK"
  [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check uv
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -r "$LOCK"
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --no-deps -e .
  cat "$LOCK" pyproject.toml >"$stamp"
}

postgres() {
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
    log "starting PostgreSQL $version"
    pg_ctlcluster "$version" main start
  fi
  for _ in $(seq 1 50); do
    su postgres -c "pg_isready -q -h 127.0.0.1" && break
    sleep 0.2
  done
  # The suite runs several server processes at once, each with its own pool: 100 connections is tight.
  if (($(su postgres -c "psql -qtAc 'SHOW max_connections'") < 300)); then
    log "raising PostgreSQL max_connections to 300 (restart)"
    su postgres -c "psql -qc 'ALTER SYSTEM SET max_connections = 300'"
    pg_ctlcluster "$version" main restart
    for _ in $(seq 1 50); do
      su postgres -c "pg_isready -q -h 127.0.0.1" && break
      sleep 0.2
    done
  fi
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\""
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='$PG_DB'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE DATABASE $PG_DB OWNER $PG_USER\""
}

docker_engine() {
  if [[ -S /var/run/docker.sock ]] && docker info >/dev/null 2>&1; then
    return
  fi
  log "starting dockerd"
  mkdir -p /var/log/post16
  # No bridge and no iptables: sandbox containers run with network_mode=none.
  nohup dockerd --bridge=none --iptables=false --ip-forward=false \
    >/var/log/post16/dockerd.log 2>&1 &
  for _ in $(seq 1 100); do
    docker info >/dev/null 2>&1 && return
    sleep 0.2
  done
  log "dockerd did not come up; see /var/log/post16/dockerd.log"
  tail -20 /var/log/post16/dockerd.log >&2
  return 1
}

sandbox_image() {
  if [[ -x $VENV/bin/post16-sandbox ]] && "$VENV/bin/python" -c "import sandbox.cli" 2>/dev/null; then
    "$VENV/bin/post16-sandbox" build-image --if-missing
  fi
}

# A second, independent Docker engine: its own socket, data root, exec root (and so its own containerd)
# and pid file. The sandbox image is copied over from the first engine (docker save | docker load).
DOCKER2_SOCK=${POST16_DOCKER2_SOCK:-/var/run/post16-docker2.sock}
DOCKER2_ROOT=${POST16_DOCKER2_ROOT:-/var/lib/post16-docker2}
DOCKER2_EXEC=${POST16_DOCKER2_EXEC:-/var/run/post16-docker2}

docker_engine2() {
  local host="unix://$DOCKER2_SOCK" image=${POST16_SANDBOX_IMAGE:-post16-sandbox:latest}
  if ! { [[ -S $DOCKER2_SOCK ]] && docker -H "$host" info >/dev/null 2>&1; }; then
    log "starting a second dockerd on $DOCKER2_SOCK"
    mkdir -p /var/log/post16 "$DOCKER2_ROOT" "$DOCKER2_EXEC"
    nohup dockerd -H "$host" --data-root "$DOCKER2_ROOT" --exec-root "$DOCKER2_EXEC" \
      --pidfile "$DOCKER2_EXEC.pid" --bridge=none --iptables=false --ip-forward=false \
      >/var/log/post16/dockerd2.log 2>&1 &
    local up=""
    for _ in $(seq 1 150); do
      docker -H "$host" info >/dev/null 2>&1 && up=1 && break
      sleep 0.2
    done
    if [[ -z $up ]]; then
      log "the second dockerd did not come up; see /var/log/post16/dockerd2.log"
      tail -20 /var/log/post16/dockerd2.log >&2
      return 1
    fi
  fi
  if ! docker -H "$host" image inspect "$image" >/dev/null 2>&1; then
    docker_engine
    sandbox_image
    log "loading $image into the second engine"
    docker save "$image" | docker -H "$host" load >/dev/null
  fi
}

case "${1:-all}" in
  venv) venv ;;
  system) system ;;
  qt) qt_libs ;;
  axe) axe_core ;;
  postgres) postgres ;;
  docker) docker_engine ;;
  sandbox) sandbox_image ;;
  docker2) docker_engine2 ;;
  all) system; venv; axe_core; postgres; docker_engine; sandbox_image ;;
  *) echo "usage: $0 {venv|system|qt|axe|postgres|docker|sandbox|docker2|all}" >&2; exit 2 ;;
esac
