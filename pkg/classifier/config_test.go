package classifier

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestConfigForms checks that the flat form of earlier configurations and
// the typed form decode to the same Config, and that Config writes the
// typed form.
func TestConfigForms(t *testing.T) {
	tests := []struct {
		name, in   string
		backend    string
		params     string // compact JSON, "" = none
		cache      int
		batch      int
		wait       time.Duration
		wantErr    string
		marshalled string
	}{
		{name: "empty", in: `{}`, marshalled: `{}`},
		{name: "flat", in: `{"backend":"onnx","modelDir":"/m","device":"cuda","ensemble":false,"cacheSize":1024,"maxBatchSize":8,"maxBatchWait":"1ms"}`,
			backend: "onnx", params: `{"device":"cuda","ensemble":false,"modelDir":"/m"}`, cache: 1024, batch: 8, wait: time.Millisecond,
			marshalled: `{"backend":"onnx","parameters":{"device":"cuda","ensemble":false,"modelDir":"/m"},"cacheSize":1024,"maxBatchSize":8,"maxBatchWait":"1ms"}`},
		{name: "typed", in: `{"backend":"onnx","parameters":{"device":"cuda","ensemble":false,"modelDir":"/m"},"cacheSize":1024,"maxBatchSize":8,"maxBatchWait":"1ms"}`,
			backend: "onnx", params: `{"device":"cuda","ensemble":false,"modelDir":"/m"}`, cache: 1024, batch: 8, wait: time.Millisecond,
			marshalled: `{"backend":"onnx","parameters":{"device":"cuda","ensemble":false,"modelDir":"/m"},"cacheSize":1024,"maxBatchSize":8,"maxBatchWait":"1ms"}`},
		{name: "flat, embedded default", in: `{"modelDir":"embedded","cacheSize":1024}`, params: `{"modelDir":"embedded"}`, cache: 1024,
			marshalled: `{"parameters":{"modelDir":"embedded"},"cacheSize":1024}`},
		{name: "microseconds", in: `{"maxBatchWait":"250us"}`, wait: 250 * time.Microsecond, marshalled: `{"maxBatchWait":"250µs"}`},
		{name: "both forms", in: `{"modelDir":"/m","parameters":{}}`, wantErr: "parameters: given together with modelDir"},
		{name: "duration not a string", in: `{"maxBatchWait":1000}`, wantErr: "maxBatchWait"},
		{name: "bad duration", in: `{"maxBatchWait":"soon"}`, wantErr: `invalid duration "soon"`},
		{name: "not an object", in: `"onnx"`, wantErr: "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			err := json.Unmarshal([]byte(tt.in), &c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Backend != tt.backend || string(c.Parameters) != tt.params || c.CacheSize != tt.cache ||
				c.MaxBatchSize != tt.batch || c.MaxBatchWait.Duration != tt.wait {
				t.Errorf("got %+v (parameters %s)", c, c.Parameters)
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.marshalled {
				t.Errorf("marshalled %s, want %s", b, tt.marshalled)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	Register("test-backend", func(context.Context, json.RawMessage, FactoryOptions) (Classifier, error) { return nil, nil })
	tests := []struct {
		in, want string // want "" = valid
	}{
		{`{}`, ""},
		{`{"backend":"test-backend"}`, ""},
		{`{"backend":"nope"}`, `backend "nope": not registered`},
		{`{"cacheSize":-1}`, "cacheSize -1"},
		{`{"maxBatchSize":-2}`, "maxBatchSize -2"},
		// metav1.Duration, unlike the type it replaced, reads negative
		// durations; Validate refuses them.
		{`{"maxBatchWait":"-1ms"}`, "maxBatchWait -1ms: must not be negative"},
		{`{"parameters":[1]}`, "parameters: want a JSON object"},
	}
	for _, tt := range tests {
		var c Config
		if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		err := c.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: error %v, want %q", tt.in, err, tt.want)
		}
	}
}
