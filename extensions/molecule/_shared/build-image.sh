#!/bin/sh
# Build the systemd host-container image every molecule scenario uses (cached after the first build).
# Usage: extensions/molecule/_shared/build-image.sh [image-tag]; CFMOL_BASE_IMAGE overrides the base.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tag=${1:-${CFMOL_IMAGE:-cfmol-systemd:trixie}}
base=${CFMOL_BASE_IMAGE:-}
if [ -z "$base" ]; then
    for candidate in cloudflock/base:trixie cloudflock/base:trixie-manual; do
        if docker image inspect "$candidate" >/dev/null 2>&1; then base=$candidate; break; fi
    done
fi
if [ -z "$base" ] || ! docker image inspect "$base" >/dev/null 2>&1; then
    echo "no base image: make provision builds cloudflock/base:trixie, or set CFMOL_BASE_IMAGE (see DEVELOPERS.md)" >&2
    exit 1
fi
# One build at a time (the test suite's two workers may both ask for it): the second finds the first's cache.
exec 9>"${TMPDIR:-/tmp}/cfmol-build-image.lock"
flock 9
docker build --quiet --build-arg "BASE_IMAGE=$base" -t "$tag" "$here" >/dev/null
echo "$tag"
