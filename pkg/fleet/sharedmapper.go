package fleet

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/restmapper"
)

// sharedMapper is client-go's DeferredDiscoveryRESTMapper for one cluster,
// except that clusters whose discovery came from identical cache files
// (onceDiscovery.fingerprint) share one built mapper: building it was the
// largest part of get's CPU over many clusters once the files were decoded
// once. Building, and Reset when a type is missing and the data came from
// the disk, stay per cluster, as in client-go.
type sharedMapper struct {
	d        *onceDiscovery
	mu       sync.Mutex
	delegate meta.RESTMapperWithContext
}

func (m *sharedMapper) getDelegate(ctx context.Context) (meta.RESTMapperWithContext, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.delegate != nil {
		return m.delegate, nil
	}
	groupResources, err := restmapper.GetAPIGroupResourcesWithContext(ctx, m.d)
	if err != nil {
		return nil, err
	}
	key := m.d.fingerprint()
	if key != "" {
		m.d.shared.Lock()
		shared, ok := m.d.shared.mappers[key]
		m.d.shared.Unlock()
		if ok {
			m.delegate = shared
			return shared, nil
		}
	}
	m.delegate = restmapper.NewDiscoveryRESTMapperWithContext(groupResources)
	if key != "" {
		m.d.shared.Lock()
		m.d.shared.mappers[key] = m.delegate
		m.d.shared.Unlock()
	}
	return m.delegate, nil
}

func (m *sharedMapper) Reset() { m.ResetWithContext(context.Background()) }

func (m *sharedMapper) ResetWithContext(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.d.InvalidateWithContext(ctx)
	m.delegate = nil
}

// mapWithRetry asks the mapper once, and once more after a Reset when the
// answer is a miss and the discovery was not fresh from the server.
func mapWithRetry[T any](ctx context.Context, m *sharedMapper, missed func(T, error) bool, ask func(meta.RESTMapperWithContext) (T, error)) (T, error) {
	del, err := m.getDelegate(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := ask(del)
	if missed(v, err) && !m.d.FreshWithContext(ctx) {
		m.ResetWithContext(ctx)
		if del, err = m.getDelegate(ctx); err != nil {
			var zero T
			return zero, err
		}
		v, err = ask(del)
	}
	return v, err
}

func failed[T any](_ T, err error) bool { return err != nil }
func none[T any](v []T, _ error) bool   { return len(v) == 0 }

func (m *sharedMapper) KindForWithContext(ctx context.Context, r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return mapWithRetry(ctx, m, failed[schema.GroupVersionKind], func(d meta.RESTMapperWithContext) (schema.GroupVersionKind, error) {
		return d.KindForWithContext(ctx, r)
	})
}

func (m *sharedMapper) KindsForWithContext(ctx context.Context, r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	return mapWithRetry(ctx, m, none[schema.GroupVersionKind], func(d meta.RESTMapperWithContext) ([]schema.GroupVersionKind, error) {
		return d.KindsForWithContext(ctx, r)
	})
}

func (m *sharedMapper) ResourceForWithContext(ctx context.Context, r schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	return mapWithRetry(ctx, m, failed[schema.GroupVersionResource], func(d meta.RESTMapperWithContext) (schema.GroupVersionResource, error) {
		return d.ResourceForWithContext(ctx, r)
	})
}

func (m *sharedMapper) ResourcesForWithContext(ctx context.Context, r schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	return mapWithRetry(ctx, m, none[schema.GroupVersionResource], func(d meta.RESTMapperWithContext) ([]schema.GroupVersionResource, error) {
		return d.ResourcesForWithContext(ctx, r)
	})
}

func (m *sharedMapper) RESTMappingWithContext(ctx context.Context, gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	return mapWithRetry(ctx, m, failed[*meta.RESTMapping], func(d meta.RESTMapperWithContext) (*meta.RESTMapping, error) {
		return d.RESTMappingWithContext(ctx, gk, versions...)
	})
}

func (m *sharedMapper) RESTMappingsWithContext(ctx context.Context, gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	return mapWithRetry(ctx, m, none[*meta.RESTMapping], func(d meta.RESTMapperWithContext) ([]*meta.RESTMapping, error) {
		return d.RESTMappingsWithContext(ctx, gk, versions...)
	})
}

func (m *sharedMapper) ResourceSingularizerWithContext(ctx context.Context, resource string) (string, error) {
	return mapWithRetry(ctx, m, failed[string], func(d meta.RESTMapperWithContext) (string, error) {
		return d.ResourceSingularizerWithContext(ctx, resource)
	})
}

// The methods without a context, as client-go's mappers keep both.
func (m *sharedMapper) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return m.KindForWithContext(context.Background(), r)
}

func (m *sharedMapper) KindsFor(r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	return m.KindsForWithContext(context.Background(), r)
}

func (m *sharedMapper) ResourceFor(r schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	return m.ResourceForWithContext(context.Background(), r)
}

func (m *sharedMapper) ResourcesFor(r schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	return m.ResourcesForWithContext(context.Background(), r)
}

func (m *sharedMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	return m.RESTMappingWithContext(context.Background(), gk, versions...)
}

func (m *sharedMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	return m.RESTMappingsWithContext(context.Background(), gk, versions...)
}

func (m *sharedMapper) ResourceSingularizer(resource string) (string, error) {
	return m.ResourceSingularizerWithContext(context.Background(), resource)
}

var (
	_ meta.ResettableRESTMapper            = &sharedMapper{}
	_ meta.ResettableRESTMapperWithContext = &sharedMapper{}
)
