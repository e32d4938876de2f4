#!/usr/bin/env bash
# Builds the real components the sandbox and the tests run, each from its own
# go.mod under test/tools (pinned by go.sum), into .cache/bin. A binary is
# rebuilt only when its go.mod, go.sum or this script change, so the first run
# takes minutes and later ones a fraction of a second.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=${OPENMCP_TOOLS_BIN:-$root/.cache/bin}
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

k8s_version=v1.37.2
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=37 -X $pkg.gitTreeState=clean"
done

# build TOOLDIR LDFLAGS OUTPUT... PACKAGE...: outputs are checked, packages built.
build() {
  local dir=$1 ldflags=$2; shift 2
  local outs=() pkgs=()
  for a in "$@"; do case $a in */*) pkgs+=("$a");; *) outs+=("$a");; esac; done
  local key
  key=$(cat "test/tools/$dir/go.mod" "test/tools/$dir/go.sum" "$0" | sha256sum | cut -c1-16)
  local fresh=1
  for o in "${outs[@]}"; do
    [[ -x $bin/$o && "$(cat "$bin/.$o.key" 2>/dev/null)" == "$key" ]] || fresh=0
  done
  if (( fresh )); then echo "tools: ${outs[*]} up to date"; return; fi
  echo "tools: building ${outs[*]} (test/tools/$dir)..."
  local start=$SECONDS
  local out="$bin/"
  # One package: name the binary (etcd's main package would be called "server").
  (( ${#pkgs[@]} == 1 )) && out="$bin/${outs[0]}"
  (cd "test/tools/$dir" && go build -trimpath -ldflags "$ldflags" -o "$out" "${pkgs[@]}")
  for o in "${outs[@]}"; do echo "$key" > "$bin/.$o.key"; done
  echo "tools: built ${outs[*]} in $((SECONDS - start))s"
}

build etcd "-s -w" etcd go.etcd.io/etcd/server/v3
build kubernetes "$k8s_ldflags" kube-apiserver kube-controller-manager kubectl \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
build kubefed "-s -w -X sigs.k8s.io/kubefed/pkg/version.version=v0.10.0" controller-manager kubefedctl \
  sigs.k8s.io/kubefed/cmd/controller-manager sigs.k8s.io/kubefed/cmd/kubefedctl
build krew "-s -w" krew validate-krew-manifest sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
# The KubeFed controller binary has a generic name; give it the sandbox's.
ln -sf controller-manager "$bin/kubefed-controller-manager"

# Data files that ship inside modules: KubeFed's CRDs and MetalLB's CRDs.
data=$root/.cache/data
mkdir -p "$data"
kubefed_dir=$(cd test/tools/kubefed && go list -m -f '{{.Dir}}' sigs.k8s.io/kubefed)
cp "$kubefed_dir/charts/kubefed/charts/controllermanager/crds/crds.yaml" "$data/kubefed-crds.yaml"
metallb_dir=$(cd test/tools/metallb && go mod download -json go.universe.tf/metallb | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cat "$metallb_dir"/config/crd/bases/*.yaml > "$data/metallb-crds.yaml"
chmod u+w "$data"/*.yaml
echo "tools: ready in $bin"
