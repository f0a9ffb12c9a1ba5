package semanticselector

import (
	"sync"
	"time"
)

// rejectSet remembers, by request ID, the requests ParseRequest decided to
// reject until AdmitRequest takes them. Entries older than ttl (requests
// that failed before admission) are pruned on insert.
type rejectSet struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]rejectEntry
}

type rejectEntry struct {
	err error
	at  time.Time
}

func newRejectSet(ttl time.Duration) *rejectSet {
	return &rejectSet{ttl: ttl, m: map[string]rejectEntry{}}
}

func (r *rejectSet) add(id string, err error) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, e := range r.m {
		if now.Sub(e.at) > r.ttl {
			delete(r.m, k)
		}
	}
	r.m[id] = rejectEntry{err: err, at: now}
}

func (r *rejectSet) take(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[id]
	if !ok {
		return nil
	}
	delete(r.m, id)
	return e.err
}
