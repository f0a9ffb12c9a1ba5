// Package soak runs the system for a long time at a steady fraction of its
// measured capacity (make soak, docs/results/soak/): the sandbox of
// test/sandbox, a mixed OpenAI workload (auto and explicit models, chat and
// completions, streaming and not, a small share of malformed bodies), and
// samples of the EPP's resident memory and goroutine count, so that a leak
// shows as a trend. It is self-contained (its own load generator and plot)
// so that it does not depend on the benchmark's internals.
package soak

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// Kind says what a request is and so what answer is expected of it.
type Kind string

// Request kinds of the mix.
const (
	AutoChat      Kind = "auto-chat"
	AutoComplete  Kind = "auto-completion"
	ExplicitChat  Kind = "explicit-chat"
	ExplicitComp  Kind = "explicit-completion"
	Malformed     Kind = "malformed"
	streamedShare      = 0.3
)

// Request is one generated request and the answer it must get.
type Request struct {
	Kind       Kind
	Path       string // /v1/chat/completions or /v1/completions
	Body       []byte
	Stream     bool
	WantStatus int    // 200, or 400 for malformed bodies
	WantModel  string // the response's model for explicit requests; "" for auto
}

// Mix generates the soak workload. It is not safe for concurrent use.
type Mix struct {
	texts          []string
	models         []string
	malformedShare float64
	rng            *rand.Rand
	seq            int
}

// NewMix returns a mix over prompt texts and the explicit models.
// malformedShare is the fraction of malformed bodies (0.01 for 1 %).
func NewMix(texts, models []string, malformedShare float64, seed uint64) *Mix {
	return &Mix{texts: texts, models: models, malformedShare: malformedShare, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// malformedBodies are bodies the EPP must refuse with 400: cut JSON, not
// JSON, no model, the wrong shape for the endpoint.
var malformedBodies = []struct{ path, body string }{
	{"/v1/completions", `{"model":"auto","prompt":`},
	{"/v1/chat/completions", `not json`},
	{"/v1/completions", `{"prompt":"no model here"}`},
	{"/v1/chat/completions", `{"model":"auto","messages":"not a list"}`},
}

// Next returns the next request of the mix.
func (m *Mix) Next() Request {
	m.seq++
	if m.rng.Float64() < m.malformedShare {
		b := malformedBodies[m.rng.IntN(len(malformedBodies))]
		return Request{Kind: Malformed, Path: b.path, Body: []byte(b.body), WantStatus: 400}
	}
	// A sequence number keeps some prompts unseen by the classifier cache;
	// the rest repeat texts of the data set, as real traffic repeats itself.
	text := m.texts[m.rng.IntN(len(m.texts))]
	if m.seq%2 == 0 {
		text = fmt.Sprintf("(%d) %s", m.seq, text)
	}
	auto := m.rng.IntN(2) == 0
	chat := m.rng.IntN(2) == 0
	stream := m.rng.Float64() < streamedShare
	r := Request{Stream: stream, WantStatus: 200}
	model := "auto"
	if !auto {
		model = m.models[m.rng.IntN(len(m.models))]
		r.WantModel = model
	}
	body := map[string]any{"model": model, "max_tokens": 8, "stream": stream}
	switch {
	case chat:
		r.Path = "/v1/chat/completions"
		body["messages"] = []map[string]string{{"role": "user", "content": text}}
	default:
		r.Path = "/v1/completions"
		body["prompt"] = text
	}
	switch {
	case auto && chat:
		r.Kind = AutoChat
	case auto:
		r.Kind = AutoComplete
	case chat:
		r.Kind = ExplicitChat
	default:
		r.Kind = ExplicitComp
	}
	r.Body, _ = json.Marshal(body)
	return r
}
