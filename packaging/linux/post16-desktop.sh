#!/bin/sh
# /usr/bin/post16-desktop: the app lives in /opt/post16-desktop (one folder, frozen with PyInstaller).
exec /opt/post16-desktop/post16-desktop "$@"
