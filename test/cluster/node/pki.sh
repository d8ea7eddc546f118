# shellcheck shell=bash
# Certificates and kubeconfigs for the single-node cluster. Sourced by cluster.sh.
#
# One CA signs everything, as kubeadm does on a single node. Identities follow the names the
# API server's default RBAC bindings expect (system:kube-controller-manager, system:node:NAME in
# system:nodes, system:kube-proxy...), so no extra bindings are needed for the core components.
# Certificates are made once and kept with the cluster state; a warm start reuses them.

# issue_cert NAME SUBJECT [SAN]: a key and a certificate signed by the cluster CA.
issue_cert() {
  local name=$1 subject=$2 san=${3:-}
  local pki="$CLUSTER_STATE/pki"
  [ -f "$pki/$name.crt" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  local ext="$pki/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 365 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$ext"
}

# write_kubeconfig FILE CERT_NAME: a kubeconfig that authenticates with pki/CERT_NAME.{crt,key}.
write_kubeconfig() {
  local file=$1 cert=$2 pki="$CLUSTER_STATE/pki"
  write_if_changed "$file" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: $CLUSTER_NAME
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority-data: $(base64 -w0 < "$pki/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 < "$pki/$cert.crt")
    client-key-data: $(base64 -w0 < "$pki/$cert.key")
contexts:
- name: $CLUSTER_NAME
  context: {cluster: $CLUSTER_NAME, user: $cert}
current-context: $CLUSTER_NAME
KUBECONFIG
  chmod 600 "$file"
}

make_pki() {
  local pki="$CLUSTER_STATE/pki"
  mkdir -p "$pki"
  chmod 700 "$pki"
  if [ ! -f "$pki/ca.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$CLUSTER_NAME-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  fi
  if [ ! -f "$pki/sa.key" ]; then
    openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  fi
  # serving certificates name the node's IP: a machine whose address changed gets new ones
  if [ "$(cat "$pki/node-ip" 2>/dev/null)" != "$NODE_IP" ]; then
    rm -f "$pki/apiserver.crt" "$pki/kubelet-serving.crt"
    echo "$NODE_IP" > "$pki/node-ip"
  fi
  local api_sans="IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP,DNS:localhost,DNS:$NODE_NAME"
  api_sans+=",DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue_cert apiserver "/CN=kube-apiserver" "$api_sans"
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  issue_cert admin "/O=system:masters/CN=kubernetes-admin"
  issue_cert controller-manager "/CN=system:kube-controller-manager"
  issue_cert scheduler "/CN=system:kube-scheduler"
  issue_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  issue_cert kubelet-serving "/CN=$NODE_NAME" "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE_NAME,DNS:localhost"
  issue_cert kube-proxy "/CN=system:kube-proxy"
  # kube-router and Prometheus get their own identities, bound to narrow ClusterRoles in
  # manifests/cluster-addons.yaml, rather than admin rights.
  issue_cert kube-router "/CN=hyperagent:kube-router"
  issue_cert prometheus "/CN=hyperagent:prometheus"

  local name
  for name in admin controller-manager scheduler kubelet kube-proxy kube-router; do
    write_kubeconfig "$CLUSTER_STATE/$name.kubeconfig" "$name"
  done
}
