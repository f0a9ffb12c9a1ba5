package classifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Factory builds a classifier of one backend from that backend's raw
// parameters (the `parameters` of a Config; nil or empty when none are
// given). It decodes them strictly, applies its defaults, validates them
// (errors name the JSON field) and loads the model.
type Factory func(ctx context.Context, params json.RawMessage, opts FactoryOptions) (Classifier, error)

// FactoryOptions carries the settings common to all backends that a backend
// applies itself, because only it knows where they pay off.
type FactoryOptions struct {
	// Batch wraps a classifier whose batches cost less than their texts one
	// by one (an ONNX Runtime session) with the configured micro-batching,
	// running up to workers batches at once. It returns c itself when
	// batching is off. Never nil in a call from Load; a nil Batch means off.
	Batch func(c Classifier, workers int) Classifier
}

// WithBatching applies o.Batch to c, or returns c when o.Batch is nil.
func (o FactoryOptions) WithBatching(c Classifier, workers int) Classifier {
	if o.Batch == nil {
		return c
	}
	return o.Batch(c, workers)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a backend available under name, replacing an earlier
// registration of the same name (as GIE's plugin.Register does). It panics
// on an empty name or a nil factory: both are programming errors.
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic(fmt.Sprintf("classifier.Register(%q): empty name or nil factory", name))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = f
}

// Backends returns the registered backend names, sorted.
func Backends() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewBackend builds the classifier of backend name ("" is BackendAuto) from
// its raw parameters, without the common wrappers (see loader.Load).
func NewBackend(ctx context.Context, name string, params json.RawMessage, opts FactoryOptions) (Classifier, error) {
	if name == "" {
		name = BackendAuto
	}
	registryMu.RLock()
	f, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("backend %q: not registered (registered: %s)", name, strings.Join(Backends(), ", "))
	}
	c, err := f(ctx, params, opts)
	if err != nil {
		return nil, fmt.Errorf("classifier backend %s: %w", name, err)
	}
	return c, nil
}

// DecodeParameters decodes a backend's raw parameters into dst strictly:
// unknown fields are errors, and so is anything after the object. Empty or
// null parameters leave dst as it is (its zero value, before defaults).
func DecodeParameters(raw json.RawMessage, dst any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s: JSON %s where %s is expected: %w", te.Field, te.Value, te.Type, err)
		}
		return fmt.Errorf("parameters: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("parameters: unexpected data after the object")
	}
	return nil
}

// isRegistered reports whether name is a registered backend.
func isRegistered(name string) bool {
	return slices.Contains(Backends(), name)
}
