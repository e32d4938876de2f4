package api

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The objects below follow the definitions of the MCKS swagger (v0.7.1.1).
// They carry a TypeMeta so that kubectl's printers (-o json|yaml|name|jsonpath)
// print them like any Kubernetes object; the MCKS server fills "kind" itself
// and never sends an apiVersion, so none is printed either.

// Kinds the MCKS server answers with; set by the client when the server leaves them out.
const (
	KindCluster     = "Cluster"
	KindClusterList = "ClusterList"
	KindNode        = "Node"
	KindNodeList    = "NodeList"
	KindSpecList    = "SpecList"
	KindStatus      = "Status"
)

// Cluster phases (model.ClusterStatus.phase).
const (
	PhasePending      = "Pending"
	PhaseProvisioning = "Provisioning"
	PhaseProvisioned  = "Provisioned"
	PhaseFailed       = "Failed"
)

// Node roles (model.Node.role).
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// Cluster is model.Cluster.
type Cluster struct {
	metav1.TypeMeta `json:",inline"`

	Name            string `json:"name"`
	Namespace       string `json:"namespace,omitempty"`
	Label           string `json:"label,omitempty"`
	Description     string `json:"description,omitempty"`
	K8sVersion      string `json:"k8sVersion,omitempty"`
	NetworkCNI      string `json:"networkCni,omitempty"`
	Etcd            string `json:"etcd,omitempty"`
	Loadbalancer    string `json:"loadbalancer,omitempty"`
	InstallMonAgent string `json:"installMonAgent,omitempty"`
	MCIS            string `json:"mcis,omitempty"`
	CPGroup         string `json:"cpGroup,omitempty"`
	CPLeader        string `json:"cpLeader,omitempty"`
	CreatedTime     string `json:"createdTime,omitempty"`
	// ServiceType is multi (several clouds) or single (v0.7.2 and later).
	ServiceType string        `json:"serviceType,omitempty"`
	Status      ClusterStatus `json:"status,omitzero"`
	Nodes       []Node        `json:"nodes,omitempty"`
	// ClusterConfig is the cluster's admin kubeconfig: a credential.
	ClusterConfig string `json:"clusterConfig,omitempty"`
}

// ClusterStatus is model.ClusterStatus.
type ClusterStatus struct {
	Phase   string `json:"phase,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// ClusterList is model.ClusterList.
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	Items           []Cluster `json:"items"`
}

// Node is model.Node.
type Node struct {
	metav1.TypeMeta `json:",inline"`

	Name        string `json:"name"`
	Role        string `json:"role,omitempty"`
	Spec        string `json:"spec,omitempty"`
	CSP         string `json:"csp,omitempty"`
	CSPLabel    string `json:"cspLabel,omitempty"`
	RegionLabel string `json:"regionLabel,omitempty"`
	ZoneLabel   string `json:"zoneLabel,omitempty"`
	PublicIP    string `json:"publicIp,omitempty"`
	PrivateIP   string `json:"privateIp,omitempty"`
	CreatedTime string `json:"createdTime,omitempty"`
	// Credential is the node's SSH private key: never print it (see Redact).
	Credential string `json:"credential,omitempty"`
}

// NodeList is model.NodeList.
type NodeList struct {
	metav1.TypeMeta `json:",inline"`
	Items           []Node `json:"items"`
}

// SpecList is service.SpecList: the VM specs a cloud connection offers.
type SpecList struct {
	metav1.TypeMeta `json:",inline"`
	ConnectionName  string   `json:"connectionName,omitempty"`
	Items           []VMSpec `json:"items"`
}

// VMSpec is service.Vmspecs.
type VMSpec struct {
	Name   string `json:"name"`
	Memory string `json:"memory,omitempty"`
	CPU    struct {
		Count string `json:"count,omitempty"`
		Clock string `json:"clock,omitempty"`
	} `json:"cpu,omitzero"`
}

// Status is app.Status: the answer to deletes, and the body of errors.
type Status struct {
	Kind    string `json:"kind,omitempty"`
	Code    int    `json:"code"`
	Message string `json:"message,omitempty"`
}

// ClusterReq is app.ClusterReq, the body of a cluster create.
type ClusterReq struct {
	Name         string           `json:"name"`
	Label        string           `json:"label,omitempty"`
	Description  string           `json:"description,omitempty"`
	Config       ClusterConfigReq `json:"config"`
	ControlPlane []NodeSetReq     `json:"controlPlane"`
	Worker       []NodeSetReq     `json:"worker"`
}

// ClusterConfigReq is app.ClusterConfigReq.
type ClusterConfigReq struct {
	InstallMonAgent string        `json:"installMonAgent,omitempty"`
	Kubernetes      KubernetesReq `json:"kubernetes"`
}

// KubernetesReq is app.ClusterConfigKubernetesReq.
type KubernetesReq struct {
	Version          string `json:"version,omitempty"`
	NetworkCNI       string `json:"networkCni,omitempty"`
	PodCIDR          string `json:"podCidr,omitempty"`
	ServiceCIDR      string `json:"serviceCidr,omitempty"`
	ServiceDNSDomain string `json:"serviceDnsDomain,omitempty"`
	// Etcd is never omitted: the MCKS server rejects a create without it
	// although the swagger gives it a default.
	Etcd         string           `json:"etcd"`
	Loadbalancer string           `json:"loadbalancer,omitempty"`
	StorageClass *StorageClassReq `json:"storageclass,omitempty"`
}

// StorageClassReq is the storageclass object of app.ClusterConfigKubernetesReq.
type StorageClassReq struct {
	NFS *NFSReq `json:"nfs,omitempty"`
}

// NFSReq is app.ClusterStorageClassNfsReq.
type NFSReq struct {
	Server string `json:"server,omitempty"`
	Path   string `json:"path,omitempty"`
}

// NodeSetReq is app.NodeSetReq: COUNT VMs of SPEC through CONNECTION.
type NodeSetReq struct {
	Connection string       `json:"connection"`
	Spec       string       `json:"spec"`
	Count      int          `json:"count"`
	RootDisk   *RootDiskReq `json:"rootDisk,omitempty"`
}

// RootDiskReq is the rootDisk object of app.NodeSetReq.
type RootDiskReq struct {
	Type string `json:"type,omitempty"`
	Size string `json:"size,omitempty"`
}

// NodeReq is app.NodeReq, the body of a node add.
type NodeReq struct {
	ControlPlane []NodeSetReq `json:"controlPlane,omitempty"`
	Worker       []NodeSetReq `json:"worker,omitempty"`
}

// runtime.Object for the printers. DeepCopy is by value: every field is a
// string or a slice of structs of strings.

func (c *Cluster) DeepCopyObject() runtime.Object {
	out := *c
	out.Nodes = append([]Node(nil), c.Nodes...)
	return &out
}

func (l *ClusterList) DeepCopyObject() runtime.Object {
	out := *l
	out.Items = make([]Cluster, len(l.Items))
	for i := range l.Items {
		out.Items[i] = *l.Items[i].DeepCopyObject().(*Cluster)
	}
	return &out
}

func (n *Node) DeepCopyObject() runtime.Object { out := *n; return &out }

func (l *NodeList) DeepCopyObject() runtime.Object {
	out := *l
	out.Items = append([]Node(nil), l.Items...)
	return &out
}

func (l *SpecList) DeepCopyObject() runtime.Object {
	out := *l
	out.Items = append([]VMSpec(nil), l.Items...)
	return &out
}

// GetObjectMeta lets kubectl's name printer (-o name) find the name.
func (c *Cluster) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace}
}

// GetObjectMeta lets kubectl's name printer (-o name) find the name.
func (n *Node) GetObjectMeta() metav1.Object { return &metav1.ObjectMeta{Name: n.Name} }

// setKinds fills kinds the server left out, so every object prints.
func (c *Cluster) setKinds() {
	setKind(&c.TypeMeta, KindCluster)
	for i := range c.Nodes {
		c.Nodes[i].setKinds()
	}
}

func (l *ClusterList) setKinds() {
	setKind(&l.TypeMeta, KindClusterList)
	for i := range l.Items {
		l.Items[i].setKinds()
	}
}

func (n *Node) setKinds() { setKind(&n.TypeMeta, KindNode) }

func (l *NodeList) setKinds() {
	setKind(&l.TypeMeta, KindNodeList)
	for i := range l.Items {
		l.Items[i].setKinds()
	}
}

func (l *SpecList) setKinds() { setKind(&l.TypeMeta, KindSpecList) }

func setKind(tm *metav1.TypeMeta, kind string) {
	if tm.Kind == "" {
		tm.SetGroupVersionKind(schema.GroupVersionKind{Kind: kind})
	}
}

// CountRoles counts a cluster's control-plane and worker nodes.
func (c *Cluster) CountRoles() (controlPlanes, workers int) {
	for _, n := range c.Nodes {
		switch n.Role {
		case RoleControlPlane:
			controlPlanes++
		case RoleWorker:
			workers++
		}
	}
	return controlPlanes, workers
}
