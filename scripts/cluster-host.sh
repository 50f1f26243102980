#!/usr/bin/env bash
# Prepares this machine for the real-pod tests (internal/kube/kubetest with Options.Real):
# Debian's containerd, runc, podman and CNI plugins, podman settings that work on this kind
# of machine (cgroup v1 hybrid, no setrlimit), the pause image built here (there is no
# registry to pull one from), and a running containerd with its CRI plugin set for a kubelet
# (cgroupfs driver, CNI configuration in a directory of the tests' own). Idempotent: a second
# run changes nothing and starts nothing new.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# The directory the test cluster writes its CNI configuration to (kubetest.CNIConfDir).
CNI_CONF_DIR=/etc/dinfra-kubetest/net.d

need=()
for pkg in containerd runc podman containernetworking-plugins iptables conntrack busybox-static; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  apt-get update -qq || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# crun's and podman's default ulimits are refused here; podman runs with runc (see images.sh).
mkdir -p /etc/containers
if ! grep -qs '^default_ulimits = \[\]' /etc/containers/containers.conf; then
  printf '[containers]\ndefault_ulimits = []\n' >/etc/containers/containers.conf
fi

pause_image=$("$ROOT/scripts/images.sh" build pause)

mkdir -p "$CNI_CONF_DIR"
config=$(cat <<EOF
# Written by scripts/cluster-host.sh for the real-pod tests.
version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$pause_image"
    # This kind of machine refuses a negative oom_score_adj (the sandbox's -998, guaranteed
    # pods' -997): keep containers at or above containerd's own, as for rootless containerd.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$CNI_CONF_DIR"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "/usr/sbin/runc"
          SystemdCgroup = false
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
EOF
)
changed=false
if [[ "$(cat /etc/containerd/config.toml 2>/dev/null)" != "$config" ]]; then
  printf '%s\n' "$config" >/etc/containerd/config.toml
  changed=true
fi

# No init system runs containerd on these machines: start it (again, if its configuration
# changed) in the background, its log in /var/log/containerd.log.
pidfile=/run/containerd-dinfra.pid
if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  if $changed; then
    kill "$(cat "$pidfile")"
    while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
    rm -f "$pidfile"
  fi
elif ctr version >/dev/null 2>&1; then
  $changed && echo "containerd runs outside this script: restart it to load /etc/containerd/config.toml" >&2
fi
if ! ctr version >/dev/null 2>&1; then
  setsid containerd >>/var/log/containerd.log 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
  ctr version >/dev/null
fi

"$ROOT/scripts/images.sh" import pause >/dev/null
