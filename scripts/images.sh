#!/usr/bin/env bash
# Builds the project's container images with podman, FROM scratch (no registry is needed):
#
#   onf       the operator and CLI (Dockerfile at the root): static onf and dinfra
#   gossamer  a gossamer node: the binary from scripts/tools.sh, its westend chain specs, busybox
#   pause     the pod sandbox image of the real-pod test cluster (scripts/cluster-host.sh)
#   machine   a rented machine of the cloud-init/v1 driver: Debian 12 minbase with sshd, sudo and
#             cloud-init (root file system from mmdebstrap, cached in $CACHE/machine-rootfs-HASH.tar)
#
# Each image is tagged localhost/dinfra/NAME:<hash of its build context>, so an unchanged
# image is never rebuilt and a changed one never hides behind an old tag.
#
#   scripts/images.sh build NAME...    # builds (if needed), prints each image name
#   scripts/images.sh import NAME...   # also imports into containerd's k8s.io namespace
#   scripts/images.sh env              # imports onf and gossamer, prints ONF_IMAGE=, GOSSAMER_IMAGE=
#   scripts/images.sh save NAME FILE   # writes a docker archive (to push: podman push IMAGE REF)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${DINFRA_IMAGES_CACHE:-$HOME/.cache/dinfra-stack/images}"
BUSYBOX=/bin/busybox

podman_() { podman --runtime /usr/sbin/runc "$@"; }

# context NAME DIR: fills DIR with NAME's Dockerfile and the files it copies.
context() {
  local name=$1 dir=$2
  case "$name" in
    onf)
      cp "$ROOT/Dockerfile" "$dir/"
      (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/" ./cmd/onf ./cmd/dinfra)
      ;;
    gossamer)
      local bin
      bin=$("$ROOT/scripts/tools.sh" gossamer)
      cp "$ROOT/images/gossamer/Dockerfile" "$BUSYBOX" "$bin" "$dir/"
      cp -r "$(dirname "$bin")/chain" "$dir/"
      ;;
    pause)
      cp "$ROOT/images/pause/Dockerfile" "$BUSYBOX" "$dir/"
      ;;
    machine)
      machine_rootfs || return 1
      cp "$ROOT"/images/machine/* "$dir/"
      ln "$MACHINE_ROOTFS_TAR" "$dir/rootfs.tar" 2>/dev/null || cp "$MACHINE_ROOTFS_TAR" "$dir/rootfs.tar"
      ;;
    *) echo "unknown image $name (onf, gossamer, pause, machine)" >&2; return 2 ;;
  esac
}

# machine_rootfs: a Debian 12 minbase root file system with sshd, sudo and Debian's
# cloud-init (22.4.2), built once from Debian's archive and cached by a hash of its recipe
# (machine-rootfs-HASH.tar): a changed recipe builds a new one. Host keys are removed (every
# machine gets its own through its user data); sshd's PAM session does not require
# pam_loginuid (a container may not set the login uid); /var/lib/dinfra/debs is a local
# package repository (the "hello" package) so a #cloud-config "packages" list installs
# offline, the way it would from a provider's mirror.
MACHINE_ROOTFS=(mmdebstrap --quiet --variant=minbase --include=openssh-server,sudo,ca-certificates,cloud-init
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*'
  --customize-hook='sed -i "s/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/" "$1"/etc/pam.d/sshd'
  --customize-hook='mkdir -p "$1"/var/lib/dinfra/debs && chroot "$1" sh -c "cd /var/lib/dinfra/debs && apt-get download -q hello" && (cd "$1"/var/lib/dinfra/debs && dpkg-scanpackages . >Packages 2>/dev/null)'
  --customize-hook='echo "deb [trusted=yes] file:/var/lib/dinfra/debs ./" >"$1"/etc/apt/sources.list.d/dinfra-local.list'
  bookworm)
machine_rootfs() {
  mkdir -p "$CACHE"
  MACHINE_ROOTFS_TAR="$CACHE/machine-rootfs-$(printf '%s\n' "${MACHINE_ROOTFS[@]}" | sha256sum | cut -c1-16).tar"
  local tar=$MACHINE_ROOTFS_TAR
  exec 9>"$CACHE/machine-rootfs.lock"
  flock 9
  if [[ ! -f $tar ]]; then
    echo "building the machine root file system (mmdebstrap, a few minutes)" >&2
    local tmp="${tar%.tar}.$$.tar" # mmdebstrap picks its output format by the extension
    "${MACHINE_ROOTFS[@]}" "$tmp" >&2 || { rm -f "$tmp"; return 1; }
    mv "$tmp" "$tar" || return 1
  fi
  exec 9>&-
}

# build NAME: prints localhost/dinfra/NAME:TAG, building it when podman has no such image.
build() {
  local name=$1 dir="$CACHE/$1.ctx.$$"
  rm -rf "$dir" && mkdir -p "$dir"
  context "$name" "$dir" || return 1
  local tag
  tag=$(cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  local image="localhost/dinfra/$name:$tag"
  if ! podman_ image exists "$image"; then
    echo "building image $image" >&2
    podman_ build --quiet --network none -t "$image" "$dir" >/dev/null || return 1
  fi
  rm -rf "$dir"
  echo "$image"
}

# import NAME: builds NAME and makes it available to the kubelet (containerd's k8s.io namespace).
import() {
  local image
  image=$(build "$1")
  if ! ctr -n k8s.io images ls -q | grep -qxF "$image"; then
    echo "importing $image into containerd" >&2
    local archive="$CACHE/$1.tar"
    podman_ save --quiet --format docker-archive -o "$archive" "$image" >/dev/null
    ctr -n k8s.io images import "$archive" >/dev/null
    rm -f "$archive"
  fi
  echo "$image"
}

cmd=${1:-}
shift || true
case "$cmd" in
  build|import)
    for name in "$@"; do "$cmd" "$name"; done
    ;;
  env)
    # Without the host set up (scripts/cluster-host.sh) there is nothing to import into: the
    # real-pod tests then skip locally and fail in CI (internal/testenv).
    if ! ctr version >/dev/null 2>&1 || ! command -v podman >/dev/null; then
      echo "images.sh: no containerd or podman; run scripts/cluster-host.sh for the real-pod tests" >&2
      exit 0
    fi
    echo "export ONF_IMAGE=$(import onf)"
    echo "export GOSSAMER_IMAGE=$(import gossamer)"
    echo "export PAUSE_IMAGE=$(import pause)"
    # The machine image needs Debian's archive (mmdebstrap) once; without it only the
    # machine tests miss it (skipped locally, failing in CI).
    if machine=$(build machine); then echo "export MACHINE_IMAGE=$machine"; else echo "images.sh: no machine image" >&2; fi
    ;;
  save)
    podman_ save --format docker-archive -o "$2" "$(build "$1")"
    ;;
  *) echo "usage: $0 build|import NAME... | env | save NAME FILE  (NAME: onf, gossamer, pause, machine)" >&2; exit 2 ;;
esac
