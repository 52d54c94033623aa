#!/bin/sh
# Build the systemd host-container image every molecule scenario uses (cached after the first build).
# Usage: molecule/_shared/build-image.sh [image-tag]; CFMOL_BASE_IMAGE overrides the base.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tag=${1:-${CFMOL_IMAGE:-cfmol-systemd:trixie}}
base=${CFMOL_BASE_IMAGE:-cloudflock/base:trixie-manual}
if ! docker image inspect "$base" >/dev/null 2>&1; then
    echo "base image $base is missing: build it first (see DEVELOPERS.md, 'Host containers for molecule')" >&2
    exit 1
fi
docker build --quiet --build-arg "BASE_IMAGE=$base" -t "$tag" "$here" >/dev/null
echo "$tag"
