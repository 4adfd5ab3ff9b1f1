# shellcheck shell=bash
# The real node of a local cluster (hack/cluster up with WANDB_CLUSTER_REAL_NODE=1):
# containerd and runc (Debian's), the CNI bridge plugin (Debian's), and a
# kubelet and kube-proxy built from the same Kubernetes source as the API
# server. Sourced by hack/cluster, whose helpers (start, wait_for, log, die,
# new_cert, write_kubeconfig, ...) it uses.
#
# The node's network is a bridge of its own, $NODE_BRIDGE, with the node's
# address $NODE_IP: pods reach the API server through the `kubernetes`
# Service (kube-proxy's iptables rules send 10.96.0.1:443 to $NODE_IP), and
# nothing leaves the machine. One real node runs at a time: the bridge, the
# kube-proxy rules and the kubepods cgroups are the machine's.
#
# The node is tainted $NODE_TAINT:NoSchedule, so only pods that tolerate it
# run there; every other pod stays on kwok's simulated nodes.

NODE_NAME=wandb-real-node
NODE_BRIDGE=wbnode0
NODE_IP=10.88.0.1
NODE_POD_CIDR=10.88.0.0/24
NODE_TAINT=wandb-operator.local/real-node
NODE_BASE_IMAGE=wandb-operator.local/node-base:1
# Debian's packages the node needs, and a file each installs.
NODE_PACKAGES=(containerd:/usr/bin/containerd runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge
  iptables:/usr/sbin/iptables conntrack:/usr/sbin/conntrack busybox-static:/bin/busybox)

# ---------------------------------------------------------------- install

node_missing_packages() {
  local p
  for p in "${NODE_PACKAGES[@]}"; do [[ -e ${p#*:} ]] || echo "${p%%:*}"; done
}

# Debian's packages, when missing and apt can install them; a machine where
# it cannot still gets a kwok-only cluster, and `up` with a real node says
# what is missing.
node_install_packages() {
  local missing; missing=$(node_missing_packages | paste -sd' ')
  [[ -n $missing ]] || return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    log "the real node needs Debian's $missing; not installed (needs root and apt-get)"
    return 0
  fi
  log "installing Debian's $missing for the real node"
  # shellcheck disable=SC2086 # one word per package
  apt_install $missing >>"$GO_LOG" 2>&1 ||
    log "apt-get install $missing failed (log: $GO_LOG); the real node will not start"
}

# The sandbox and tool image (hack/node/base-image), kept beside the binaries.
node_install_image() {
  [[ -x /bin/busybox ]] || return 0
  local key; key=$(files_key "$HACK_DIR/node/pause.c" "$HACK_DIR/node/base-image" "$HACK_DIR/oci_image.py" </dev/null)
  stamp_ok node-base "$key" && [[ -f $CACHE/share/node-base.tar ]] && return 0
  mkdir -p "$CACHE/share"
  "$HACK_DIR/node/base-image" "$CACHE/share/node-base.tar" >/dev/null || die "building the real node's base image failed"
  stamp_set node-base "$key"
}

# ---------------------------------------------------------------- up

# Why a real node cannot start here, or nothing: printed by `node-check` and
# by `up`, so a test can skip with the reason instead of hanging.
node_unavailable() {
  local missing; missing=$(node_missing_packages | paste -sd' ')
  [[ -z $missing ]] || { echo "Debian's $missing not installed (hack/cluster install installs them as root)"; return; }
  [[ $(id -u) == 0 ]] || { echo "containerd and the kubelet need root"; return; }
  [[ -x $BIN/kubelet && -x $BIN/kube-proxy ]] || { echo "no kubelet or kube-proxy in $BIN (run hack/cluster install)"; return; }
  [[ -f $CACHE/share/node-base.tar ]] || { echo "no base image in $CACHE/share (run hack/cluster install)"; return; }
  grep -qw overlay /proc/filesystems || { echo "the kernel has no overlay filesystem"; return; }
  [[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] || { echo "no memory cgroup at /sys/fs/cgroup"; return; }
  local other
  for other in "$CLUSTERS"/*/node; do
    [[ -d $other && $other != "$STATE/node" ]] || continue
    echo "cluster '$(basename "$(dirname "$other")")' runs the real node already (one at a time)"; return
  done
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && [[ ! -d $STATE/node ]]; then
    echo "the bridge $NODE_BRIDGE exists and no cluster owns it (ip link delete $NODE_BRIDGE)"; return
  fi
}

# Before the API server: its address on the node's bridge must exist.
node_network_up() {
  ip link add "$NODE_BRIDGE" type bridge
  ip addr add "$NODE_IP/24" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Routed Service traffic between pods, and bridged traffic through
  # kube-proxy's rules (a client pod and the Service's pod on one bridge).
  sysctl -qw net.ipv4.ip_forward=1
  [[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || sysctl -qw net.bridge.bridge-nf-call-iptables=1
}

node_pki() {
  new_cert kubelet ca "/O=system:nodes/CN=system:node:$NODE_NAME" serverAuth,clientAuth "IP:$NODE_IP,DNS:$NODE_NAME"
  new_cert kube-proxy ca /CN=system:kube-proxy clientAuth
}

node_write_configs() { # kubelet-port kubelet-healthz-port proxy-healthz-port proxy-metrics-port
  local dir=$STATE/node
  mkdir -p "$dir/cni" "$dir/kubelet"
  cat >"$dir/containerd.toml" <<EOF
version = 2
root = "$dir/containerd"
state = "$dir/containerd-state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.opt"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$NODE_BASE_IMAGE"
  # A sandboxed machine's root may lack CAP_SYS_RESOURCE: then no process
  # may lower its oom_score_adj, and runc fails every pod sandbox (-998)
  # with "can't get final child's PID from pipe". No pod's score goes below
  # containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
EOF
  cat >"$dir/cni/10-wandb-node.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "wandb-node", "plugins": [
  {"type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$dir/cni-ipam",
            "ranges": [[{"subnet": "$NODE_POD_CIDR", "rangeStart": "10.88.0.10", "gateway": "$NODE_IP"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}
]}
EOF
  # Eviction thresholds near zero: a test machine's disk is often fuller
  # than a node's should be, and an eviction would be a false failure.
  cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $1
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $2
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$dir/containerd.sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
resolvConf: ""
registerWithTaints:
- {key: $NODE_TAINT, value: "true", effect: NoSchedule}
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
volumePluginDir: $dir/volume-plugins
# The machine's firewall is left alone (no KUBE-FIREWALL chains): kube-proxy's
# Service rules are the only ones the node adds, and down removes them.
makeIPTablesUtilChains: false
EOF
  cat >"$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $dir/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
clusterCIDR: $NODE_POD_CIDR
nodePortAddresses: ["$NODE_IP/32"]
healthzBindAddress: 127.0.0.1:$3
metricsBindAddress: 127.0.0.1:$4
# 0: leave the machine's conntrack settings as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {syncPeriod: 30s, minSyncPeriod: 0s}
EOF
  write_kubeconfig "$dir/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet
  write_kubeconfig "$dir/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
}

containerd_ready() { ctr --address "$STATE/node/containerd.sock" version; }

# After the control plane: containerd, the base image, the kubelet and
# kube-proxy, then the node Ready.
node_up() {
  local t0; t0=$(now_ms)
  local ports; read -r -a ports <<<"$(pick_ports 4)"
  KUBELET_PORT=${ports[0]} KUBELET_HEALTHZ_PORT=${ports[1]} PROXY_HEALTHZ_PORT=${ports[2]} PROXY_METRICS_PORT=${ports[3]}
  declare -p KUBELET_PORT KUBELET_HEALTHZ_PORT PROXY_HEALTHZ_PORT PROXY_METRICS_PORT | sed 's/^declare -- //' >>"$STATE/ports"
  node_write_configs "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT" "$PROXY_HEALTHZ_PORT" "$PROXY_METRICS_PORT"
  start containerd containerd --config "$STATE/node/containerd.toml"
  wait_for 30 "containerd to serve" containerd containerd_ready
  node_load_image "$CACHE/share/node-base.tar"
  start kubelet "$BIN/kubelet" --config="$STATE/node/kubelet.yaml" --kubeconfig="$STATE/node/kubelet.kubeconfig" \
    --root-dir="$STATE/node/kubelet" --cert-dir="$STATE/node/kubelet/pki" --hostname-override="$NODE_NAME" \
    --node-ip="$NODE_IP" --node-labels="$NODE_TAINT=true"
  start kube-proxy "$BIN/kube-proxy" --config="$STATE/node/kube-proxy.yaml"
  wait_for 90 "the real node to be Ready" kubelet KUBECTL wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
  wait_for 30 "kube-proxy to be healthy" kube-proxy curl -sf --max-time 2 "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"
  log "real node '$NODE_NAME' is Ready in $(elapsed "$t0") (containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'))"
}

# An image archive (docker-archive or OCI) into the node's containerd, where
# the kubelet finds it without a pull (imagePullPolicy IfNotPresent).
node_load_image() { # archive
  ctr --address "$STATE/node/containerd.sock" --namespace k8s.io images import --snapshotter overlayfs "$1" >/dev/null ||
    die "importing $1 into the real node's containerd failed"
}

node_healthy() {
  [[ -d $STATE/node ]] || return 0
  local c
  for c in containerd kubelet kube-proxy; do
    [[ -f $STATE/pids/$c.pid ]] && pid_alive "$(first_line "$STATE/pids/$c.pid")" || return 1
  done
}

# ---------------------------------------------------------------- down

# Every container of the node killed, its processes (the kubelet,
# kube-proxy, containerd and its shims) stopped, its mounts, network
# namespaces and cgroups removed.
node_down() {
  local dir=$STATE/node
  [[ -d $dir ]] || return 0
  local pid
  for pid in kubelet kube-proxy; do # nothing restarts what is killed below
    pid=$(first_line "$STATE/pids/$pid.pid" 2>/dev/null) && kill -KILL "$pid" 2>/dev/null || true
  done
  node_kill_pods
  # containerd and its shims (their command lines name $dir): stop_state's
  # safety net would kill them too, but before the mounts go.
  for pid in $(state_pids "$dir"); do kill -KILL "$pid" 2>/dev/null || true; done
  local t
  for ((t = 0; t < 50; t++)); do [[ -z $(state_pids "$dir") ]] && break; sleep 0.1; done
  local m
  findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do
    [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && ip netns delete "$ns" 2>/dev/null || true
  done
}

# After the control plane has stopped: the API server listens on the
# bridge's address, and without it does not shut down in time.
node_network_down() {
  [[ -d $STATE/node ]] || return 0
  ip link delete "$NODE_BRIDGE" 2>/dev/null || true
  "$BIN/kube-proxy" --cleanup >>"$STATE/logs/kube-proxy.log" 2>&1 || true
  local tool
  for tool in iptables ip6tables; do # what kube-proxy's cleanup leaves (its hint chain)
    command -v "$tool-save" >/dev/null || continue
    "$tool-save" | grep -q -- 'KUBE-' || continue
    "$tool-save" | grep -v -- 'KUBE-' | "$tool-restore" || log "could not remove the KUBE- rules from $tool"
  done
}

# Every process in the kubelet's cgroups (the pods' containers and sandboxes),
# killed, then the emptied cgroups removed.
node_kill_pods() {
  local roots=() r
  for r in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do [[ -d $r ]] && roots+=("$r"); done
  ((${#roots[@]})) || return 0
  local t pids
  for ((t = 0; t < 50; t++)); do
    pids=$(find "${roots[@]}" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    [[ -n $pids ]] || break
    # shellcheck disable=SC2086 # one word per pid
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  for r in "${roots[@]}"; do find "$r" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
}
