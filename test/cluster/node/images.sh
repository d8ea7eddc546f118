# shellcheck shell=bash
# shellcheck disable=SC2154 # here, TOOLS_BIN and the settings are globals of cluster.sh
# Getting images to the node: Docker builds them (build-images.sh), the local registry serves them,
# containerd pulls them. Sourced by cluster.sh.

# publish IMAGE: pushes the image to the local registry under a tag that names its content
# (VERSION-IMAGEID), prints that reference. Pods that name it always run what was just built,
# though the node keeps every image it pulled (IfNotPresent with pinned tags, never :latest).
publish() {
  local image=$1 id
  id=$(docker image inspect --format '{{.Id}}' "$image")
  id=${id#sha256:}
  local published="$image-${id:0:12}"
  docker tag "$image" "$published"
  docker push -q "$published" >/dev/null
  echo "$published"
}

build_coredns_image() {
  local image=localhost:$LOCAL_REGISTRY_PORT/coredns:$COREDNS_VERSION context
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    context=$(mktemp -d)
    cp "$here/images/coredns/Dockerfile" "$context/"
    cp "$TOOLS_BIN/coredns-$COREDNS_VERSION" "$context/coredns"
    quiet_build -t "$image" "$context"
    rm -rf "$context"
  fi
  echo "$image"
}

build_traefik_image() {
  local image=$TRAEFIK_IMAGE context
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    context=$(mktemp -d)
    cp "$here/images/traefik/Dockerfile" "$context/"
    cp "$TOOLS_BIN/traefik-$TRAEFIK_VERSION" "$context/traefik"
    quiet_build -t "$image" "$context"
    rm -rf "$context"
  fi
  echo "$image"
}

build_and_push_images() {
  # Images built by Docker reach the node through the local registry, as on kind with a local
  # registry: docker push localhost:5001/..., containerd pulls localhost:5001/...
  "$here/docker.sh" ensure "$CLUSTER_STATE"
  local image infrastructure project
  mapfile -t project < <("$here/build-images.sh" | grep -v '/pause:')
  # the pause, CoreDNS and Traefik images keep their pinned upstream-style tags (containerd and
  # the add-on Deployments name them)
  infrastructure=("$PAUSE_IMAGE" "$(build_coredns_image)" "$(build_traefik_image)")
  for image in "${infrastructure[@]}"; do
    docker push -q "$image" >/dev/null
  done
  : > "$CLUSTER_STATE/images"
  for image in "${project[@]}"; do
    publish "$image" >> "$CLUSTER_STATE/images"
  done
}
