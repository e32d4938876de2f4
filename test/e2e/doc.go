// Package e2e tests the plugins against real clusters: kube-apiservers, etcd,
// kube-controller-managers and the KubeFed controller, started by the
// sandbox harness from binaries `make tools` builds.
package e2e
