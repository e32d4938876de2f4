package fleet

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
)

// Members of a federation mostly run the same Kubernetes with the same CRDs,
// so their discovery cache files are mostly the same bytes; decoding each
// file once per command, not once per cluster, was most of the discovery CPU
// of `get --all-clusters` (the files, their freshness and the fallback to
// the server stay the disk cache's rules, per cluster).
// The decodings live as long as the command's Kubeconfig (one per command),
// not the process: a test or a long-lived caller starts afresh.
type sharedDiscovery struct {
	sync.Mutex
	byBytes map[string]decodedFile
	mappers map[string]meta.RESTMapperWithContext
}

func newSharedDiscovery() *sharedDiscovery {
	return &sharedDiscovery{byBytes: map[string]decodedFile{}, mappers: map[string]meta.RESTMapperWithContext{}}
}

// decodedFile is a discovery file decoded once, and a number that stands
// for its bytes in the fingerprint of a cluster's discovery.
type decodedFile struct {
	obj runtime.Object
	id  int
}

// decodeDiscoveryFile decodes a discovery cache file's bytes into a copy of
// its own, as the disk cache decodes them, and gives the bytes' number.
func decodeDiscoveryFile[T runtime.Object](decodedDiscovery *sharedDiscovery, b []byte, into T) (T, int, error) {
	decodedDiscovery.Lock()
	shared, ok := decodedDiscovery.byBytes[string(b)]
	decodedDiscovery.Unlock()
	if ok {
		if t, ok := shared.obj.DeepCopyObject().(T); ok {
			return t, shared.id, nil
		}
	}
	if err := runtime.DecodeInto(scheme.Codecs.UniversalDecoder(), b, into); err != nil {
		return into, 0, err
	}
	decodedDiscovery.Lock()
	defer decodedDiscovery.Unlock()
	if shared, ok := decodedDiscovery.byBytes[string(b)]; ok { // decoded meanwhile by another cluster
		return into, shared.id, nil
	}
	id := len(decodedDiscovery.byBytes) + 1
	decodedDiscovery.byBytes[string(b)] = decodedFile{obj: into.DeepCopyObject(), id: id}
	return into, id, nil
}

// readCached reads a file of the cluster's disk cache under the disk
// cache's rules: present and younger than the TTL, and not after Invalidate.
func (d *onceDiscovery) readCached(name string) ([]byte, bool) {
	d.state.Lock()
	invalidated := d.invalidated
	d.state.Unlock()
	if invalidated {
		return nil, false
	}
	f, err := os.Open(filepath.Join(d.dir, name))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || time.Now().After(st.ModTime().Add(discoveryTTL)) {
		return nil, false
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, false
	}
	return b, true
}

// served records where a file's answer came from: the disk (id, the
// bytes' number) or, id 0, the disk cache's own path (maybe the server).
func (d *onceDiscovery) served(name string, id int) {
	d.state.Lock()
	defer d.state.Unlock()
	if id == 0 {
		d.notShared = true
		return
	}
	d.usedCache = true
	if d.files == nil {
		d.files = map[string]int{}
	}
	d.files[name] = id
}

// fingerprint names the discovery this cluster was given, if every file of it
// came from the disk: clusters with the same fingerprint have the same API.
func (d *onceDiscovery) fingerprint() string {
	d.state.Lock()
	defer d.state.Unlock()
	if d.notShared || len(d.files) == 0 {
		return ""
	}
	names := make([]string, 0, len(d.files))
	for n := range d.files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%d;", n, d.files[n])
	}
	return b.String()
}

func (d *onceDiscovery) ServerGroups() (*metav1.APIGroupList, error) {
	return d.ServerGroupsWithContext(context.Background())
}

func (d *onceDiscovery) ServerGroupsWithContext(ctx context.Context) (*metav1.APIGroupList, error) {
	const name = "servergroups.json"
	if b, ok := d.readCached(name); ok {
		if groups, id, err := decodeDiscoveryFile(d.shared, b, &metav1.APIGroupList{}); err == nil {
			d.served(name, id)
			return groups, nil
		}
	}
	d.served(name, 0)
	return d.CachedDiscoveryClient.ServerGroupsWithContext(ctx)
}

func (d *onceDiscovery) ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error) {
	return d.ServerResourcesForGroupVersionWithContext(context.Background(), groupVersion)
}

func (d *onceDiscovery) ServerResourcesForGroupVersionWithContext(ctx context.Context, groupVersion string) (*metav1.APIResourceList, error) {
	name := filepath.Join(groupVersion, "serverresources.json")
	if b, ok := d.readCached(name); ok {
		if resources, id, err := decodeDiscoveryFile(d.shared, b, &metav1.APIResourceList{}); err == nil {
			d.served(name, id)
			return resources, nil
		}
	}
	d.served(name, 0)
	return d.CachedDiscoveryClient.ServerResourcesForGroupVersionWithContext(ctx, groupVersion)
}

// Fresh is false once anything came from the disk, ours or the disk cache's
// reading: then a type the cache lacks makes the REST mapper ask again.
func (d *onceDiscovery) Fresh() bool { return d.FreshWithContext(context.Background()) }

func (d *onceDiscovery) FreshWithContext(ctx context.Context) bool {
	d.state.Lock()
	used := d.usedCache
	d.state.Unlock()
	return !used && d.CachedDiscoveryClient.FreshWithContext(ctx)
}

var _ discovery.CachedDiscoveryInterface = &onceDiscovery{}
