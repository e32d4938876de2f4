package printing

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// The apiserver has no way to leave managed fields out of a list: a pod
// Table with each row's metadata (what -A and --show-labels need) is 98%
// managed fields, 2.8 MB for 500 pods, and annotations such as
// last-applied-configuration can be as large as the object. No table
// printer reads either, and decoding them into maps for 64 clusters at once
// took over 500 MiB. StripUnprinted removes them from the answer as it is
// read, so they are never held or decoded.

var (
	metadataKey = []byte(`"metadata"`)
	// unprintedKeys are the members dropped from metadata objects.
	unprintedKeys = [][]byte{[]byte(`"managedFields"`), []byte(`"annotations"`)}
	candidateKeys = append([][]byte{metadataKey}, unprintedKeys...)
)

// keyState tells whether a quoted string read so far could still become one
// of the candidate keys, and which one it is once complete.
func keyState(s []byte) (partial bool, complete []byte) {
	for _, k := range candidateKeys {
		if bytes.HasPrefix(k, s) {
			partial = true
			if len(k) == len(s) {
				complete = k
			}
		}
	}
	return partial, complete
}

type stripState int

const (
	copying    stripState = iota // outside strings
	inString                     // inside a string that is not a candidate key
	inKey                        // inside a string that may be a candidate key
	afterKey                     // after a candidate key: white space, then a colon or not
	skipping                     // inside the value being dropped
	afterValue                   // after a dropped first member: drop the comma that follows
)

type unprintedStripper struct {
	in  io.Reader
	buf []byte
	out []byte // processed, ready to be read
	err error

	state    stripState
	escaped  bool   // the previous byte of a string was a backslash
	held     []byte // a comma, white space and a candidate key: not yet known to stay
	comma    bool   // held starts with a comma
	key      []byte // the candidate key completed, in afterKey
	metadata []bool // for each open { and [: is it a metadata object
	nextMeta bool   // the value about to start is that of a "metadata" key
	depth    int    // of [ and { in the value being dropped
	inStr    bool   // inside a string of the value being dropped
	begun    bool   // the value being dropped has begun
	first    bool   // the dropped member had no comma before it
}

// StripUnprinted returns r without the "managedFields" and "annotations"
// members of its metadata objects (the values of "metadata" keys); all else
// is passed on unchanged.
func StripUnprinted(r io.Reader) io.Reader {
	return &unprintedStripper{in: r, buf: make([]byte, 32<<10)}
}

func (s *unprintedStripper) Read(p []byte) (int, error) {
	for len(s.out) == 0 && s.err == nil {
		n, err := s.in.Read(s.buf)
		s.out = s.process(s.buf[:n], s.out[:0])
		if err != nil {
			s.err = err
			s.out = append(s.out, s.held...) // cut short in a key: give it as it came
			s.held = nil
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	if len(s.out) == 0 && s.err != nil {
		return n, s.err
	}
	return n, nil
}

func (s *unprintedStripper) flushHeld(out []byte) []byte {
	out = append(out, s.held...)
	s.held, s.comma = s.held[:0], false
	return out
}

func (s *unprintedStripper) inMetadata() bool {
	return len(s.metadata) > 0 && s.metadata[len(s.metadata)-1]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// process appends to out what of chunk stays.
func (s *unprintedStripper) process(chunk, out []byte) []byte {
	for i := 0; i < len(chunk); {
		c := chunk[i]
		switch s.state {
		case copying:
			if len(s.held) == 0 && !s.nextMeta {
				// Copy up to the next byte that matters in one go.
				j := bytes.IndexAny(chunk[i:], `",{}[]`)
				if j < 0 {
					return append(out, chunk[i:]...)
				}
				out = append(out, chunk[i:i+j]...)
				i += j
				c = chunk[i]
			}
			switch {
			case c == ',':
				out = s.flushHeld(out)
				s.held, s.comma = append(s.held, ','), true
			case c == '"':
				s.held = append(s.held, '"')
				s.state = inKey
			case isSpace(c) && s.comma:
				s.held = append(s.held, c)
			case isSpace(c):
				out = append(out, c)
			default:
				out = s.flushHeld(out)
				out = append(out, c)
				switch c {
				case '{', '[':
					s.metadata = append(s.metadata, c == '{' && s.nextMeta)
				case '}', ']':
					if len(s.metadata) > 0 {
						s.metadata = s.metadata[:len(s.metadata)-1]
					}
				}
			}
			if !isSpace(c) {
				s.nextMeta = false
			}
			i++
		case inString:
			if s.escaped {
				s.escaped = false
				out = append(out, c)
				i++
				continue
			}
			j := bytes.IndexAny(chunk[i:], `"\`)
			if j < 0 {
				return append(out, chunk[i:]...)
			}
			out = append(out, chunk[i:i+j+1]...)
			if chunk[i+j] == '\\' {
				s.escaped = true
			} else {
				s.state = copying
			}
			i += j + 1
		case inKey:
			s.held = append(s.held, c)
			i++
			partial, complete := keyState(s.held[bytes.IndexByte(s.held, '"'):])
			switch {
			case !partial: // another string: what is held stays
				out = s.flushHeld(out)
				switch {
				case c == '\\':
					s.state, s.escaped = inString, true
				case c == '"':
					s.state = copying
				default:
					s.state = inString
				}
			case complete != nil:
				s.state, s.key = afterKey, complete
			}
		case afterKey:
			switch {
			case isSpace(c):
				s.held = append(s.held, c)
				i++
			case c == ':' && !bytes.Equal(s.key, metadataKey) && s.inMetadata():
				// A member to drop, with the comma before it; the first
				// member of an object drops the comma after it instead.
				s.first = !s.comma
				s.held, s.comma = s.held[:0], false
				s.state, s.depth, s.inStr, s.begun, s.escaped = skipping, 0, false, false, false
				i++
			case c == ':':
				out = s.flushHeld(out)
				out = append(out, ':')
				s.nextMeta = bytes.Equal(s.key, metadataKey)
				s.state = copying
				i++
			default: // the word as a value, not a key
				out = s.flushHeld(out)
				s.state = copying
			}
		case skipping:
			i += s.skip(chunk[i:])
		case afterValue:
			switch {
			case isSpace(c):
				i++
			case c == ',':
				i++
				s.state = copying
			default:
				s.state = copying
			}
		}
	}
	return out
}

// skip consumes what of b belongs to the value being dropped and returns
// how many bytes that is.
func (s *unprintedStripper) skip(b []byte) int {
	for i := 0; i < len(b); {
		c := b[i]
		if s.inStr {
			if s.escaped {
				s.escaped = false
				i++
				continue
			}
			j := bytes.IndexAny(b[i:], `"\`)
			if j < 0 {
				return len(b)
			}
			i += j + 1
			if b[i-1] == '\\' {
				s.escaped = true
				continue
			}
			s.inStr = false
			if s.depth == 0 {
				s.endSkip()
				return i
			}
			continue
		}
		switch {
		case c == '"':
			s.inStr, s.begun = true, true
		case c == '[' || c == '{':
			s.depth++
			s.begun = true
		case c == ']' || c == '}':
			if s.depth == 0 { // the object ends right after a literal value
				s.endSkip()
				return i
			}
			s.depth--
			if s.depth == 0 {
				s.endSkip()
				return i + 1
			}
		case c == ',' || isSpace(c):
			if s.depth == 0 && s.begun { // the end of a literal value
				s.endSkip()
				return i
			}
		default:
			s.begun = true
		}
		i++
	}
	return len(b)
}

func (s *unprintedStripper) endSkip() {
	if s.first {
		s.state = afterValue
	} else {
		s.state = copying
	}
}

// StripTablesUnprinted wraps a cluster's transport so that the Tables it
// lists (Accept: ...;as=Table) come without managed fields and annotations.
// Watches and other answers pass untouched.
func StripTablesUnprinted(rt http.RoundTripper) http.RoundTripper {
	return tableStripper{rt}
}

type tableStripper struct{ next http.RoundTripper }

func (t tableStripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || req.URL.Query().Get("watch") == "true" ||
		!strings.Contains(req.Header.Get("Accept"), "as=Table") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return resp, err
	}
	resp.Body = strippedBody{StripUnprinted(resp.Body), resp.Body}
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return resp, nil
}

type strippedBody struct {
	io.Reader
	io.Closer
}
