#!/usr/bin/env bash
# The main job (make demo): the OpenMCP guide, end to end, on a local sandbox
# federation of real Kubernetes components, with kubectl finding the plugins
# on PATH as it would after `kubectl krew install`. Every command is printed
# before its output. Exits non-zero as soon as a step fails.
# KEEP=1 leaves the sandbox running (stop it with `make sandbox-down`).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dir=${SANDBOX_DIR:-$root/.sandbox}
samples=$root/pkg/manifest/testdata/reference/sample

bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'
if [[ ! -t 1 || -n ${NO_COLOR:-} ]]; then bold='' dim='' off=''; fi

step=0
say() { printf '\n%s## %s%s\n' "$bold" "$*" "$off"; }
run() {
  step=$((step + 1))
  printf '%s$ %s%s\n' "$bold" "$*" "$off"
  "$@"
}
# A step whose non-zero exit is the expected answer (check reports FAIL for
# what the sandbox lacks, such as a member without a MetalLB pool).
run_reporting() {
  step=$((step + 1))
  printf '%s$ %s%s\n' "$bold" "$*" "$off"
  local rc=0
  "$@" || rc=$?
  printf '%s(exit %d: expected, see above)%s\n' "$dim" "$rc" "$off"
}

cleanup() {
  local rc=$?
  if [[ -z ${KEEP:-} ]]; then
    go run ./test/sandbox/cmd/sandbox down --dir "$dir" >/dev/null 2>&1 || true
  else
    echo "sandbox kept: export KUBECONFIG=$dir/kubeconfig; stop it with make sandbox-down"
  fi
  if (( rc != 0 )); then echo "demo FAILED at step $step (exit $rc)" >&2; fi
  exit $rc
}

say "Build the plugins and the real components (first build: about 10 minutes)"
make --no-print-directory tools build >/dev/null
export PATH=$root/bin:$root/.cache/bin:$PATH
go run ./test/sandbox/cmd/sandbox down --dir "$dir" >/dev/null 2>&1 || true
trap cleanup EXIT

# OpenMCP's own controllers are built from source that no module proxy serves;
# without it the demo shows KubeFed's propagation only, and says so.
openmcp_flag=--openmcp-controllers
if ! ls .cache/bin/openmcp-scheduler >/dev/null 2>&1; then
  openmcp_flag=
  echo "demo: OpenMCP's controllers are not built, so nothing schedules OpenMCP objects: set OPENMCP_SRC to OpenMCP's source (see ../shared/thirdparty/README.md) and run make tools" >&2
fi

say "Start a host (context openmcp) and three members: cluster1, cluster2, and an MCKS cluster; pods run (kube-scheduler + kwok), OpenMCP's controllers watch the host"
eval "$(go run ./test/sandbox/cmd/sandbox up --dir "$dir" --members 3 --kubefed --metallb cluster1 --metallb-controller cluster1=crd,cluster2=legacy --demo-nodes --mcks cluster3 --pods $openmcp_flag)"
run kubectl config get-contexts
run kubectl plugin list

say "OpenMCP guide step 3-5 in one command: join cluster1 with its region, zone and MetalLB pool"
run kubectl openmcp join cluster1 --region AS --zone KR --metallb-range 10.0.3.241-10.0.3.250 --wait
say "... and cluster2, then label and pool it separately"
run kubectl openmcp join cluster2 --wait
run kubectl openmcp label cluster2 --region EU --zone DE
run kubectl openmcp metallb cluster2 --range 10.0.4.241-10.0.4.250
run kubectl openmcp clusters -o wide
run kubectl openmcp get openmcpclusters -n openmcp --include-host
run kubectl openmcp label --list
run kubectl openmcp metallb --list
say "An overlapping pool is refused, naming the other cluster"
run_reporting kubectl openmcp metallb cluster2 --range 10.0.3.245-10.0.3.246

say "OpenMCP's default policies (the scheduler reads scheduling-policy), then change one"
run kubectl openmcp place -n openmcp -f "$root/pkg/manifest/testdata/reference/policy/"
run kubectl openmcp policy set hpa-minmax-distribution-mode Mode=Equal
run kubectl openmcp policy get

say "Place the guide's OpenMCP samples and a plain nginx Deployment + NodePort Service (4 replicas over the federation)"
run kubectl openmcp place -n openmcp -f "$samples/openmcpdeployment/cr.yaml" -f "$samples/openmcpservice/cr.yaml" -f "$samples/openmcpingress/cr.yaml"
say "The guide's HybridAutoScaler sample is stale (hpaTemplate at the top of spec): place fixes it and says so"
run kubectl openmcp place -n openmcp -f "$samples/openmcphybridautoscaler/cr.yaml"
run kubectl openmcp place -n openmcp -f test/demo/nginx.yaml --replicas 4
if [[ -n $openmcp_flag ]]; then
  say "OpenMCP's scheduler splits the replicas, its deployment and sync controllers write the member Deployments, kwok runs the pods"
  for i in $(seq 1 120); do
    kubectl openmcp status odeploy/nginx -n openmcp 2>/dev/null | grep -q '4/4 replicas ready' && break
    sleep 1
  done
  run kubectl openmcp status odeploy/nginx -n openmcp
  run kubectl openmcp status odeploy/openmcp-deployment -n openmcp
  run kubectl openmcp get deploy,svc --all-clusters -n openmcp
  say "delete removes what place wrote; --wait follows OpenMCP's controllers until the members no longer run it"
  run kubectl openmcp delete -n openmcp -f test/demo/nginx.yaml --wait
  run kubectl openmcp get deploy --all-clusters -n openmcp
fi
run kubectl openmcp get odeploy,osvc -n openmcp --include-host

say "KubeFed can propagate too: enable Deployments, place as a FederatedDeployment"
run kubectl openmcp enable deployments namespaces
run kubectl openmcp place -n openmcp -f test/demo/web.yaml --federation kubefed --clusters cluster1,cluster2
for i in $(seq 1 60); do
  n=$(kubectl openmcp get deploy web -n openmcp --all-clusters -o name 2>/dev/null | wc -l || true)
  [[ $n -ge 2 ]] && break
  sleep 1
done
run kubectl openmcp get deploy web --all-clusters -n openmcp
run_reporting kubectl openmcp check

say "MCKS: one cluster, nodes from three clouds"
run kubectl mcks nodes --context cluster3
run kubectl mcks summary --context cluster3
kubectl --context cluster3 create deployment busybox --image=busybox --replicas=2 >/dev/null
run kubectl mcks place deployment/busybox --csp gcp --region europe-west2 --context cluster3
run kubectl mcks pods --context cluster3 -A

say "Unjoin cluster2: nothing join created is left on either cluster"
run kubectl openmcp unjoin cluster2 --wait
run kubectl openmcp clusters
say "Demo finished: $step steps"
