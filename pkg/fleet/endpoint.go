package fleet

import (
	"net"
	"net/url"
	"strings"
)

// LocalOnlyEndpoint says whether an API endpoint (a URL, or host[:port] as
// KubeFed also accepts) names an address that means a different machine to
// each process that dials it: loopback (127.0.0.0/8, ::1, localhost) or
// link-local (169.254.0.0/16, fe80::/10). Recorded in a KubeFedCluster it
// works only for a KubeFed controller on the very machine the user ran join
// on; from a pod it dials the pod itself. It returns which kind it is.
func LocalOnlyEndpoint(endpoint string) (kind string, local bool) {
	s := strings.TrimSpace(endpoint)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "loopback", true
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "", false
	case ip.IsLoopback():
		return "loopback", true
	case ip.IsLinkLocalUnicast():
		return "link-local", true
	}
	return "", false
}
