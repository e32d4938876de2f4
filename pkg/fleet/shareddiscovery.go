package fleet

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

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
var decodedDiscovery = struct {
	sync.Mutex
	byBytes map[string]runtime.Object
}{byBytes: map[string]runtime.Object{}}

// decodeDiscoveryFile decodes a discovery cache file's bytes into a copy of
// its own, as the disk cache decodes them.
func decodeDiscoveryFile[T runtime.Object](b []byte, into T) (T, error) {
	decodedDiscovery.Lock()
	shared, ok := decodedDiscovery.byBytes[string(b)]
	decodedDiscovery.Unlock()
	if ok {
		if t, ok := shared.DeepCopyObject().(T); ok {
			return t, nil
		}
	}
	if err := runtime.DecodeInto(scheme.Codecs.UniversalDecoder(), b, into); err != nil {
		return into, err
	}
	decodedDiscovery.Lock()
	decodedDiscovery.byBytes[string(b)] = into.DeepCopyObject()
	decodedDiscovery.Unlock()
	return into, nil
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
	if err != nil || time.Now().After(st.ModTime().Add(d.ttl)) {
		return nil, false
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, false
	}
	d.state.Lock()
	d.usedCache = true
	d.state.Unlock()
	return b, true
}

func (d *onceDiscovery) ServerGroups() (*metav1.APIGroupList, error) {
	return d.ServerGroupsWithContext(context.Background())
}

func (d *onceDiscovery) ServerGroupsWithContext(ctx context.Context) (*metav1.APIGroupList, error) {
	if b, ok := d.readCached("servergroups.json"); ok {
		if groups, err := decodeDiscoveryFile(b, &metav1.APIGroupList{}); err == nil {
			return groups, nil
		}
	}
	return d.CachedDiscoveryClient.ServerGroupsWithContext(ctx)
}

func (d *onceDiscovery) ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error) {
	return d.ServerResourcesForGroupVersionWithContext(context.Background(), groupVersion)
}

func (d *onceDiscovery) ServerResourcesForGroupVersionWithContext(ctx context.Context, groupVersion string) (*metav1.APIResourceList, error) {
	if b, ok := d.readCached(filepath.Join(groupVersion, "serverresources.json")); ok {
		if resources, err := decodeDiscoveryFile(b, &metav1.APIResourceList{}); err == nil {
			return resources, nil
		}
	}
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
