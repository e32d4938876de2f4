package manifest

import (
	"k8s.io/apimachinery/pkg/runtime"
)

// OpenMCP's OpenMCPIngress template is an extensions/v1beta1 Ingress
// (backend.serviceName/servicePort), while clusters since Kubernetes 1.22
// serve only networking.k8s.io/v1 (backend.service.name/port). These helpers
// move an Ingress between the two shapes so each side gets the one it reads.

// IngressIsV1 reports whether an Ingress (or Ingress template) uses the
// networking.k8s.io/v1 backend shape.
func IngressIsV1(ing map[string]any) bool {
	spec, _ := ing["spec"].(map[string]any)
	if spec == nil {
		return false
	}
	if _, ok := spec["defaultBackend"]; ok {
		return true
	}
	if _, ok := spec["backend"]; ok {
		return false
	}
	v1 := false
	eachBackend(spec, func(b map[string]any) {
		if _, ok := b["service"]; ok {
			v1 = true
		}
	})
	return v1
}

// eachBackend calls fn for every rules[].http.paths[].backend object.
func eachBackend(spec map[string]any, fn func(map[string]any)) {
	rules, _ := spec["rules"].([]any)
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		http, _ := rm["http"].(map[string]any)
		paths, _ := http["paths"].([]any)
		for _, p := range paths {
			pm, _ := p.(map[string]any)
			if b, ok := pm["backend"].(map[string]any); ok {
				fn(b)
			}
		}
	}
}

func eachPath(spec map[string]any, fn func(map[string]any)) {
	rules, _ := spec["rules"].([]any)
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		http, _ := rm["http"].(map[string]any)
		paths, _ := http["paths"].([]any)
		for _, p := range paths {
			if pm, ok := p.(map[string]any); ok {
				fn(pm)
			}
		}
	}
}

// IngressToV1Beta1Shape returns a copy of ing with v1 backends rewritten
// as serviceName/servicePort, the shape OpenMCP's ingress controller reads.
func IngressToV1Beta1Shape(ing map[string]any) map[string]any {
	out := runtime.DeepCopyJSON(ing)
	spec, _ := out["spec"].(map[string]any)
	if spec == nil {
		return out
	}
	if db, ok := spec["defaultBackend"]; ok {
		spec["backend"] = db
		delete(spec, "defaultBackend")
	}
	conv := func(b map[string]any) {
		svc, ok := b["service"].(map[string]any)
		if !ok {
			return
		}
		delete(b, "service")
		if name, ok := svc["name"]; ok {
			b["serviceName"] = name
		}
		if port, ok := svc["port"].(map[string]any); ok {
			if n, ok := port["number"]; ok {
				b["servicePort"] = n
			} else if n, ok := port["name"]; ok {
				b["servicePort"] = n
			}
		}
	}
	if b, ok := spec["backend"].(map[string]any); ok {
		conv(b)
	}
	eachBackend(spec, conv)
	return out
}

// IngressToV1Shape returns a copy of ing with serviceName/servicePort
// backends rewritten for networking.k8s.io/v1, which also requires a
// pathType (v1beta1 defaulted it to ImplementationSpecific).
func IngressToV1Shape(ing map[string]any) map[string]any {
	out := runtime.DeepCopyJSON(ing)
	spec, _ := out["spec"].(map[string]any)
	if spec == nil {
		return out
	}
	if b, ok := spec["backend"]; ok {
		spec["defaultBackend"] = b
		delete(spec, "backend")
	}
	conv := func(b map[string]any) {
		name, hasName := b["serviceName"]
		port, hasPort := b["servicePort"]
		if !hasName && !hasPort {
			return
		}
		delete(b, "serviceName")
		delete(b, "servicePort")
		svc := map[string]any{}
		if hasName {
			svc["name"] = name
		}
		if hasPort {
			switch p := port.(type) {
			case string:
				svc["port"] = map[string]any{"name": p}
			default:
				svc["port"] = map[string]any{"number": p}
			}
		}
		b["service"] = svc
	}
	if b, ok := spec["defaultBackend"].(map[string]any); ok {
		conv(b)
	}
	eachBackend(spec, conv)
	eachPath(spec, func(p map[string]any) {
		if _, ok := p["pathType"]; !ok {
			p["pathType"] = "ImplementationSpecific"
		}
	})
	return out
}
