package linear

// WithoutHead returns a copy of m that shares its n-gram weights and has no
// lexicon head: the model as it was before the head shipped, for the
// benchmarks' side-by-side rows.
func WithoutHead(m *Model) *Model {
	c := newModel(m.labels, m.feat)
	c.w, c.bias = m.w, m.bias
	return c
}
