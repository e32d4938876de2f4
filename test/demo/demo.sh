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
samples=$root/pkg/openmcp/testdata/reference/sample

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
# OpenMCP controllers the sandbox does not run).
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

say "Start a host (context openmcp) and three members: cluster1, cluster2, and an MCKS cluster"
eval "$(go run ./test/sandbox/cmd/sandbox up --dir "$dir" --members 3 --kubefed --metallb cluster1 --demo-nodes --mcks cluster3)"
run kubectl config get-contexts
run kubectl plugin list

say "OpenMCP guide step 3-5 in one command: join cluster1 with its region, zone and MetalLB pool"
run kubectl openmcp join cluster1 --region AS --zone KR --metallb-range 10.0.3.241-10.0.3.250 --wait
say "... and cluster2, then label and pool it separately"
run kubectl openmcp join cluster2 --wait
run kubectl openmcp label cluster2 --region EU --zone DE
run kubectl openmcp metallb cluster2 --range 10.0.4.241-10.0.4.250
run kubectl openmcp clusters -o wide
run kubectl openmcp label --list
run kubectl openmcp metallb --list
say "An overlapping pool is refused, naming the other cluster"
run_reporting kubectl openmcp metallb cluster2 --range 10.0.3.245-10.0.3.246

say "Place the guide's OpenMCP samples and a plain nginx Deployment + NodePort Service"
run kubectl openmcp place -n openmcp -f "$samples/openmcpdeployment/cr.yaml" -f "$samples/openmcpservice/cr.yaml" -f "$samples/openmcpingress/cr.yaml"
say "The guide's HybridAutoScaler sample is stale (hpaTemplate at the top of spec): place fixes it and says so"
run kubectl openmcp place -n openmcp -f "$samples/openmcphybridautoscaler/cr.yaml"
say "OpenMCP's default policies, then change one"
run kubectl openmcp place -n openmcp -f "$root/pkg/openmcp/testdata/reference/policy/"
run kubectl openmcp policy set hpa-minmax-distribution-mode Mode=Equal
run kubectl openmcp policy get
run kubectl openmcp place -n openmcp -f test/demo/nginx.yaml --clusters cluster1,cluster2 --replicas 4
run kubectl openmcp place -n openmcp -f test/demo/nginx.yaml --clusters cluster1,cluster2 --replicas 4
run kubectl openmcp get odeploy,osvc -n openmcp --include-host

say "Without OpenMCP's controllers, KubeFed itself propagates: enable Deployments, place as a FederatedDeployment"
run kubectl openmcp enable deployments namespaces
run kubectl openmcp place -n openmcp -f test/demo/web.yaml --federation kubefed --clusters cluster1,cluster2
for i in $(seq 1 60); do
  n=$(kubectl openmcp get deploy web -n openmcp --all-clusters -o name 2>/dev/null | wc -l || true)
  [[ $n -ge 2 ]] && break
  sleep 1
done
run kubectl openmcp get deploy,svc,hpa --all-clusters -n openmcp
run kubectl openmcp status odeploy/openmcp-deployment -n openmcp
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
