#!/usr/bin/env bash
# Builds the external tools the project runs (real nodes, real control planes) from the
# wrapper modules under tools/, into a cache keyed by tool and version, and prints the path
# of each binary. A warm cache makes this a no-op.
#
#   scripts/tools.sh gossamer          # prints the gossamer binary path
#   scripts/tools.sh env               # prints export lines for every tool (eval "$(...)")
set -euo pipefail
# A failed step inside $(...) fails the caller too (a tool whose build failed must never be
# printed as if it existed).
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${DINFRA_TOOLS_CACHE:-$HOME/.cache/dinfra-stack/tools}"

# build NAME VERSION PACKAGE [ldflags]: builds PACKAGE from tools/NAME into CACHE/NAME-VERSION/NAME.
build() {
  build_in "$1" "$@"
}

# build_in MODULE NAME VERSION PACKAGE [ldflags]: builds PACKAGE from the wrapper module
# tools/MODULE into CACHE/NAME-VERSION/NAME (one module may hold several binaries). With
# MODFILE set, the build reads that go.mod instead of the wrapper's (a patched dependency).
build_in() {
  local module=$1 name=$2 version=$3 pkg=$4 ldflags=${5:-}
  local out="$CACHE/$name-$version/$name"
  once "$out" go_build "$module" "$name" "$version" "$pkg" "$ldflags"
  echo "$out"
}

go_build() {
  local module=$1 name=$2 version=$3 pkg=$4 ldflags=$5 out=$6
  echo "building $name $version (cached in $CACHE)" >&2
  (cd "$ROOT/tools/$module" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath ${MODFILE:+-modfile "$MODFILE"} -ldflags "$ldflags" -o "$out" "$pkg")
}

# once PATH MAKER ARGS...: unless PATH exists, runs MAKER ARGS... PATH.tmp and renames the
# result to PATH. One maker at a time: a second caller waits for the first and reuses its work.
once() {
  local path=$1 lock
  shift
  if [[ ! -e "$path" ]]; then
    mkdir -p "$(dirname "$path")"
    exec {lock}>"$path.lock"
    flock "$lock"
    if [[ ! -e "$path" ]]; then
      rm -rf "$path.tmp"
      "$@" "$path.tmp"
      mv "$path.tmp" "$path"
    fi
    exec {lock}>&-
  fi
}

# own_code VERSION MODULE: VERSION, and for a wrapper module with code of its own (a main.go
# that adds flags or behaviour), a hash of that code too, so that changing it rebuilds the tool.
own_code() {
  local version=$1 module=$2
  echo "$version-$(cat "$ROOT/tools/$module"/*.go | sha256sum | cut -c1-8)"
}

# gossamer v0.9.0 carries the patches in tools/gossamer/patches (why: in each patch's header),
# applied to a copy of its module source; a hash of them is part of the cache key.
GOSSAMER_VERSION=v0.9.0

gossamer() {
  local key src
  key="$GOSSAMER_VERSION-$(cat "$ROOT"/tools/gossamer/patches/*.patch | sha256sum | cut -c1-8)"
  src="$CACHE/gossamer-src-$key"
  once "$src" patched_gossamer_source
  local bin
  bin=$(MODFILE="$src.mod" build gossamer "$key" github.com/ChainSafe/gossamer/cmd/gossamer)
  # The westend chain specs ship inside the gossamer module; keep them beside the binary.
  once "$(dirname "$bin")/chain" copy_gossamer_chains "$src"
  echo "$bin"
}

# patched_gossamer_source DIR: the gossamer module's source with the patches applied, and
# DIR.mod, the wrapper's go.mod pointing gossamer at DIR.
patched_gossamer_source() {
  local dir=$1 orig patch
  # Download first: on a fresh machine the module is not in the module cache yet, and
  # `go list -m` then has no directory to print.
  orig=$(cd "$ROOT/tools/gossamer" && GOFLAGS=-mod=mod go mod download github.com/ChainSafe/gossamer &&
    GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/ChainSafe/gossamer)
  [[ -d "$orig" ]] || { echo "tools: no source directory for github.com/ChainSafe/gossamer" >&2; return 1; }
  cp -r "$orig" "$dir"
  chmod -R u+w "$dir"
  for patch in "$ROOT"/tools/gossamer/patches/*.patch; do
    (cd "$dir" && git apply -p1 "$patch") # git, not patch(1): CI has git for certain
  done
  local final=${dir%.tmp}
  cp "$ROOT/tools/gossamer/go.sum" "$final.sum"
  { cat "$ROOT/tools/gossamer/go.mod"; echo "replace github.com/ChainSafe/gossamer => $final"; } >"$final.mod"
}

copy_gossamer_chains() {
  local src=$1 dir=$2
  mkdir -p "$dir"
  cp -r "$src/chain/westend-dev" "$src/chain/westend-local" "$dir/"
}

# --- Kubernetes control plane for the operator's tests and benchmark -----------------------
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
CONTROLLER_GEN_VERSION=v0.21.0
COREDNS_VERSION=v1.12.4

# kube_all: the five Kubernetes binaries in one go build when any is missing, which compiles
# their shared packages once and links them while other packages still compile (five builds
# in a row each end in a single-threaded link).
KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

kube_all() {
  local name missing=()
  for name in "${KUBE_BINARIES[@]}"; do
    [[ -x "$CACHE/$name-$KUBE_VERSION/$name" ]] || missing+=("$name")
  done
  ((${#missing[@]})) || return 0
  mkdir -p "$CACHE"
  local lock out="$CACHE/kube-$KUBE_VERSION.tmp"
  exec {lock}>"$CACHE/kube-$KUBE_VERSION.lock"
  flock "$lock"
  echo "building ${missing[*]} $KUBE_VERSION (cached in $CACHE)" >&2
  rm -rf "$out" && mkdir -p "$out"
  (cd "$ROOT/tools/kube" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$(kube_ldflags)" -o "$out/" "${missing[@]/#/./}")
  for name in "${missing[@]}"; do
    mkdir -p "$CACHE/$name-$KUBE_VERSION"
    mv "$out/$name" "$CACHE/$name-$KUBE_VERSION/$name"
  done
  rm -rf "$out"
  exec {lock}>&-
}

# kube_ldflags: the version stamp upstream's release build puts into kube binaries, so the
# API server reports v1.36.3 (clients and envtest check it).
kube_ldflags() {
  local v=k8s.io/component-base/version
  echo "-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=36 -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
}

kube_apiserver() {
  build_in kube kube-apiserver "$KUBE_VERSION" ./kube-apiserver "$(kube_ldflags)"
}

kube_controller_manager() {
  build_in kube kube-controller-manager "$KUBE_VERSION" ./kube-controller-manager "$(kube_ldflags)"
}

kube_scheduler() {
  build_in kube kube-scheduler "$KUBE_VERSION" ./kube-scheduler "$(kube_ldflags)"
}

# kubelet and kube-proxy run the real-pod tests' node (containerd, CNI, iptables Services).
kubelet() {
  build_in kube kubelet "$KUBE_VERSION" ./kubelet "$(kube_ldflags)"
}

kube_proxy() {
  build_in kube kube-proxy "$KUBE_VERSION" ./kube-proxy "$(kube_ldflags)"
}

# kube-network-policies enforces NetworkPolicies on the real-pod tests' node (nftables and
# NFQUEUE), from the wrapper module's own command (kubeconfig, named table, --cleanup).
KUBE_NETWORK_POLICIES_VERSION=v0.8.0

kube_network_policies() {
  build kube-network-policies "$(own_code "$KUBE_NETWORK_POLICIES_VERSION" kube-network-policies)" . "-s -w"
}

# coredns answers the real-pod tests' cluster DNS (the StatefulSet pods' stable names).
coredns() {
  build coredns "$(own_code "$COREDNS_VERSION" coredns)" . "-s -w"
}

etcd() {
  build etcd "$(own_code "$ETCD_VERSION" etcd)" . "-s -w"
}

# kubebuilder_assets: the directory envtest expects (KUBEBUILDER_ASSETS), holding
# kube-apiserver and etcd side by side.
kubebuilder_assets() {
  local apiserver etcdbin dir="$CACHE/kubebuilder-assets-$KUBE_VERSION-$ETCD_VERSION"
  apiserver=$(kube_apiserver)
  etcdbin=$(etcd)
  mkdir -p "$dir"
  ln -sf "$apiserver" "$dir/kube-apiserver"
  ln -sf "$etcdbin" "$dir/etcd"
  echo "$dir"
}

kwok() {
  local bin
  bin=$(build kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "-s -w")
  # The "fast" stages (nodes ready at once, pods Ready as soon as they are scheduled) ship
  # inside the kwok module; keep them beside the binary.
  local stages="$(dirname "$bin")/stages"
  if [[ ! -d "$stages" ]]; then
    local dir
    dir=$(cd "$ROOT/tools/kwok" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    mkdir -p "$stages.tmp"
    cp "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
      "$dir"/kustomize/stage/pod/fast/{pod-ready,pod-complete,pod-delete}.yaml "$stages.tmp/"
    chmod -R u+w "$stages.tmp"
    mv "$stages.tmp" "$stages"
  fi
  echo "$bin"
}

kwok_stages() {
  echo "$(dirname "$(kwok)")/stages"
}

helm() {
  build helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
}

controller_gen() {
  build controller-gen "$CONTROLLER_GEN_VERSION" sigs.k8s.io/controller-tools/cmd/controller-gen \
    "-s -w -X sigs.k8s.io/controller-tools/pkg/version.version=$CONTROLLER_GEN_VERSION"
}

# --- DINFRA reactor: IPFS node for the descriptor store, OpenAPI code generator ---------------
KUBO_VERSION=v0.43.0
OAPI_CODEGEN_VERSION=v2.5.1

kubo() {
  build kubo "$KUBO_VERSION" github.com/ipfs/kubo/cmd/ipfs "-s -w"
}

oapi_codegen() {
  build oapi-codegen "$OAPI_CODEGEN_VERSION" github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen "-s -w"
}

# --- Logs: a Loki-API log store for the log shipping tests (Grafana Loki is AGPL) -------------
VICTORIALOGS_VERSION=v1.52.2

victorialogs() {
  build_in victorialogs victoria-logs "$VICTORIALOGS_VERSION" github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs "-s -w"
}

# --- Backups: a real S3 server for the s3:// destination's tests --------------------------------
# versitygw's S3 API on its POSIX backend, from the wrapper's own main (not upstream's command,
# which links every backend and took over 15 minutes to build cold here). v1.8.0, not the
# v1.0.19 the issue names: the module proxy refuses v1.0.19 (docs/backup.md).
VERSITYGW_VERSION=v1.8.0

versitygw() {
  build versitygw "$(own_code "$VERSITYGW_VERSION" versitygw)" . "-s -w"
}

case "${1:-}" in
  gossamer) gossamer ;;
  versitygw) versitygw ;;
  victorialogs) victorialogs ;;
  kubo) kubo ;;
  oapi-codegen) oapi_codegen ;;
  kube-apiserver) kube_apiserver ;;
  kube-controller-manager) kube_controller_manager ;;
  kube-scheduler) kube_scheduler ;;
  kubelet) kubelet ;;
  kube-proxy) kube_proxy ;;
  coredns) coredns ;;
  kube-network-policies) kube_network_policies ;;
  etcd) etcd ;;
  kubebuilder-assets) kubebuilder_assets ;;
  kwok) kwok ;;
  kwok-stages) kwok_stages ;;
  helm) helm ;;
  controller-gen) controller_gen ;;
  env)
    # A cold cache builds in two lanes at once: each build ends in a link that keeps one core
    # busy, and the other lane fills the second. The Kubernetes binaries share one build.
    # Steps are separated by ';', not '&&': errexit is off inside an '&&' list, so a failed
    # build would not stop the lane.
    lane_kube() { kube_all; etcd; kwok; controller_gen; }
    lane_rest() { gossamer; kubo; coredns; kube_network_policies; helm; victorialogs; versitygw; }
    lane_kube >/dev/null & kube_pid=$!
    lane_rest >/dev/null & rest_pid=$!
    status=0
    wait "$kube_pid" || status=$?
    wait "$rest_pid" || status=$?
    ((status == 0)) || exit "$status"
    echo "export GOSSAMER_BIN=$(gossamer)"
    echo "export KUBO_BIN=$(kubo)"
    echo "export KUBEBUILDER_ASSETS=$(kubebuilder_assets)"
    echo "export KCM_BIN=$(kube_controller_manager)"
    echo "export KUBE_SCHEDULER_BIN=$(kube_scheduler)"
    echo "export KUBELET_BIN=$(kubelet)"
    echo "export KUBE_PROXY_BIN=$(kube_proxy)"
    echo "export COREDNS_BIN=$(coredns)"
    echo "export KUBE_NETWORK_POLICIES_BIN=$(kube_network_policies)"
    echo "export KWOK_BIN=$(kwok)"
    echo "export KWOK_STAGES=$(kwok_stages)"
    echo "export HELM_BIN=$(helm)"
    echo "export CONTROLLER_GEN_BIN=$(controller_gen)"
    echo "export VICTORIALOGS_BIN=$(victorialogs)"
    echo "export VERSITYGW_BIN=$(versitygw)"
    ;;
  *) echo "usage: $0 gossamer|versitygw|victorialogs|kubo|oapi-codegen|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|coredns|kube-network-policies|etcd|kubebuilder-assets|kwok|kwok-stages|helm|controller-gen|env" >&2; exit 2 ;;
esac
