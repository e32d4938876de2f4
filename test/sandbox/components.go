package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func (f *Federation) startEtcd(ctx context.Context) error {
	dir := filepath.Join(f.Dir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		p, err := startProcess(f.opts.BinDir, f.Dir, "etcd", "etcd", []string{
			"--name=sandbox", "--data-dir=" + filepath.Join(dir, "data"),
			"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=sandbox=" + peer,
			// A throwaway store: fsync buys nothing and costs seconds.
			"--unsafe-no-fsync", "--log-level=warn",
		}, f.opts.Detached)
		if err != nil {
			return err
		}
		err = p.waitFor(ctx, 30*time.Second, func(ctx context.Context) error { return httpOK(ctx, client+"/health") })
		if err != nil && attempt < 2 && p.exited() {
			continue // a port was taken between picking and binding
		}
		if err != nil {
			return err
		}
		f.etcd, f.etcdURL = p, client
		return nil
	}
}

func httpOK(ctx context.Context, url string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// startCluster starts one apiserver with its own CA, serving certificate,
// admin client certificate and service-account keys, then its controller manager.
func (f *Federation) startCluster(ctx context.Context, name string) (*Cluster, error) {
	dir := filepath.Join(f.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p, err := newPKI(dir, name)
	if err != nil {
		return nil, err
	}
	if _, _, err := p.issue("apiserver", "kube-apiserver", nil, true); err != nil {
		return nil, err
	}
	adminCert, adminKey, err := p.issue("admin", "kubernetes-admin", []string{"system:masters"}, false)
	if err != nil {
		return nil, err
	}
	if err := p.serviceAccountKey(); err != nil {
		return nil, err
	}
	c := &Cluster{Name: name, dir: dir, pki: p, CACert: p.CACert, execToken: randomToken()}
	// The static token is what the exec credential plugin of "<name>-exec" hands out.
	tokens := fmt.Sprintf("%s,exec-admin,exec-admin,system:masters\n", c.execToken)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	var extra []string
	if f.opts.Observability && name != HostName {
		if extra, err = observabilityAPIServerArgs(dir, p, name); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		c.Server = "https://127.0.0.1:" + strconv.Itoa(ports[0])
		c.apiserver, err = startProcess(f.opts.BinDir, f.Dir, name+"-kube-apiserver", "kube-apiserver", append([]string{
			"--etcd-servers=" + f.etcdURL, "--etcd-prefix=/" + name,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[0]),
			"--cert-dir=" + dir,
			"--tls-cert-file=" + p.path("apiserver.crt"), "--tls-private-key-file=" + p.path("apiserver.key"),
			"--client-ca-file=" + p.path("ca.crt"),
			"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
			"--service-account-issuer=https://kubernetes.default.svc." + name,
			"--service-account-key-file=" + p.path("sa.pub"),
			"--service-account-signing-key-file=" + p.path("sa.key"),
			"--authorization-mode=RBAC",
			"--service-cluster-ip-range=10.96.0.0/12",
			"--allow-privileged=true",
			"--profiling=false",
			"--endpoint-reconciler-type=none",
		}, extra...), f.opts.Detached)
		if err != nil {
			return nil, err
		}
		c.Config = &rest.Config{
			Host:            c.Server,
			TLSClientConfig: rest.TLSClientConfig{CAData: p.CACert, CertData: adminCert, KeyData: adminKey},
			QPS:             100, Burst: 200,
		}
		client, err := kubernetes.NewForConfig(c.Config)
		if err != nil {
			return nil, err
		}
		err = c.apiserver.waitFor(ctx, 90*time.Second, func(ctx context.Context) error {
			return client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
		})
		if err != nil && attempt < 2 && c.apiserver.exited() {
			continue
		}
		if err != nil {
			return nil, err
		}
		c.Client = client
		if c.Dynamic, err = dynamic.NewForConfig(c.Config); err != nil {
			return nil, err
		}
		break
	}
	// The controller manager fills service-account token Secrets (join needs
	// them), finalizes namespaces and runs Deployments into ReplicaSets.
	kcmConfig := filepath.Join(dir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmConfig, map[string]*Cluster{name: c}, name, false); err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	// Nodes here have no kubelet: without the node lifecycle controller off
	// they would turn NotReady and get tainted after 40 s. With Pods, kwok
	// renews their leases, and the controller must run: it lifts the
	// not-ready taint the apiserver puts on every new node.
	controllers := "--controllers=*,-node-lifecycle-controller"
	if f.opts.Pods {
		controllers = "--controllers=*"
	}
	c.controllerManager, err = startProcess(f.opts.BinDir, f.Dir, name+"-kube-controller-manager", "kube-controller-manager", []string{
		"--kubeconfig=" + kcmConfig,
		"--service-account-private-key-file=" + p.path("sa.key"),
		"--root-ca-file=" + p.path("ca.crt"),
		"--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(dir, "kcm-certs"),
		controllers,
		"--use-service-account-credentials=false",
	}, f.opts.Detached)
	return c, err
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeKubeconfig writes a kubeconfig with one context per cluster, named as
// the cluster, certificates inline.
func writeKubeconfig(path string, clusters map[string]*Cluster, current string, execContexts bool) error {
	cfg := clientcmdapi.NewConfig()
	for name, c := range clusters {
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: c.CACert}
		cfg.AuthInfos[name+"-admin"] = &clientcmdapi.AuthInfo{
			ClientCertificateData: c.Config.CertData,
			ClientKeyData:         c.Config.KeyData,
		}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name + "-admin"}
		if execContexts && name != HostName {
			script := filepath.Join(c.dir, "exec-credential.sh")
			body := "#!/bin/sh\n# An exec credential plugin, like gke-gcloud-auth-plugin or aws eks get-token.\n" +
				"printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$(cat \"$(dirname \"$0\")/exec-token\")\"\n"
			if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(c.dir, "exec-token"), []byte(c.execToken), 0o600); err != nil {
				return err
			}
			cfg.AuthInfos[name+"-exec"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
				APIVersion:      "client.authentication.k8s.io/v1",
				Command:         script,
				InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
			}}
			cfg.Contexts[name+"-exec"] = &clientcmdapi.Context{Cluster: name, AuthInfo: name + "-exec"}
		}
	}
	cfg.CurrentContext = current
	return clientcmd.WriteToFile(*cfg, path)
}

func (f *Federation) writeKubeconfig() error {
	all := map[string]*Cluster{}
	for _, c := range f.Clusters() {
		all[c.Name] = c
	}
	return writeKubeconfig(f.Kubeconfig, all, HostName, f.opts.ExecContexts)
}

// startKubeFed runs KubeFed's controller manager against the host.
func (f *Federation) startKubeFed(ctx context.Context) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	hostConfig := filepath.Join(f.Host.dir, "kubefed.kubeconfig")
	if err := writeKubeconfig(hostConfig, map[string]*Cluster{HostName: f.Host}, HostName, false); err != nil {
		return err
	}
	healthz := fmt.Sprintf("127.0.0.1:%d", ports[0])
	f.kubefed, err = startProcess(f.opts.BinDir, f.Dir, "kubefed-controller-manager", "kubefed-controller-manager", []string{
		"--kubeconfig=" + hostConfig,
		"--kubefed-namespace=" + KubeFedNamespace,
		"--healthz-addr=" + healthz,
		"--metrics-addr=" + fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"-v=2",
	}, f.opts.Detached)
	if err != nil {
		return err
	}
	return f.kubefed.waitFor(ctx, 30*time.Second, func(ctx context.Context) error { return httpOK(ctx, "http://"+healthz+"/healthz") })
}

// LogTails returns the end of every component's log, for a failed test.
func (f *Federation) LogTails(lines int) string {
	var b strings.Builder
	procs := []*process{f.etcd, f.kubefed}
	for _, c := range f.Clusters() {
		if c != nil {
			procs = append(procs, c.apiserver, c.controllerManager, c.scheduler, c.kwok, c.metricsServer, c.metallb)
		}
	}
	procs = append(procs, f.openmcpProcesses()...)
	for _, p := range procs {
		if p != nil {
			fmt.Fprintf(&b, "--- %s (%s)\n%s\n", p.Name, p.LogPath, p.logTail(lines))
		}
	}
	return b.String()
}
