#!/usr/bin/env bash
# Builds the real components the sandbox and the tests run, each from its own
# go.mod under test/tools (pinned by go.sum), or from third-party source that no
# module proxy serves (OpenMCP's controllers, the MCKS server), into .cache/bin.
# A binary is rebuilt only when what it is built from changes (its go.mod and
# go.sum or source tree, its flags), so the first run takes minutes and later
# ones a fraction of a second. Editing this script rebuilds nothing by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=${OPENMCP_TOOLS_BIN:-$root/.cache/bin}
data=$root/.cache/data
mkdir -p "$bin" "$data"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

k8s_version=v1.37.2
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=37 -X $pkg.gitTreeState=clean"
done

# build_in DIR KEY LDFLAGS OUTPUT... PACKAGE...: builds the packages in module
# folder DIR unless every output carries KEY; outputs are names, packages have a slash.
build_in() {
  local dir=$1 key=$2 ldflags=$3; shift 3
  local outs=() pkgs=()
  for a in "$@"; do case $a in */*) pkgs+=("$a");; *) outs+=("$a");; esac; done
  key=$(printf '%s\n' "$key" "$ldflags" "$@" | sha256sum | cut -c1-16)
  local fresh=1
  for o in "${outs[@]}"; do
    [[ -x $bin/$o && "$(cat "$bin/.$o.key" 2>/dev/null)" == "$key" ]] || fresh=0
  done
  if (( fresh )); then echo "tools: ${outs[*]} up to date"; return; fi
  echo "tools: building ${outs[*]} ($dir)..."
  local start=$SECONDS
  if (( ${#pkgs[@]} == 1 )); then
    # One package: name the binary (etcd's main package would be called "server").
    (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/${outs[0]}" "${pkgs[0]}")
  elif [[ ${pkgs[0]} == ./* ]]; then
    # Local main packages are all called "main": build them one by one under their names.
    local i
    for i in "${!pkgs[@]}"; do
      (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/${outs[$i]}" "${pkgs[$i]}")
    done
  else
    (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/" "${pkgs[@]}")
  fi
  for o in "${outs[@]}"; do echo "$key" > "$bin/.$o.key"; done
  echo "tools: built ${outs[*]} in $((SECONDS - start))s"
}

# build TOOLDIR LDFLAGS OUTPUT... PACKAGE...: a tool pinned by test/tools/TOOLDIR/go.mod.
build() {
  local dir=test/tools/$1; shift
  build_in "$dir" "$(cat "$dir/go.mod" "$dir/go.sum")" "$@"
}

# third_party NAME ENVVAR: prints the folder of third-party source NAME, from
# $ENVVAR, else ../shared/thirdparty/NAME beside the repository; nothing if neither.
third_party() {
  local from=${!2:-}
  [[ -z $from && -d $root/../shared/thirdparty/$1 ]] && from=$root/../shared/thirdparty/$1
  [[ -n $from && -d $from ]] && (cd "$from" && pwd)
}

# build_third_party NAME ENVVAR OUTPUT... PACKAGE...: copies the source (it may be
# read-only, and `go build -mod=mod` may need to write go.sum) and builds it there.
build_third_party() {
  local name=$1 var=$2; shift 2
  local src
  src=$(third_party "$name" "$var") || true
  if [[ -z $src ]]; then
    echo "tools: skipping $name: set $var to its source, or put it in ../shared/thirdparty/$name (see README.md, section Testing with OpenMCP controllers)"
    return
  fi
  local tree
  tree=$(cd "$src" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum)
  local work=$root/.cache/src/$name
  mkdir -p "$work"
  # Copy only when the tree changed, so go's build cache sees the same paths.
  if [[ "$(cat "$work/.tree" 2>/dev/null)" != "$tree" ]]; then
    rm -rf "$work" && mkdir -p "$work" && cp -R "$src/." "$work/" && chmod -R u+w "$work"
    echo "$tree" > "$work/.tree"
  fi
  build_in "$work" "$tree" "-s -w" "$@"
}

build etcd "-s -w" etcd go.etcd.io/etcd/server/v3
build kubernetes "$k8s_ldflags" kube-apiserver kube-controller-manager kube-scheduler kubectl \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
build kubefed "-s -w -X sigs.k8s.io/kubefed/pkg/version.version=v0.10.0" controller-manager kubefedctl \
  sigs.k8s.io/kubefed/cmd/controller-manager sigs.k8s.io/kubefed/cmd/kubefedctl
build krew "-s -w" krew validate-krew-manifest sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
build kwok "-s -w" kwok sigs.k8s.io/kwok/cmd/kwok
build metrics-server "-s -w" metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server
build metallb-legacy "-s -w" metallb-controller-v0.12 go.universe.tf/metallb/controller
build metallb "-s -w" metallb-controller go.universe.tf/metallb/controller
# The KubeFed controller binary has a generic name; give it the sandbox's.
ln -sf controller-manager "$bin/kubefed-controller-manager"

build_third_party openmcp OPENMCP_SRC openmcp-scheduler openmcp-deployment-controller \
  openmcp-sync-controller openmcp-service-controller \
  ./openmcp-scheduler/src/main ./openmcp-resource-controller/openmcp-deployment-controller/src/main \
  ./openmcp-sync-controller/src/main ./openmcp-resource-controller/openmcp-service-controller/src/main
build_third_party cb-mcks MCKS_SRC mcks-server ./src

# Data files that ship inside modules: KubeFed's CRDs, MetalLB's CRDs, kwok's stages.
moddir() { (cd "test/tools/$1" && go mod download -json "$2" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); }
kubefed_dir=$(moddir kubefed sigs.k8s.io/kubefed)
cp "$kubefed_dir/charts/kubefed/charts/controllermanager/crds/crds.yaml" "$data/kubefed-crds.yaml"
metallb_dir=$(moddir metallb go.universe.tf/metallb)
cat "$metallb_dir"/config/crd/bases/*.yaml > "$data/metallb-crds.yaml"
# kwok carries no stages of its own: nodes turn Ready and keep a lease, pods run.
kwok_dir=$(moddir kwok sigs.k8s.io/kwok)
for f in "$kwok_dir"/kustomize/stage/node/fast/node-initialize.yaml \
  "$kwok_dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
  "$kwok_dir"/kustomize/stage/pod/fast/pod-*.yaml; do
  echo "---"; cat "$f"
done > "$data/kwok-stages.yaml"
# With observability: kwok's Logs CRD (per-pod log files) and its kubelet
# /metrics/resource configuration, which metrics-server scrapes.
cp "$kwok_dir"/kustomize/crd/bases/kwok.x-k8s.io_logs.yaml "$data/kwok-logs-crd.yaml"
cp "$kwok_dir"/kustomize/metrics/resource/metrics-resource.yaml "$data/kwok-metrics-resource.yaml"
chmod u+w "$data"/*.yaml
echo "tools: ready in $bin"
