// Package cache wraps any classifier with an LRU cache of its results, so a
// prompt seen again (retries, shared system prompts, benchmarks) is not
// classified twice.
package cache

import (
	"context"
	"hash/maphash"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// key is a 128-bit hash of the text (two independently seeded 64-bit hashes),
// so the cache holds no prompt text and a collision is out of reach.
type key struct{ a, b uint64 }

// Cache is a concurrency-safe LRU of classification results keyed by text.
type Cache struct {
	inner  classifier.Classifier
	seedA  maphash.Seed
	seedB  maphash.Seed
	lru    *lru.Cache[key, classifier.Result]
	closed atomic.Bool
}

var _ classifier.Classifier = (*Cache)(nil)

// New returns inner wrapped with an LRU cache of size results, or inner
// itself when size <= 0. Hits and misses are counted in Hits and Misses.
// Errors are not cached.
func New(inner classifier.Classifier, size int) classifier.Classifier {
	if size <= 0 {
		return inner
	}
	l, err := lru.New[key, classifier.Result](size)
	if err != nil { // only for size <= 0, excluded above
		panic(err)
	}
	return &Cache{inner: inner, seedA: maphash.MakeSeed(), seedB: maphash.MakeSeed(), lru: l}
}

func (c *Cache) key(text string) key {
	return key{maphash.String(c.seedA, text), maphash.String(c.seedB, text)}
}

// Labels returns the inner classifier's labels.
func (c *Cache) Labels() []string { return c.inner.Labels() }

// EmbeddingDim is the inner classifier's embedding length (0: none). Cached
// results keep their embedding.
func (c *Cache) EmbeddingDim() int { return classifier.EmbeddingDimOf(c.inner) }

// Classify answers from the cache or asks the inner classifier.
func (c *Cache) Classify(ctx context.Context, text string) (classifier.Result, error) {
	if c.closed.Load() {
		return classifier.Result{}, classifier.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return classifier.Result{}, err
	}
	k := c.key(text)
	if r, ok := c.get(k); ok {
		Hits.Inc()
		return r, nil
	}
	Misses.Inc()
	r, err := c.inner.Classify(ctx, text)
	if err != nil {
		return r, err
	}
	c.put(k, r)
	return r, nil
}

// ClassifyBatch answers what it can from the cache and sends the rest to
// the inner classifier in one batch.
func (c *Cache) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	if c.closed.Load() {
		return nil, classifier.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]classifier.Result, len(texts))
	keys := make([]key, len(texts))
	var missText []string
	var missAt []int
	for i, t := range texts {
		keys[i] = c.key(t)
		if r, ok := c.get(keys[i]); ok {
			out[i] = r
			continue
		}
		missText, missAt = append(missText, t), append(missAt, i)
	}
	Hits.Add(float64(len(texts) - len(missAt)))
	Misses.Add(float64(len(missAt)))
	if len(missAt) == 0 {
		return out, nil
	}
	rs, err := c.inner.ClassifyBatch(ctx, missText)
	if err != nil {
		return nil, err
	}
	for j, i := range missAt {
		out[i] = rs[j]
		c.put(keys[i], rs[j])
	}
	return out, nil
}

// Close empties the cache and closes the inner classifier.
func (c *Cache) Close() error {
	c.closed.Store(true)
	c.lru.Purge()
	return c.inner.Close()
}

// Len is the number of cached results.
func (c *Cache) Len() int { return c.lru.Len() }

// get returns a copy of a cached result (the caller may modify its Scores
// and Embedding).
func (c *Cache) get(k key) (classifier.Result, bool) {
	r, ok := c.lru.Get(k)
	if !ok {
		return classifier.Result{}, false
	}
	return clone(r), true
}

func (c *Cache) put(k key, r classifier.Result) {
	c.lru.Add(k, clone(r))
}

// clone copies the slices of r, so the cache and its callers share none.
func clone(r classifier.Result) classifier.Result {
	r.Scores = append([]float32(nil), r.Scores...)
	if r.Embedding != nil {
		r.Embedding = append([]float32(nil), r.Embedding...)
	}
	return r
}
