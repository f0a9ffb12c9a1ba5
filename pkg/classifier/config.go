package classifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names of the built-in backends (pkg/classifier/{auto,onnx,linear}); other
// backends register their own.
const (
	// BackendAuto uses ONNX Runtime when its shared library and the model
	// load, and falls back to the pure-Go linear backend otherwise. An empty
	// Config.Backend means auto.
	BackendAuto   = "auto"
	BackendONNX   = "onnx"
	BackendLinear = "linear"
)

// EmbeddedModel names the default model compiled into the binary, as a
// modelDir value of the built-in backends.
const EmbeddedModel = "embedded"

// Config is a classifier specification: which backend, its typed parameters
// and the wrappers common to every backend. It is the `classifier`
// parameter of the semantic-model-selector plugin, the parameters of the
// `classifier` plugin and, through flags, the classify CLI's model.
//
// JSON has two forms. The typed form nests the backend's own fields:
//
//	{"backend": "onnx", "parameters": {"modelDir": "/models/x", "device": "cuda"}, "cacheSize": 1024}
//
// The flat form, which configurations written before backends had their own
// parameters use, writes the same backend fields inline:
//
//	{"backend": "onnx", "modelDir": "/models/x", "device": "cuda", "cacheSize": 1024}
//
// Both decode to the same Config: every key that is not a common field
// below is one of the backend's parameters. Mixing the forms is an error.
// Config marshals to the typed form.
type Config struct {
	// Backend is a registered backend name; empty means BackendAuto.
	Backend string `json:"backend,omitempty"`
	// Parameters are the backend's own parameters, decoded by its factory.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	// CacheSize is the number of results kept in the LRU result cache;
	// 0 disables it.
	CacheSize int `json:"cacheSize,omitempty"`
	// MaxBatchSize bounds dynamic micro-batches; 0 or 1 disables batching.
	// Backends apply it where a batch pays off (each ONNX Runtime session).
	MaxBatchSize int `json:"maxBatchSize,omitempty"`
	// MaxBatchWait is how long a batch may wait to fill, e.g. "1ms".
	MaxBatchWait metav1.Duration `json:"maxBatchWait,omitzero"`
}

// commonFields are the Config keys that are not backend parameters.
var commonFields = map[string]bool{
	"backend": true, "parameters": true, "cacheSize": true, "maxBatchSize": true, "maxBatchWait": true,
}

// UnmarshalJSON reads either form (see Config).
func (c *Config) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	inline := map[string]json.RawMessage{}
	for k, v := range fields {
		if !commonFields[k] {
			inline[k] = v
		}
	}
	if _, nested := fields["parameters"]; nested && len(inline) > 0 {
		return fmt.Errorf("parameters: given together with %s; write the backend's fields either under parameters or inline, not both",
			strings.Join(sortedKeys(inline), ", "))
	}
	type plain Config // without this method
	var p plain
	common := map[string]json.RawMessage{}
	for k, v := range fields {
		if commonFields[k] {
			common[k] = v
		}
	}
	cb, err := json.Marshal(common)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(cb, &p); err != nil {
		return err
	}
	if len(inline) > 0 {
		if p.Parameters, err = json.Marshal(inline); err != nil {
			return err
		}
	}
	*c = Config(p)
	return nil
}

// Validate checks the common fields, naming each by its JSON key. The
// backend's parameters are checked by its factory.
func (c Config) Validate() error {
	var errs []error
	if c.Backend != "" && !isRegistered(c.Backend) {
		errs = append(errs, fmt.Errorf("backend %q: not registered (registered: %s)", c.Backend, strings.Join(Backends(), ", ")))
	}
	if c.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("cacheSize %d: must not be negative", c.CacheSize))
	}
	if c.MaxBatchSize < 0 {
		errs = append(errs, fmt.Errorf("maxBatchSize %d: must not be negative", c.MaxBatchSize))
	}
	if c.MaxBatchWait.Duration < 0 {
		errs = append(errs, fmt.Errorf("maxBatchWait %s: must not be negative", c.MaxBatchWait.Duration))
	}
	if p := bytes.TrimSpace(c.Parameters); len(p) > 0 && p[0] != '{' && !bytes.Equal(p, []byte("null")) {
		errs = append(errs, errors.New("parameters: want a JSON object"))
	}
	return errors.Join(errs...)
}

// CheckModelDir reports why dir, a backend's modelDir, is not usable: it
// must be empty or EmbeddedModel (the model compiled into the binary) or an
// existing directory. The error names the field.
func CheckModelDir(dir string) error {
	if dir == "" || dir == EmbeddedModel {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("modelDir %q: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("modelDir %q: not a directory", dir)
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
