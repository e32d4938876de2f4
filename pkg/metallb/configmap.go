package metallb

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The legacy configuration (MetalLB before v0.13): ConfigMap <ns>/config,
// key "config", a YAML document with address-pools and, for BGP, peers and
// more. It is edited as a YAML node tree so that everything this plugin does
// not touch (peers, other pools, their settings, comments, key order) stays
// as it was.
const (
	ConfigMapName = "config"
	ConfigMapKey  = "config"
)

// parseConfig reads the config document; an empty text is an empty mapping.
func parseConfig(text string) (*yaml.Node, error) {
	doc := &yaml.Node{}
	if strings.TrimSpace(text) != "" {
		if err := yaml.Unmarshal([]byte(text), doc); err != nil {
			return nil, fmt.Errorf("key %q is not valid YAML (%v); fix it by hand first", ConfigMapKey, oneLine(err.Error()))
		}
	}
	if doc.Kind == 0 {
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("key %q is not a YAML mapping; fix it by hand first", ConfigMapKey)
	}
	return doc, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// mapValue returns the value node of key in a mapping, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setMapValue replaces key's value in place (keeping the key's position and
// comments) or appends the pair.
func setMapValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, str(key), v)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func strSeq(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// configPools lists the pools of a legacy config document.
func configPools(text string) ([]Pool, error) {
	doc, err := parseConfig(text)
	if err != nil {
		return nil, err
	}
	pools := mapValue(doc.Content[0], "address-pools")
	if pools == nil {
		return nil, nil
	}
	if pools.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("address-pools in key %q is not a list", ConfigMapKey)
	}
	var out []Pool
	for _, p := range pools.Content {
		if p.Kind != yaml.MappingNode {
			continue
		}
		pool := Pool{Mode: ModeConfigMap, AutoAssign: true}
		if n := mapValue(p, "name"); n != nil {
			pool.Name = n.Value
		}
		if n := mapValue(p, "protocol"); n != nil {
			pool.Protocol = n.Value
		}
		if n := mapValue(p, "auto-assign"); n != nil {
			if b, err := strconv.ParseBool(n.Value); err == nil {
				pool.AutoAssign = b
			}
		}
		if n := mapValue(p, "avoid-buggy-ips"); n != nil {
			pool.AvoidBuggyIPs, _ = strconv.ParseBool(n.Value)
		}
		if n := mapValue(p, "addresses"); n != nil && n.Kind == yaml.SequenceNode {
			for _, a := range n.Content {
				pool.Addresses = append(pool.Addresses, a.Value)
			}
		}
		pool.parseAddresses()
		out = append(out, pool)
	}
	return out, nil
}

// setConfigPool sets one pool's addresses (and auto-assign when given) in a
// legacy config document, adding a layer2 pool when there is none of that
// name. Everything else in the document is kept. changed is false when the
// pool already holds exactly these addresses.
func setConfigPool(text, name string, ranges []Range, autoAssign *bool) (out string, changed bool, err error) {
	doc, err := parseConfig(text)
	if err != nil {
		return "", false, err
	}
	root := doc.Content[0]
	pools := mapValue(root, "address-pools")
	if pools == nil || pools.Kind == yaml.ScalarNode && pools.Tag == "!!null" {
		pools = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		setMapValue(root, "address-pools", pools)
	}
	if pools.Kind != yaml.SequenceNode {
		return "", false, fmt.Errorf("address-pools in key %q is not a list; fix it by hand first", ConfigMapKey)
	}
	var pool *yaml.Node
	for _, p := range pools.Content {
		if p.Kind == yaml.MappingNode {
			if n := mapValue(p, "name"); n != nil && n.Value == name {
				pool = p
				break
			}
		}
	}
	if pool == nil {
		pool = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setMapValue(pool, "name", str(name))
		setMapValue(pool, "protocol", str("layer2"))
		setMapValue(pool, "addresses", strSeq(Strings(ranges)))
		if autoAssign != nil {
			setMapValue(pool, "auto-assign", boolNode(*autoAssign))
		}
		pools.Content = append(pools.Content, pool)
		return encodeConfig(doc)
	}

	var have []string
	if n := mapValue(pool, "addresses"); n != nil && n.Kind == yaml.SequenceNode {
		for _, a := range n.Content {
			have = append(have, a.Value)
		}
	}
	haveRanges, perr := parseAll(have)
	if perr != nil || !sameRanges(haveRanges, ranges) {
		setMapValue(pool, "addresses", strSeq(Strings(ranges)))
		changed = true
	}
	if autoAssign != nil {
		cur := true
		if n := mapValue(pool, "auto-assign"); n != nil {
			if b, err := strconv.ParseBool(n.Value); err == nil {
				cur = b
			}
		}
		if n := mapValue(pool, "auto-assign"); n == nil && !*autoAssign || n != nil && cur != *autoAssign {
			setMapValue(pool, "auto-assign", boolNode(*autoAssign))
			changed = true
		}
	}
	if !changed {
		return text, false, nil
	}
	return encodeConfig(doc)
}

func encodeConfig(doc *yaml.Node) (string, bool, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", false, err
	}
	if err := enc.Close(); err != nil {
		return "", false, err
	}
	return buf.String(), true, nil
}

func parseAll(values []string) ([]Range, error) {
	out := make([]Range, 0, len(values))
	for _, v := range values {
		r, err := parseExisting(v)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
