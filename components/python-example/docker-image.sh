#!/usr/bin/env bash
# Builds the Docker image of the Python example component offline, the way a Keboola component's
# image is (CPython, the requirements, the tree at /code, CMD python -u /code/src/component.py),
# from Debian packages instead of Docker Hub:
#   1. a base image: `debootstrap --variant=minbase --include=python3 bookworm`, `docker import`;
#   2. the component image: the requirements installed with the host's pip into a folder (pure
#      Python wheels, plus manylinux ones for CPython 3.11, Debian bookworm's), then
#      `docker build` FROM the base with the tree and that folder copied in.
# Both are cached by a content hash (this script; plus requirements.txt and src/ for the
# component image), so a rerun that changed nothing builds nothing. Prints the image tag.
#
# Usage: docker-image.sh [SCRATCH_DIR]   (SCRATCH_DIR, default a temp dir, holds the rootfs and
# the pip download while building; it is emptied afterwards).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
scratch="${1:-$(mktemp -d -t berth-python-image.XXXXXX)}"
suite="bookworm"
mirror="${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

base_hash="$(sha256sum "$0" | cut -c1-16)"
base_tag="berth-python-base:${suite}-${base_hash}"
component_hash="$(cat "$0" "$here/requirements.txt" $(find "$here/src" -type f -name '*.py' | sort) | sha256sum | cut -c1-16)"
component_tag="berth-python-example:${component_hash}"

if docker image inspect "$component_tag" >/dev/null 2>&1; then
    echo "$component_tag"
    exit 0
fi

mkdir -p "$scratch"
cleanup() { rm -rf "$scratch/rootfs" "$scratch/context"; }
trap cleanup EXIT

if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
    if ! command -v debootstrap >/dev/null 2>&1; then
        echo "docker-image.sh: debootstrap is not installed (apt-get install debootstrap)" >&2
        exit 1
    fi
    rm -rf "$scratch/rootfs"
    debootstrap --variant=minbase --include=python3 "$suite" "$scratch/rootfs" "$mirror" >&2
    # Leave out what a component never needs: apt caches, docs, man pages, locales.
    rm -rf "$scratch/rootfs"/var/cache/apt/archives/*.deb "$scratch/rootfs"/var/lib/apt/lists/* \
        "$scratch/rootfs"/usr/share/doc "$scratch/rootfs"/usr/share/man "$scratch/rootfs"/usr/share/locale
    tar -C "$scratch/rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' - "$base_tag" >&2
    rm -rf "$scratch/rootfs"
fi

context="$scratch/context"
rm -rf "$context"
mkdir -p "$context/code" "$context/site"
cp -r "$here/src" "$here/requirements.txt" "$context/code/"
python3 -m pip install --quiet --disable-pip-version-check --no-input --no-compile \
    --target "$context/site" --python-version 3.11 --only-binary=:all: \
    --platform manylinux2014_x86_64 -r "$here/requirements.txt" >&2
cat >"$context/Dockerfile" <<EOF
FROM $base_tag
COPY site /usr/local/lib/python3.11/dist-packages/
COPY code /code/
WORKDIR /code/
CMD ["python3", "-u", "/code/src/component.py"]
EOF
DOCKER_BUILDKIT=0 docker build --quiet -t "$component_tag" "$context" >&2
echo "$component_tag"
