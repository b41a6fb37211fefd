#!/bin/sh
# Hardens a Debian root file system for the sandbox image. Used by both builds: the Dockerfile runs it
# on "/", the offline build (debootstrap + docker import) runs it on the unpacked ROOTFS directory.
#   rootfs-setup.sh ROOT
set -eu
root=${1:?usage: rootfs-setup.sh ROOT}
uid=10001
name=runner

# The non-root user every sandbox process runs as (the runner also passes --user uid:gid).
grep -q "^$name:" "$root/etc/group" || echo "$name:x:$uid:" >>"$root/etc/group"
grep -q "^$name:" "$root/etc/passwd" ||
  echo "$name:x:$uid:$uid:sandbox runner:/work:/usr/sbin/nologin" >>"$root/etc/passwd"
if [ -f "$root/etc/shadow" ] && ! grep -q "^$name:" "$root/etc/shadow"; then
  echo "$name:!:19000:0:99999:7:::" >>"$root/etc/shadow"
fi

# The work folder; at run time a size-limited tmpfs is mounted over it.
mkdir -p "$root/work"
chown "$uid:$uid" "$root/work"
chmod 0700 "$root/work"

# No set-user-ID or set-group-ID programs: nothing in the image can raise privileges
# (no-new-privileges would already neuter them; this is the second lock).
find "$root" -xdev -type f -perm /6000 -exec chmod ug-s {} +
rm -f "$root/usr/bin/sudo"

# Smaller image: no documentation, package caches or logs.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/*
