package fleet

import "testing"

func TestLocalOnlyEndpoint(t *testing.T) {
	for ep, want := range map[string]string{
		"https://127.0.0.1:6443":       "loopback",
		"https://127.3.4.5":            "loopback",
		"https://[::1]:6443":           "loopback",
		"https://localhost:6443":       "loopback",
		"https://LOCALHOST.:6443":      "loopback",
		"https://api.localhost":        "loopback",
		"127.0.0.1:6443":               "loopback",
		"https://169.254.10.1:6443":    "link-local",
		"https://[fe80::1]:6443":       "link-local",
		"https://10.0.0.5:6443":        "",
		"https://203.0.113.10":         "",
		"https://api.example.com:6443": "",
		"https://[2001:db8::1]:6443":   "",
		"":                             "",
	} {
		kind, local := LocalOnlyEndpoint(ep)
		if kind != want || local != (want != "") {
			t.Errorf("%q: got %q %v, want %q", ep, kind, local, want)
		}
	}
}
