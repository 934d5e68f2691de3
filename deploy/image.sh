#!/usr/bin/env bash
# deploy/image.sh — build paperchart's container image without a registry.
#
#   1. debootstrap a minimal Debian bookworm into var/image/rootfs (once)
#   2. import it into buildah's storage as localhost/debian:bookworm
#   3. buildah bud the Dockerfile on it: localhost/paperchart:$TAG
#   4. optionally (SAVE=1) write var/image/paperchart-$TAG.oci.tar for
#      `podman load`, `ctr image import` or a registry push elsewhere
#
# Needs root and Debian's debootstrap and buildah (apt-get install debootstrap
# buildah). STORAGE_DRIVER=vfs and BUILDAH_ISOLATION=chroot (the defaults
# here) work where overlayfs cannot be mounted and no OCI runtime can start,
# e.g. inside another container. `make image` runs it.

set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TAG="${TAG:-dev}"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
# RUN steps: chroot isolation needs no OCI runtime or cgroups (crun refuses
# hybrid cgroup hierarchies, as inside another container); oci where it works.
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
WORK="$VAR/image"
ROOTFS="$WORK/rootfs-$SUITE"
BASE="localhost/debian:$SUITE"

command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v buildah >/dev/null || die "buildah is missing: apt-get install buildah"
[ "$(id -u)" = 0 ] || die "debootstrap and buildah's storage need root here"
mkdir -p "$WORK"

if ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  if [ ! -x "$ROOTFS/bin/bash" ]; then
    log "debootstrap $SUITE (minbase) from $MIRROR into $ROOTFS"
    rm -rf "$ROOTFS"
    debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
      die "debootstrap failed: see $WORK/debootstrap.log"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  fi
  log "import $ROOTFS as $BASE"
  tar -C "$ROOTFS" -cf "$ROOTFS.tar" .
  ctr="$(buildah from scratch)"
  buildah add "$ctr" "$ROOTFS.tar" / >/dev/null # a local tar is unpacked
  rm -f "$ROOTFS.tar"
  buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit --rm "$ctr" "$BASE" >/dev/null
fi

# The build stage fetches Go modules over HTTPS: behind a proxy that
# re-signs TLS, it needs the host's CA bundle (mounted for the build only,
# never copied into the image). BUILD_CA= turns this off.
BUILD_CA="${BUILD_CA-/etc/ssl/certs/ca-certificates.crt}"
ca_args=()
if [ -n "$BUILD_CA" ] && [ -f "$BUILD_CA" ]; then
  ca_args=(-v "$BUILD_CA:/run/build-ca.crt:ro" --build-arg SSL_CERT_FILE=/run/build-ca.crt)
fi

log "buildah bud -> localhost/paperchart:$TAG (FROM $BASE)"
buildah bud --layers --build-arg "DEBIAN=$BASE" "${ca_args[@]}" -t "localhost/paperchart:$TAG" -f "$REPO/Dockerfile" "$REPO"
buildah images "localhost/paperchart:$TAG"

if [ "${SAVE:-0}" = 1 ]; then
  out="$WORK/paperchart-$TAG.oci.tar"
  buildah push "localhost/paperchart:$TAG" "oci-archive:$out:paperchart:$TAG"
  info "saved $out"
fi
