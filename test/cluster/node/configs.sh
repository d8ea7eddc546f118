# shellcheck shell=bash
# Configuration files of the node's daemons, written from the cluster settings. Sourced by cluster.sh.
# Files are rendered on each `up` but only replaced when their content changes: kube-proxy exits
# when its config file is written to, even with the same content, and start_daemon restarts a
# daemon whose file arguments changed (by size and modification time).

write_if_changed() { # FILE <content on stdin
  local file=$1 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat > "$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    mv "$tmp" "$file"
  fi
}

write_containerd_config() {
  local dir="$CLUSTER_STATE/containerd"
  mkdir -p "$dir/certs.d" "$CLUSTER_STATE/cni/net.d"
  # The cluster's own containerd (not Docker's): its own socket, root and state, so `down` can
  # stop it without touching Docker, and Docker's images never mix with the node's.
  write_if_changed "$dir/config.toml" <<TOML
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CONTAINERD_SOCKET"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # These VMs withhold CAP_SYS_RESOURCE even from root, so runc cannot lower a container's
  # oom_score_adj below its parent's (pods failed with "failed to update /proc/self/oom_score_adj:
  # Permission denied"). Clamp it at containerd's own score instead, as rootless setups do.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
TOML
  # The local registry speaks plain HTTP. Pods name images localhost:$LOCAL_REGISTRY_PORT/..., as on kind;
  # the same registry is also reachable by the node's IP, the address pods push to.
  local host
  for host in "localhost:$LOCAL_REGISTRY_PORT" "$NODE_IP:$LOCAL_REGISTRY_PORT"; do
    mkdir -p "$dir/certs.d/$host"
    write_if_changed "$dir/certs.d/$host/hosts.toml" <<TOML
server = "http://$host"

[host."http://127.0.0.1:$LOCAL_REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
TOML
  done
}

write_cni_config() {
  # bridge + host-local + portmap: one Linux bridge for the node's pods, NAT for traffic leaving
  # the pod network, hairpin so a pod reaches itself through its own Service.
  write_if_changed "$CLUSTER_STATE/cni/net.d/10-hyperagent.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "hyperagent",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$NODE_POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
}

write_kubelet_config() {
  write_if_changed "$CLUSTER_STATE/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $CLUSTER_STATE/pki/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $CLUSTER_STATE/pki/kubelet-serving.crt
tlsPrivateKeyFile: $CLUSTER_STATE/pki/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCKET
# These machines run cgroup v1 without systemd as PID 1.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$CLUSTER_DNS_IP]
clusterDomain: cluster.local
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# Images are built and loaded locally and nothing can be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 200Mi
  nodefs.available: 2%
  imagefs.available: 2%
serializeImagePulls: false
maxPods: 110
# A fork bomb in one pod (a sandboxed candidate, say) must not exhaust the node's process table.
podPidsLimit: 1024
YAML
}

write_kube_proxy_config() {
  write_if_changed "$CLUSTER_STATE/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $CLUSTER_STATE/kube-proxy.kubeconfig
mode: iptables
clusterCIDR: $CLUSTER_POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: 0.0.0.0
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  # leave the VM's conntrack sysctls alone; the defaults are plenty for one node
  maxPerCore: 0
YAML
}

write_registry_config() {
  write_if_changed "$CLUSTER_STATE/registry.yaml" <<YAML
version: 0.1
log: { level: info, formatter: text }
storage:
  filesystem: { rootdirectory: $CLUSTER_STATE/registry }
  delete: { enabled: true }
http:
  addr: 0.0.0.0:$LOCAL_REGISTRY_PORT
  headers:
    X-Content-Type-Options: [nosniff]
YAML
}

write_prometheus_config() {
  # Pods opt in to scraping with annotations, the convention most charts follow:
  #   prometheus.io/scrape: "true"   prometheus.io/port: "8080"   prometheus.io/path: /metrics
  write_if_changed "$CLUSTER_STATE/prometheus.yaml" <<YAML
global:
  scrape_interval: ${PROMETHEUS_SCRAPE_INTERVAL}
  evaluation_interval: ${PROMETHEUS_SCRAPE_INTERVAL}
scrape_configs:
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
        api_server: https://$NODE_IP:$API_PORT
        tls_config:
          ca_file: $CLUSTER_STATE/pki/ca.crt
          cert_file: $CLUSTER_STATE/pki/prometheus.crt
          key_file: $CLUSTER_STATE/pki/prometheus.key
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: "true"
      - source_labels: [__meta_kubernetes_pod_phase]
        action: keep
        regex: Running
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
        action: replace
        regex: ([^:]+)(?::\d+)?;(\d+)
        replacement: \$1:\$2
        target_label: __address__
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_container_name]
        target_label: container
YAML
}
