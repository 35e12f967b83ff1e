package encoder

// linearKeys is the set size up to which scanning beats hashing. Past it the set adds an index,
// so that a record with thousands of attributes costs linear, not quadratic, time.
const linearKeys = 16

// keySet is an insertion-ordered set of attribute keys, used to emit each key at most once:
// pdata maps received from the wire may repeat a key.
type keySet struct {
	keys  []string
	index map[string]int // populated only while len(keys) > linearKeys
}

// reset empties the set and drops its references to the keys.
func (s *keySet) reset() {
	clear(s.keys)
	s.keys = s.keys[:0]
	if len(s.index) > 0 {
		clear(s.index)
	}
}

// find returns the position of k, or -1.
func (s *keySet) find(k string) int {
	if len(s.keys) > linearKeys {
		if i, ok := s.index[k]; ok {
			return i
		}
		return -1
	}
	for i, x := range s.keys {
		if x == k {
			return i
		}
	}
	return -1
}

// add appends k unless it is present, and reports whether it did.
func (s *keySet) add(k string) bool {
	if s.find(k) >= 0 {
		return false
	}
	s.keys = append(s.keys, k)
	switch n := len(s.keys); {
	case n == linearKeys+1:
		if s.index == nil {
			s.index = make(map[string]int, 2*linearKeys)
		}
		for i, x := range s.keys {
			s.index[x] = i
		}
	case n > linearKeys+1:
		s.index[k] = n - 1
	}
	return true
}
