// Package keyword implements the keyword-signal plugin: named rules of
// keywords and RE2 regular expressions, compiled once at start-up, that a
// request matches by its prompt text. The signal's result lists the rules
// that hold, for decisions to match (`{signal: <plugin name>, name: <rule>}`).
// See README.md.
package keyword

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "keyword-signal"

var _ selection.Signal = &Signal{}

// Signal is the keyword-signal plugin.
type Signal struct {
	typedName fwkplugin.TypedName
	m         *matcher
}

// Factory builds the plugin from its parameters.
func Factory(name string, raw json.RawMessage, _ fwkplugin.Handle) (fwkplugin.Plugin, error) {
	p := Parameters{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, fmt.Errorf("%s %q: parameters are required: declare rules", Type, name)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s %q: invalid parameters: %w", Type, name, err)
	}
	s, err := New(name, p)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return s, nil
}

// New builds the signal from typed parameters: defaults, validation, then
// the rules compiled once.
func New(name string, p Parameters) (*Signal, error) {
	p.applyDefaults()
	regexes, err := p.validate()
	if err != nil {
		return nil, err
	}
	return &Signal{typedName: fwkplugin.TypedName{Type: Type, Name: name}, m: newMatcher(p.Rules, regexes)}, nil
}

// TypedName returns the plugin's type and name.
func (s *Signal) TypedName() fwkplugin.TypedName { return s.typedName }

// Evaluate matches the rules against req.Text. Matches holds each rule that
// holds with score 1; a request without text matches nothing.
func (s *Signal) Evaluate(ctx context.Context, req *selection.Request) (selection.SignalResult, error) {
	if req == nil {
		return selection.SignalResult{}, errors.New("keyword signal: nil request")
	}
	if err := ctx.Err(); err != nil {
		return selection.SignalResult{}, fmt.Errorf("keyword signal: %w", err)
	}
	start := time.Now()
	matches := s.m.match(req.Text)
	return selection.SignalResult{Matches: matches, Duration: time.Since(start)}, nil
}
