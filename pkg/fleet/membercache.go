package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
)

// MemberCache remembers which members a host had, and the context that
// reached each, the last time a command listed them. A fan-out reads it to
// ask the members while the host's list is still on its way (FanOutAhead);
// the host's answer always decides. It holds names only: no server, no
// credential.
type MemberCache struct {
	path string
}

// CachedMember is one remembered member.
type CachedMember struct {
	Name    string `json:"name"`
	Context string `json:"context"`
}

type memberCacheFile struct {
	Members []CachedMember `json:"members"`
}

// MembersCache is the cache of the members of the host that hostContext
// reaches at server, KubeFed running in namespace. It lives beside
// kubectl's discovery cache (--cache-dir).
func (k *Kubeconfig) MembersCache(hostContext, server, namespace string) *MemberCache {
	sum := sha256.Sum256([]byte(hostContext + "\x00" + server + "\x00" + namespace))
	return &MemberCache{path: filepath.Join(k.cacheDir(), "openmcp", "members", hex.EncodeToString(sum[:12])+".json")}
}

// Path is where the cache is kept.
func (c *MemberCache) Path() string { return c.path }

// Read gives the remembered members, or none if there is no usable cache:
// a guess that cannot be read is no guess.
func (c *MemberCache) Read() []CachedMember {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil
	}
	var f memberCacheFile
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return f.Members
}

// Remember stores the members that have a context, if they differ from what
// is stored. It writes a temporary file and renames it, so a reader never
// sees half a list. Failing to write only costs the next command its head start.
func (c *MemberCache) Remember(members []Member) error {
	var f memberCacheFile
	for _, m := range members {
		if m.Context != "" {
			f.Members = append(f.Members, CachedMember{Name: m.Name, Context: m.Context})
		}
	}
	if slices.Equal(c.Read(), f.Members) {
		return nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".members-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.path)
}
