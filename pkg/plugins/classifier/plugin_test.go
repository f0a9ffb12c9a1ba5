package classifier

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	clf "github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

func TestFactory(t *testing.T) {
	tests := []struct {
		name, raw string
		wantErr   string
	}{
		{"typed form", `{"backend": "linear", "parameters": {"modelDir": "embedded"}, "cacheSize": 16}`, ""},
		{"flat form", `{"backend": "linear", "modelDir": "embedded"}`, ""},
		{"unknown backend", `{"backend": "svm"}`, `backend "svm"`},
		{"unknown backend field", `{"backend": "linear", "parameters": {"modelDirectory": "x"}}`, `unknown field "modelDirectory"`},
		{"both forms", `{"backend": "linear", "modelDir": "embedded", "parameters": {}}`, "not both"},
		{"wrong type", `{"backend": "linear", "parameters": {"modelDir": 3}}`, "modelDir: JSON number where string is expected"},
		{"not an object", `[1]`, "invalid parameters"},
		{"negative cache", `{"backend": "linear", "cacheSize": -1}`, "cacheSize -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Factory("clf", json.RawMessage(tt.raw), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `classifier "clf"`) {
					t.Fatalf("error %v, want it to name the plugin and contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pl := p.(*Plugin)
			defer func() { _ = pl.Classifier().Close() }()
			if pl.TypedName() != (fwkplugin.TypedName{Type: Type, Name: "clf"}) {
				t.Errorf("TypedName %v", pl.TypedName())
			}
			if r, err := pl.Classifier().Classify(context.Background(), "What is the integral of x squared?"); err != nil || r.Label == "" {
				t.Errorf("classify: %+v, %v", r, err)
			}
		})
	}
}

// TestDefaultParameters: no parameters is the zero specification (auto,
// embedded model).
func TestDefaultParameters(t *testing.T) {
	for _, raw := range []string{"", "null", "{}"} {
		var got clf.Config
		load := func(_ context.Context, spec clf.Config) (clf.Classifier, error) {
			got = spec
			return linear.LoadDir(clf.EmbeddedModel)
		}
		p, err := NewFactory(load)("clf", json.RawMessage(raw), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		_ = p.(*Plugin).Classifier().Close()
		if got.Backend != "" || len(got.Parameters) != 0 || got.CacheSize != 0 {
			t.Errorf("%q: spec %+v, want the zero value", raw, got)
		}
	}
}

// TestLookupAndClose builds the plugin on a handle as GIE's config loader
// does (factory, then AddPlugin, in list order), looks it up by name, and
// checks the classifier is closed when the handle's context ends.
func TestLookupAndClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := fwkplugin.NewEppHandle(ctx, nil)
	p, err := Factory("domain", json.RawMessage(`{"backend": "linear"}`), h)
	if err != nil {
		t.Fatal(err)
	}
	h.AddPlugin("domain", p)
	h.AddPlugin("not-a-classifier", notClassifier{})

	c, err := Lookup(h, "domain")
	if err != nil || c != p.(*Plugin).Classifier() {
		t.Fatalf("Lookup = %v, %v", c, err)
	}
	for name, want := range map[string]string{"missing": "no plugin with the name 'missing'", "not-a-classifier": "not an instance"} {
		if _, err := Lookup(h, name); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
			t.Errorf("Lookup(%q) error %v, want %q", name, err, want)
		}
	}
	if _, err := Lookup(nil, "domain"); err == nil {
		t.Error("Lookup with a nil handle: no error")
	}

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Classify(context.Background(), "still open?")
		if errors.Is(err, clf.ErrClosed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("classifier not closed after the handle's context ended (last error %v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type notClassifier struct{}

func (notClassifier) TypedName() fwkplugin.TypedName {
	return fwkplugin.TypedName{Type: "other", Name: "not-a-classifier"}
}
