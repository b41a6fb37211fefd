#!/bin/sh
# /usr/bin/post16-desktop-configure: set the school's server for every user of this computer.
#     sudo post16-desktop-configure --server https://lessons.school.example
# Writes server_url to /etc/post16/desktop.toml (other keys kept). Exit 0 on success.
set -eu
usage() { echo "usage: post16-desktop-configure --server URL" >&2; exit 2; }
[ "$#" -ge 1 ] || usage
case "$1" in
  --server) [ "$#" -eq 2 ] || usage; url=$2 ;;
  --server=*) [ "$#" -eq 1 ] || usage; url=${1#--server=} ;;
  -h|--help) usage ;;
  *) [ "$#" -eq 1 ] || usage; url=$1 ;;
esac
root=${DPKG_ROOT:-}
POST16_DESKTOP_MACHINE_CONFIG="${POST16_DESKTOP_MACHINE_CONFIG:-$root/etc/post16/desktop.toml}" \
  exec "$root/opt/post16-desktop/post16-desktop" --configure-machine --server "$url"
