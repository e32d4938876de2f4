package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// waitEvents waits until the member has recorded an event of this reason.
func waitEvents(t *testing.T, c *sandbox.Cluster, ns, reason string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		list, err := c.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err == nil {
			for _, e := range list.Items {
				if e.Reason == reason {
					return
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: no %s event in %s within 60s", c.Name, reason, ns)
}

// labelMember puts region/zone labels on a member's KubeFedCluster, as
// `kubectl openmcp label` does, for the selector tests.
func labelMember(t *testing.T, fed *sandbox.Federation, name, region, zone string) {
	t.Helper()
	patch := `{"metadata":{"labels":{"` + fleet.RegionLabel + `":"` + region + `","` + fleet.ZoneLabel + `":"` + zone + `"}}}`
	_, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(fleet.DefaultKubeFedNamespace).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// Events of every member come back as one timeline with a CLUSTER column;
// --for, --types, -C and -o json do what kubectl events users expect, and a
// member that does not answer is named in the JSON List.
func TestEventsAndClusterSelection(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 3, KubeFed: true})
	if res := fed.OpenMCP(t, "join", "cluster1", "cluster2", "cluster3", "--wait=60s"); res.Code != 0 {
		t.Fatalf("join: exit %d: %s", res.Code, res.Stderr)
	}
	labelMember(t, fed, "cluster1", "AS", "KR")
	labelMember(t, fed, "cluster2", "AS", "JP")
	labelMember(t, fed, "cluster3", "EU", "DE")
	fed.Member("cluster3").CreateNodes(t, sandbox.Node{Name: "c3-node", Roles: []string{"worker"}, CPU: "4", Memory: "8Gi", Ready: true})
	for _, c := range []string{"cluster1", "cluster2"} {
		webApp(t, fed.Member(c), "web", 1, 3)
		waitEvents(t, fed.Member(c), "web", "ScalingReplicaSet")
	}

	t.Run("one timeline with a CLUSTER column", func(t *testing.T) {
		res := fed.OpenMCP(t, "events", "-n", "web", "--all-clusters")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		rows := parseTable(t, res.Stdout)
		seen := map[string]bool{}
		for _, r := range rows {
			seen[r["CLUSTER"]] = true
			if r["CLUSTER"] == "cluster3" {
				t.Errorf("cluster3 has no events in web, got row %v", r)
			}
		}
		if !seen["cluster1"] || !seen["cluster2"] {
			t.Fatalf("want events of cluster1 and cluster2:\n%s", res.Stdout)
		}
		header := strings.Fields(lines(res.Stdout)[0])
		if strings.Join(header, " ") != "CLUSTER LAST SEEN TYPE REASON OBJECT MESSAGE" {
			t.Errorf("header %v", header)
		}
		if !strings.Contains(res.Stdout, "deployment/web") {
			t.Errorf("no deployment/web object:\n%s", res.Stdout)
		}
	})

	t.Run("--for and --types", func(t *testing.T) {
		res := fed.OpenMCP(t, "events", "-n", "web", "--all-clusters", "--for", "deploy/web")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		for _, r := range parseTable(t, res.Stdout) {
			if r["OBJECT"] != "deployment/web" {
				t.Errorf("--for deploy/web printed %v", r)
			}
		}
		res = fed.OpenMCP(t, "events", "-n", "web", "--all-clusters", "--for", "deploy/missing")
		if res.Code == 0 || !strings.Contains(res.Stderr, `deploy "missing" not found in namespace web of any of the 3 clusters`) {
			t.Errorf("--for a missing object: exit %d, stderr %q", res.Code, res.Stderr)
		}
		res = fed.OpenMCP(t, "events", "-n", "web", "--all-clusters", "--types", "Warning")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		for _, r := range parseTable(t, res.Stdout) {
			if r["TYPE"] != "Warning" {
				t.Errorf("--types Warning printed %v", r)
			}
		}
		res = fed.OpenMCP(t, "events", "-n", "web", "--all-clusters", "--types", "Error")
		if res.Code != 2 || !strings.Contains(res.Stderr, `invalid --types value "Error": allowed values are Normal, Warning`) {
			t.Errorf("--types Error: exit %d, stderr %q", res.Code, res.Stderr)
		}
	})

	t.Run("--for an OpenMCP object on the host, and -w", func(t *testing.T) {
		res := fed.OpenMCP(t, "events", "-n", "web", "--all-clusters", "--for", "openmcpdeployment/nope")
		if res.Code != 1 || !strings.Contains(res.Stderr, `openmcpdeployment "nope" not found in namespace web on host "openmcp"`) {
			t.Errorf("--for a missing OpenMCP object: exit %d, stderr %q", res.Code, res.Stderr)
		}
		r := startBinary(t, fed, "kubectl-openmcp", "events", "-n", "web", "--clusters", "cluster1,cluster3", "-w")
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(r.Stdout(), "ScalingReplicaSet") && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		// A new event on cluster3 streams in, naming its cluster.
		c3 := fed.Member("cluster3")
		if err := c3.EnsureNamespace(context.Background(), "web"); err != nil {
			t.Fatal(err)
		}
		now := metav1.Now()
		_, err := c3.Client.CoreV1().Events("web").Create(context.Background(), &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "probe.1", Namespace: "web"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "web", Name: "probe"},
			Reason:         "ProbeSeen", Message: "streamed by -w", Type: corev1.EventTypeWarning,
			FirstTimestamp: now, LastTimestamp: now, Count: 1,
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(20 * time.Second)
		for !strings.Contains(r.Stdout(), "ProbeSeen") && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		var streamed string
		for _, l := range lines(r.Stdout()) {
			if strings.Contains(l, "ProbeSeen") {
				streamed = l
			}
		}
		if f := strings.Fields(streamed); len(f) < 2 || f[0] != "cluster3" || !strings.Contains(streamed, "pod/probe") || !strings.Contains(streamed, "streamed by -w") {
			t.Errorf("-w: the new event's line %q; stdout:\n%s\nstderr: %s", streamed, r.Stdout(), r.Stderr())
		}
		r.interrupt(t, 10*time.Second)
	})

	t.Run("cluster selector", func(t *testing.T) {
		res := fed.OpenMCP(t, "events", "-n", "web", "-C", fleet.ZoneLabel+" in (JP,DE)")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		seen := map[string]bool{}
		for _, r := range parseTable(t, res.Stdout) {
			seen[r["CLUSTER"]] = true
			if r["CLUSTER"] == "cluster1" {
				t.Errorf("-C zone in (JP,DE) printed cluster1's %v", r)
			}
		}
		if !seen["cluster2"] || !seen["cluster3"] {
			t.Errorf("-C zone in (JP,DE): want cluster2's and cluster3's events:\n%s", res.Stdout)
		}
		res = fed.OpenMCP(t, "get", "deploy", "-n", "web", "-C", "region=AS") // region stands for topology.kubernetes.io/region
		if res.Code != 0 {
			t.Fatalf("get -C: exit %d: %s", res.Code, res.Stderr)
		}
		if rows := parseTable(t, res.Stdout); len(rows) != 2 || rows[0]["CLUSTER"] != "cluster1" || rows[1]["CLUSTER"] != "cluster2" {
			t.Errorf("get -C region=AS:\n%s", res.Stdout)
		}
		res = fed.OpenMCP(t, "get", "deploy", "-n", "web", "-C", fleet.RegionLabel+"=OC")
		if res.Code == 0 || !strings.Contains(res.Stderr, "no member cluster of host") || !strings.Contains(res.Stderr, "cluster3 {") || !strings.Contains(res.Stderr, "=EU") {
			t.Errorf("a selector matching none: exit %d, stderr %q", res.Code, res.Stderr)
		}
		res = fed.OpenMCP(t, "get", "deploy", "-C", "region in (AS")
		if res.Code != 2 || !strings.Contains(res.Stderr, `invalid --cluster-selector "region in (AS"`) {
			t.Errorf("bad selector syntax: exit %d, stderr %q", res.Code, res.Stderr)
		}
		res = fed.OpenMCP(t, "label", "--list", "-C", fleet.RegionLabel+"=EU")
		if res.Code != 0 {
			t.Fatalf("label --list -C: exit %d: %s", res.Code, res.Stderr)
		}
		if rows := parseTable(t, res.Stdout); len(rows) != 1 || rows[0]["CLUSTER"] != "cluster3" || rows[0]["NODE"] != "c3-node" {
			t.Errorf("label --list -C region=EU:\n%s", res.Stdout)
		}
	})

	t.Run("completion of cluster names and selector values", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"__complete", "get", "deploy", "--clusters", "cluster1,"}, "cluster1,cluster2"},
			{[]string{"__complete", "events", "-C", fleet.ZoneLabel + "="}, fleet.ZoneLabel + "=KR"},
			{[]string{"__complete", "label", "--list", "--cluster-selector", fleet.RegionLabel + "=E"}, fleet.RegionLabel + "=EU"},
		} {
			res := fed.OpenMCP(t, c.args...)
			if !strings.Contains(res.Stdout, c.want+"\n") {
				t.Errorf("%v: stdout %q lacks %q", c.args, res.Stdout, c.want)
			}
		}
	})

	t.Run("clusters --group-by region", func(t *testing.T) {
		res := fed.OpenMCP(t, "clusters", "--group-by", "region")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		rows := parseTable(t, res.Stdout)
		if len(rows) != 3 || rows[0]["REGION"] != "AS" || rows[0]["CLUSTERS"] != "2" || rows[1]["REGION"] != "EU" || rows[2]["REGION"] != "TOTAL" || rows[2]["CLUSTERS"] != "3" {
			t.Errorf("clusters --group-by region:\n%s", res.Stdout)
		}
	})

	t.Run("get --group-by region", func(t *testing.T) {
		res := fed.OpenMCP(t, "get", "deploy", "-n", "web", "--all-clusters", "--group-by", "region")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		rows := parseTable(t, res.Stdout)
		// cluster1 and cluster2 (AS) run web with 1 replica each; cluster3 (EU) answers with none.
		if len(rows) != 3 || rows[0]["REGION"] != "AS" || rows[0]["CLUSTERS"] != "2" || rows[0]["OBJECTS"] != "2" || rows[0]["DESIRED"] != "2" ||
			rows[1]["REGION"] != "EU" || rows[1]["CLUSTERS"] != "1" || rows[1]["OBJECTS"] != "0" ||
			rows[2]["REGION"] != "TOTAL" || rows[2]["CLUSTERS"] != "3" || rows[2]["OBJECTS"] != "2" {
			t.Errorf("get deploy --group-by region:\n%s", res.Stdout)
		}
		res = fed.OpenMCP(t, "get", "deploy", "-n", "web", "--all-clusters", "--group-by", "planet")
		if res.Code != 2 || !strings.Contains(res.Stderr, `invalid --group-by "planet": allowed values are region, zone, cluster`) {
			t.Errorf("--group-by planet: exit %d, stderr %q", res.Code, res.Stderr)
		}
	})

	t.Run("a member that does not answer is in the JSON List", func(t *testing.T) {
		fed.Member("cluster2").StopCluster()
		res := fed.OpenMCP(t, "events", "-n", "web", "--all-clusters", "-o", "json", "--cluster-timeout", "5s")
		if res.Code != 1 || !strings.Contains(res.Stderr, "cluster cluster2:") {
			t.Fatalf("exit %d, stderr %q", res.Code, res.Stderr)
		}
		var list struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Items []struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, res.Stdout)
		}
		var failed []struct{ Cluster, Reason string }
		if err := json.Unmarshal([]byte(list.Metadata.Annotations["openmcp.k8s.io/failed-clusters"]), &failed); err != nil || len(failed) != 1 || failed[0].Cluster != "cluster2" || failed[0].Reason == "" {
			t.Errorf("failed-clusters annotation %q (%v)", list.Metadata.Annotations["openmcp.k8s.io/failed-clusters"], err)
		}
		if len(list.Items) == 0 || list.Items[0].Metadata.Annotations[fleet.ClusterAnnotation] != "cluster1" {
			t.Errorf("items of cluster1 missing or unannotated: %d items", len(list.Items))
		}
	})
}
