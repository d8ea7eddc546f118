#!/usr/bin/env bash
# Makes the base images the project's Dockerfiles build FROM available without a container
# registry (the test machines reach only the npm registry and the Debian, Go and PyPI mirrors):
#
#   debian:bookworm-slim    a debootstrap --variant=minbase rootfs from this host's Debian mirror,
#                           cached as a tarball under $HYPERAGENT_CACHE/base/ and `docker import`ed
#   node:20-bookworm-slim   debian:bookworm-slim plus this host's Node.js (the files of the Debian
#                           `nodejs` package, or the node install prefix when node is not from a
#                           package), the whole npm folder and any shared library node needs
#   golang:MAJOR.MINOR-bookworm
#                           debian:bookworm-slim plus this host's Go distribution (GOROOT) at
#                           /usr/local/go, for build stages of stdlib-only Go programs (the sandbox
#                           executor); the tag follows the host's `go version`
#
#   test/cluster/base-images.sh
#
# Each image carries the label io.hyperagent.inputs, a hash of what it was made from; when the
# existing image's label matches, the image is left alone, so a rerun takes about a second.
# Requires a running Docker daemon (test/cluster/docker.sh ensure) and root (debootstrap).
#
# Behind a TLS-inspecting proxy: npm inside `docker build` fails with SELF_SIGNED_CERT_IN_CHAIN
# unless node trusts the proxy's CA. Set HYPERAGENT_CA_BUNDLE=/path/to/bundle.pem and the bundle is
# copied into node:20-bookworm-slim with ENV NODE_EXTRA_CA_CERTS pointing at it. By default the
# host's own NODE_EXTRA_CA_CERTS is used the same way; HYPERAGENT_CA_BUNDLE= (empty) disables it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"
# shellcheck source=image-lib.sh
source "$here/image-lib.sh"

readonly debian_image=debian:bookworm-slim
readonly node_image=node:20-bookworm-slim
readonly suite=bookworm
readonly base_dir="$HYPERAGENT_CACHE/base"
readonly rootfs_tar="$base_dir/debian-$suite-minbase.tar"
# Where the CA bundle lands inside the node image.
readonly image_ca_path=/usr/local/share/hyperagent/extra-ca-certificates.crt
# What `docker import` sets on the Debian image; part of its input hash.
readonly debian_changes='CMD ["bash"]'

log() { echo "base-images: $*" >&2; }

image_id() { # image
  docker image inspect -f '{{ .Id }}' "$1" 2>/dev/null || true
}

# Removes the image a rebuild replaced, unless something still uses it.
remove_replaced() { # old_id image
  [ -n "$1" ] && [ "$1" != "$(image_id "$2")" ] || return 0
  docker image rm "$1" >/dev/null 2>&1 || true
}


# --- debian:bookworm-slim -------------------------------------------------------------------

# Prints the URI of the first enabled apt source carrying SUITE, from one-line (*.list) or deb822
# (*.sources) files.
find_mirror() { # suite
  local f lists=() sources=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && lists+=("$f")
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sources+=("$f")
  done
  {
    [ ${#lists[@]} -eq 0 ] || mirror_from_lists "$1" "${lists[@]}"
    [ ${#sources[@]} -eq 0 ] || mirror_from_sources "$1" "${sources[@]}"
  } | head -n 1
}

mirror_from_lists() { # suite file...
  local want=$1
  shift
  # deb [option=value ...] URI SUITE COMPONENT...
  awk -v suite="$want" '$1 == "deb" {
    i = 2
    if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
    if ($(i + 1) == suite) print $i
  }' "$@"
}

mirror_from_sources() { # suite file...
  local want=$1
  shift
  # One stanza per paragraph; fields hold space-separated lists.
  awk -v suite="$want" 'BEGIN { RS = "" }
  {
    types = ""; uris = ""; suites = ""; enabled = "yes"
    n = split($0, lines, "\n")
    for (j = 1; j <= n; j++) {
      line = lines[j]
      if (line ~ /^#/) continue
      key = tolower(line); sub(/:.*/, "", key)
      value = line; sub(/^[^:]*:[ \t]*/, "", value)
      if (key == "types") types = " " value " "
      else if (key == "uris") uris = value
      else if (key == "suites") suites = " " value " "
      else if (key == "enabled") enabled = tolower(value)
    }
    if (enabled != "no" && types ~ / deb / && suites ~ (" " suite " ")) { split(uris, u, " "); print u[1] }
  }' "$@"
}

# Unmounts anything debootstrap left mounted under DIR, so removing DIR cannot reach the host.
unmount_under() { # dir
  local mounts
  mounts=$(awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  [ -z "$mounts" ] || echo "$mounts" | xargs -r -n1 umount -l
}

# The apt sources of the image: the main mirror for the suite and its updates, plus security
# updates when the host has a source for them.
write_image_sources() { # rootfs mirror
  local security
  security=$(find_mirror "$suite-security")
  rm -f "$1/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$2" "$suite" "$suite"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security" "$suite"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$1/etc/apt/sources.list.d/debian.sources"
}

# Drops documentation, manuals and translations (about 45 MB), now and for packages installed later,
# and what a container image must not carry over from the build host.
slim_rootfs() { # rootfs
  cat >"$1/etc/dpkg/dpkg.cfg.d/hyperagent-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
  find "$1/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$1/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/locale/*
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb \
    "$1"/var/log/*.log "$1"/var/log/apt/* "$1"/tmp/* "$1"/root/.cache
  : >"$1/etc/resolv.conf"
  echo localhost >"$1/etc/hostname"
  rm -f "$1/etc/machine-id" && : >"$1/etc/machine-id"
}

build_rootfs_tar() {
  local mirror dir
  mirror=$(find_mirror "$suite")
  [ -n "$mirror" ] || {
    log "no apt source for $suite in /etc/apt/sources.list{,.d}"
    exit 1
  }
  "$here/install-deps.sh" debootstrap
  dir="$base_dir/rootfs.tmp"
  unmount_under "$dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  log "debootstrap --variant=minbase $suite from $mirror (once; cached in $rootfs_tar)"
  local start=$SECONDS
  debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$base_dir/debootstrap.log" 2>&1 || {
    tail -n 20 "$base_dir/debootstrap.log" >&2
    unmount_under "$dir"
    exit 1
  }
  unmount_under "$dir"
  write_image_sources "$dir" "$mirror"
  slim_rootfs "$dir"
  tar --numeric-owner --xattrs -C "$dir" -cf "$rootfs_tar.tmp" .
  sha <"$rootfs_tar.tmp" >"$rootfs_tar.sha256"
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$dir"
  log "rootfs tarball built in $((SECONDS - start))s"
}

ensure_debian_image() {
  mkdir -p "$base_dir"
  if [ ! -f "$rootfs_tar" ] || [ ! -f "$rootfs_tar.sha256" ]; then
    build_rootfs_tar
  fi
  local inputs
  inputs=$(printf '%s\n' "$(cat "$rootfs_tar.sha256")" "$debian_changes" | sha)
  if [ "$(inputs_label_of "$debian_image")" = "$inputs" ]; then
    log "$debian_image is up to date"
    return 0
  fi
  log "importing $debian_image"
  local old
  old=$(image_id "$debian_image")
  docker import --change "$debian_changes" --change "LABEL $INPUTS_LABEL=$inputs" \
    "$rootfs_tar" "$debian_image" >/dev/null
  remove_replaced "$old" "$debian_image"
}

# --- node:20-bookworm-slim ------------------------------------------------------------------

# The CA bundle to bake into the node image, empty for none.
ca_bundle() {
  local bundle=${HYPERAGENT_CA_BUNDLE-${NODE_EXTRA_CA_CERTS:-}}
  if [ -n "$bundle" ] && [ ! -f "$bundle" ]; then
    log "CA bundle $bundle does not exist"
    exit 1
  fi
  echo "$bundle"
}

node_binary() { readlink -f "$(command -v node)"; }

# Prints "SRC DEST" lines: every file and symlink of this host's Node.js to copy into the image.
node_files() {
  local node package
  node=$(node_binary)
  if package=$(dpkg -S "$node" 2>/dev/null | cut -d: -f1) && [ -n "$package" ]; then
    node_files_from_package "$package"
  else
    node_files_from_prefix "$(dirname "$(dirname "$node")")"
  fi
}

# The package's files minus documentation, and the npm folder as it is now: npm is often upgraded
# in place, so the package's file list no longer describes it.
node_files_from_package() { # package
  local npm_dir=/usr/lib/node_modules/npm
  dpkg -L "$1" | grep -v -e '^/usr/share/doc/' -e '^/usr/share/man/' -e "^$npm_dir/" -e "^$npm_dir\$" |
    while read -r f; do
      if [ -f "$f" ] || [ -L "$f" ]; then echo "$f $f"; fi
    done
  find "$npm_dir" \( -type f -o -type l \) -printf '%p %p\n'
}

# A node install that is not from a package (a release tarball, a version manager): bin/node plus
# lib/node_modules and include/node under its prefix, placed under /usr/local as in the upstream
# images, with npm and npx linked into /usr/local/bin.
node_files_from_prefix() { # prefix
  local d
  echo "$1/bin/node /usr/local/bin/node"
  for d in "$1/lib/node_modules" "$1/include/node"; do
    [ -d "$d" ] && find "$d" \( -type f -o -type l \) -printf "%p /usr/local/${d#"$1"/}/%P\n"
  done
  echo "link:../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm"
  echo "link:../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx"
}

# Copies the listed files into the staging rootfs, keeping symlinks as symlinks: files that keep
# their path go through one tar pipe (thousands of them), the others one by one.
stage_files() { # rootfs files_list
  mkdir -p "$1"
  awk '$1 == $2 { print substr($1, 2) }' "$2" | tar -C / --no-recursion -cf - -T - | tar -C "$1" -xf -
  awk '$1 != $2' "$2" | while read -r src dest; do
    mkdir -p "$1$(dirname "$dest")"
    if [[ $src == link:* ]]; then
      ln -sfn "${src#link:}" "$1$dest"
    else
      cp -a "$src" "$1$dest"
    fi
  done
}

# Prints the host paths of the shared libraries node loads that the Debian image lacks.
missing_libraries() { # node_binary
  local libs
  libs=$(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
  # shellcheck disable=SC2086 # libs is a list of paths
  docker run --rm "$debian_image" sh -c 'for f; do [ -e "$f" ] || echo "$f"; done' sh $libs
}

# Adds a host library (its file and its soname link) to the staging rootfs under /usr/lib: the
# image has a merged /usr, so /lib is a symlink that must not be shadowed by a directory.
stage_library() { # rootfs host_path
  local real dest_dir
  real=$(readlink -f "$2")
  dest_dir="$1/usr/lib/$(basename "$(dirname "$2")")"
  mkdir -p "$dest_dir"
  cp "$real" "$dest_dir/"
  [ "$(basename "$real")" = "$(basename "$2")" ] || ln -sfn "$(basename "$real")" "$dest_dir/$(basename "$2")"
}

write_node_dockerfile() { # context ca_bundle
  {
    echo "FROM $debian_image"
    echo "COPY rootfs/ /"
    echo "RUN ldconfig && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node"
    [ -z "$2" ] || echo "ENV NODE_EXTRA_CA_CERTS=$image_ca_path"
    echo "ENV NODE_VERSION=$(node --version | tr -d v)"
    # The update notice is noise in build logs; this npm is whatever the host has.
    echo "ENV NPM_CONFIG_UPDATE_NOTIFIER=false"
    echo 'CMD ["node"]'
  } >"$1/Dockerfile"
}

# A hash of everything the node image is made from, cheap enough to compute on every run.
node_inputs() { # files_list ca_bundle
  {
    image_id "$debian_image"
    sha <"$0"
    sort "$1"
    cut -d' ' -f1 "$1" | grep -v '^link:' | xargs -r stat -c '%n %s %Y %F %N'
    [ -z "$2" ] || sha <"$2"
  } | sha
}

ensure_node_image() {
  local node bundle staging files inputs lib
  node=$(node_binary)
  bundle=$(ca_bundle)
  staging=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: staging is local
  trap "rm -rf '$staging'" EXIT
  files="$staging/files"
  node_files >"$files"
  inputs=$(node_inputs "$files" "$bundle")
  if [ "$(inputs_label_of "$node_image")" = "$inputs" ]; then
    log "$node_image is up to date"
    return 0
  fi
  log "building $node_image from $node ($(node --version), npm $(npm --version))"
  stage_files "$staging/rootfs" "$files"
  for lib in $(missing_libraries "$node"); do
    log "adding $lib (not in minbase)"
    stage_library "$staging/rootfs" "$lib"
  done
  if [ -n "$bundle" ]; then
    log "trusting the CA bundle $bundle (NODE_EXTRA_CA_CERTS=$image_ca_path)"
    mkdir -p "$staging/rootfs$(dirname "$image_ca_path")"
    cp "$bundle" "$staging/rootfs$image_ca_path"
  fi
  write_node_dockerfile "$staging" "$bundle"
  local old
  old=$(image_id "$node_image")
  quiet_build --label "$INPUTS_LABEL=$inputs" -t "$node_image" "$staging"
  remove_replaced "$old" "$node_image"
  verify_node_image
}

verify_node_image() {
  local missing
  missing=$(docker run --rm "$node_image" sh -c 'ldd "$(readlink -f "$(command -v node)")" | grep "not found" || true')
  [ -z "$missing" ] || {
    log "node in $node_image lacks libraries: $missing"
    docker image rm "$node_image" >/dev/null # so the next run does not take it for up to date
    exit 1
  }
  log "$node_image: node $(docker run --rm "$node_image" node --version), npm $(docker run --rm "$node_image" npm --version)"
}

# --- golang:MAJOR.MINOR-bookworm -------------------------------------------------------------

golang_image() {
  local version
  version=$(go env GOVERSION) # go1.26.8
  version=${version#go}
  echo "golang:$(echo "$version" | cut -d. -f1,2)-bookworm"
}

ensure_golang_image() {
  command -v go >/dev/null || {
    log "no go on this host: the golang build image cannot be made"
    exit 1
  }
  local image goroot inputs staging old
  image=$(golang_image)
  goroot=$(go env GOROOT)
  inputs=$( {
    image_id "$debian_image"
    sha <"$0"
    go env GOVERSION
    stat -c '%n %s %Y' "$goroot/VERSION" "$goroot/bin/go"
  } | sha)
  if [ "$(inputs_label_of "$image")" = "$inputs" ]; then
    log "$image is up to date"
    return 0
  fi
  log "building $image from $goroot ($(go env GOVERSION))"
  staging=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: staging is local
  trap "rm -rf '$staging'" EXIT
  mkdir -p "$staging/go"
  # The toolchain without its tests and documentation: what `go build` needs.
  tar -C "$goroot" --exclude='./test' --exclude='./doc' --exclude='./api' -cf - . | tar -C "$staging/go" -xf -
  {
    echo "FROM $debian_image"
    echo "COPY go/ /usr/local/go/"
    echo "ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    # Offline: the toolchain never fetches another, modules come only from the build context.
    echo "ENV GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=0"
    echo 'CMD ["go", "version"]'
  } >"$staging/Dockerfile"
  old=$(image_id "$image")
  quiet_build --label "$INPUTS_LABEL=$inputs" -t "$image" "$staging"
  remove_replaced "$old" "$image"
  log "$image: $(docker run --rm "$image" go version)"
}

main() {
  ensure_debian_image
  ensure_node_image
  ensure_golang_image
}

main "$@"
