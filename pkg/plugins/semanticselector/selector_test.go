package semanticselector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
)

var (
	realOnce sync.Once
	realClf  classifier.Classifier
	realErr  error
)

// realClassifier is the embedded linear model, loaded once for the package.
func realClassifier(t testing.TB) classifier.Classifier {
	t.Helper()
	realOnce.Do(func() {
		realClf, realErr = loader.Load(context.Background(), classifier.Config{Backend: classifier.BackendLinear})
	})
	if realErr != nil {
		t.Fatalf("loading the embedded linear classifier: %v", realErr)
	}
	return realClf
}

// failingClassifier injects failures: it returns err, or blocks until the
// context ends when block is set.
type failingClassifier struct {
	labels []string
	err    error
	block  bool
}

func (f *failingClassifier) Labels() []string { return f.labels }
func (f *failingClassifier) Classify(ctx context.Context, _ string) (classifier.Result, error) {
	if f.block {
		<-ctx.Done()
		return classifier.Result{}, ctx.Err()
	}
	return classifier.Result{}, f.err
}
func (f *failingClassifier) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	_, err := f.Classify(ctx, "")
	return nil, err
}
func (f *failingClassifier) Close() error { return nil }

// paramsFor declares model "m-<label>" for each label and routes every
// label in routed to its model; "fallback" is the default model.
func paramsFor(t testing.TB, routed []string, extra string) *Parameters {
	t.Helper()
	var models, cats []string
	models = append(models, `{"name":"fallback"}`, `{"name":"thinker","reasoningFamily":"qwen3"}`, `{"name":"oss","reasoningFamily":"gpt-oss"}`)
	for _, l := range routed {
		models = append(models, fmt.Sprintf(`{"name":%q}`, "m-"+l))
		cats = append(cats, fmt.Sprintf(`{"name":%q,"models":[{"model":%q}]}`, l, "m-"+l))
	}
	raw := fmt.Sprintf(`{"models":[%s],"categories":[%s],"defaultModel":"fallback"%s}`,
		strings.Join(models, ","), strings.Join(cats, ","), extra)
	p, err := DecodeParameters(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("DecodeParameters: %v", err)
	}
	return p
}

func chatBody(model, text string) []byte {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": true,
		"messages": []map[string]any{{"role": "user", "content": text}}})
	return b
}

func chatHeaders() map[string]string {
	return map[string]string{":path": "/v1/chat/completions", "x-request-id": "req-1"}
}

func TestParseRequestRouting(t *testing.T) {
	clf := realClassifier(t)
	const text = "Solve the integral of x squared from zero to three"
	res, err := clf.Classify(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, l := range clf.Labels() {
		if l != res.Label {
			others = append(others, l)
		}
	}
	tests := []struct {
		name      string
		params    *Parameters
		model     string
		body      []byte
		wantModel string
		wantCat   bool
		reason    string // expected fallback reason, "" when routed
	}{
		{"routed by category", paramsFor(t, clf.Labels(), ""), "auto", chatBody("auto", text), "m-" + res.Label, true, ""},
		{"custom auto name", paramsFor(t, clf.Labels(), `,"autoModelNames":["router"]`), "router", chatBody("router", text), "m-" + res.Label, true, ""},
		{"unmapped category", paramsFor(t, others, ""), "auto", chatBody("auto", text), "fallback", true, ReasonUnmappedCategory},
		{"below threshold", paramsFor(t, clf.Labels(), fmt.Sprintf(`,"threshold":%v`, float64(res.Confidence)+0.001)), "auto",
			chatBody("auto", text), "fallback", true, ReasonLowConfidence},
		{"no text", paramsFor(t, clf.Labels(), ""), "auto",
			[]byte(`{"model":"auto","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://i/x.png"}}]}]}`),
			"fallback", false, ReasonNoText},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New("sel", tc.params, clf)
			if err != nil {
				t.Fatal(err)
			}
			var before float64
			if tc.reason != "" {
				before = testutil.ToFloat64(fallbacks.WithLabelValues(tc.reason))
			}
			headers := chatHeaders()
			headers[HeaderCategory] = "spoofed"
			parsed, err := s.ParseRequest(context.Background(), tc.body, headers)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			payload := parsed.Payload.(fwksched.PayloadMap)
			if payload["model"] != tc.wantModel || headers[HeaderSelectedModel] != tc.wantModel {
				t.Errorf("model = %v, header = %q, want %q", payload["model"], headers[HeaderSelectedModel], tc.wantModel)
			}
			if tc.wantCat {
				if headers[HeaderCategory] != res.Label || headers[HeaderConfidence] != fmt.Sprintf("%.4f", res.Confidence) {
					t.Errorf("category headers = %q/%q, want %q/%.4f", headers[HeaderCategory], headers[HeaderConfidence], res.Label, res.Confidence)
				}
			} else if headers[HeaderCategory] != noLabel {
				t.Errorf("category header = %q without classification, want %q (the client's value overwritten)", headers[HeaderCategory], noLabel)
			}
			if tc.reason != "" {
				if got := testutil.ToFloat64(fallbacks.WithLabelValues(tc.reason)) - before; got != 1 {
					t.Errorf("fallbacks{reason=%s} grew by %v, want 1", tc.reason, got)
				}
			}
		})
	}
}

func TestParseRequestPassThrough(t *testing.T) {
	s, err := New("sel", paramsFor(t, []string{"math"}, ""), realClassifier(t))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"model":"llama3-8b","messages":[{"role":"user","content":"2+2 is"}],"temperature":0.5,"chat_template_kwargs":{"x":1}}`)
	headers := chatHeaders()
	parsed, err := s.ParseRequest(context.Background(), body, headers)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(parsed.Payload)
	var a, b any
	_ = json.Unmarshal(body, &a)
	_ = json.Unmarshal(got, &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("payload changed:\n got %s\nwant %s", got, body)
	}
	// The decision headers are overwritten on pass-through requests too, so
	// a client cannot make an HTTPRoute match its own x-selected-model.
	want := map[string]string{HeaderSelectedModel: "llama3-8b", HeaderSelectionReason: SelectExplicit,
		HeaderCategory: noLabel, HeaderConfidence: "0"}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, headers[k], v)
		}
	}
}

func TestParseRequestBadInput(t *testing.T) {
	s, err := New("sel", paramsFor(t, []string{"math"}, ""), realClassifier(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ParseRequest(context.Background(), []byte(`{"model": "auto", "messages": [`), chatHeaders()); err == nil {
		t.Error("truncated JSON parsed without error")
	}
	// No model: the upstream director answers 400; the selector leaves it alone.
	parsed, err := s.ParseRequest(context.Background(), []byte(`{"messages":[{"role":"user","content":"hi"}]}`), chatHeaders())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parsed.Payload.(fwksched.PayloadMap)["model"]; ok {
		t.Error("model added to a body that had none")
	}
}

func TestClassifierFailures(t *testing.T) {
	labels := []string{"math", "other"}
	boom := errors.New("boom")
	tests := []struct {
		name       string
		clf        *failingClassifier
		policy     string
		requestID  string
		reason     string
		wantModel  string // payload model after ParseRequest
		wantParse  bool   // ParseRequest returns an error
		wantReject bool   // AdmitRequest denies
	}{
		{"error fail-open", &failingClassifier{labels: labels, err: boom}, FailOpen, "r1", ReasonClassifierError, "fallback", false, false},
		{"timeout fail-open", &failingClassifier{labels: labels, block: true}, FailOpen, "r2", ReasonClassifierTimeout, "fallback", false, false},
		{"error fail-closed", &failingClassifier{labels: labels, err: boom}, FailClosed, "r3", ReasonClassifierError, "auto", false, true},
		{"timeout fail-closed", &failingClassifier{labels: labels, block: true}, FailClosed, "r4", ReasonClassifierTimeout, "auto", false, true},
		{"fail-closed without request id", &failingClassifier{labels: labels, err: boom}, FailClosed, "", ReasonClassifierError, "", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := paramsFor(t, []string{"math"}, fmt.Sprintf(`,"classifierTimeout":"20ms","failurePolicy":%q`, tc.policy))
			s, err := New("sel", p, tc.clf)
			if err != nil {
				t.Fatal(err)
			}
			fb := testutil.ToFloat64(fallbacks.WithLabelValues(tc.reason))
			rj := testutil.ToFloat64(rejections.WithLabelValues(tc.reason))
			headers := map[string]string{":path": "/v1/chat/completions"}
			if tc.requestID != "" {
				headers["x-request-id"] = tc.requestID
			}
			start := time.Now()
			parsed, err := s.ParseRequest(context.Background(), chatBody("auto", "what is 2+2"), headers)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Fatalf("ParseRequest took %v: the timeout was not applied", elapsed)
			}
			if tc.wantParse {
				if err == nil {
					t.Fatal("ParseRequest succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if m := parsed.Payload.(fwksched.PayloadMap)["model"]; m != tc.wantModel {
				t.Errorf("model = %v, want %q", m, tc.wantModel)
			}
			admitErr := s.AdmitRequest(context.Background(), &fwksched.LLMRequest{RequestId: tc.requestID, Body: parsed}, nil)
			if (admitErr != nil) != tc.wantReject {
				t.Errorf("AdmitRequest error = %v, want reject=%v", admitErr, tc.wantReject)
			}
			if tc.wantReject {
				if !strings.Contains(admitErr.Error(), tc.reason) {
					t.Errorf("rejection %q does not name the reason %q", admitErr, tc.reason)
				}
				if got := testutil.ToFloat64(rejections.WithLabelValues(tc.reason)) - rj; got != 1 {
					t.Errorf("rejections grew by %v, want 1", got)
				}
				if again := s.AdmitRequest(context.Background(), &fwksched.LLMRequest{RequestId: tc.requestID, Body: parsed}, nil); again != nil {
					t.Errorf("second AdmitRequest denied again: %v", again)
				}
			} else if got := testutil.ToFloat64(fallbacks.WithLabelValues(tc.reason)) - fb; got != 1 {
				t.Errorf("fallbacks grew by %v, want 1", got)
			}
		})
	}
}

func TestReasoningSwitch(t *testing.T) {
	clf := realClassifier(t)
	const text = "Solve the integral of x squared from zero to three"
	res, err := clf.Classify(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		entry string
		body  []byte
		check func(fwksched.PayloadMap) error
	}{
		{"qwen3 on", `{"model":"thinker","reasoning":true}`, chatBody("auto", text), func(p fwksched.PayloadMap) error {
			kw, _ := p["chat_template_kwargs"].(map[string]any)
			if kw["enable_thinking"] != true {
				return fmt.Errorf("chat_template_kwargs = %v", p["chat_template_kwargs"])
			}
			return nil
		}},
		{"qwen3 off keeps other kwargs", `{"model":"thinker","reasoning":false}`,
			[]byte(fmt.Sprintf(`{"model":"auto","messages":[{"role":"user","content":%q}],"chat_template_kwargs":{"keep":1}}`, text)),
			func(p fwksched.PayloadMap) error {
				kw, _ := p["chat_template_kwargs"].(map[string]any)
				if kw["enable_thinking"] != false || kw["keep"] != float64(1) {
					return fmt.Errorf("chat_template_kwargs = %v", p["chat_template_kwargs"])
				}
				return nil
			}},
		{"gpt-oss effort", `{"model":"oss","reasoning":true}`, chatBody("auto", text), func(p fwksched.PayloadMap) error {
			if p["reasoning_effort"] != "high" {
				return fmt.Errorf("reasoning_effort = %v", p["reasoning_effort"])
			}
			return nil
		}},
		{"no switch on completions", `{"model":"thinker","reasoning":true}`, []byte(fmt.Sprintf(`{"model":"auto","prompt":%q}`, text)),
			func(p fwksched.PayloadMap) error {
				if _, ok := p["chat_template_kwargs"]; ok {
					return fmt.Errorf("chat_template_kwargs set on a completions request")
				}
				return nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := fmt.Sprintf(`{"models":[{"name":"fallback"},{"name":"thinker","reasoningFamily":"qwen3"},{"name":"oss","reasoningFamily":"gpt-oss"}],
			  "categories":[{"name":%q,"models":[%s]}],"defaultModel":"fallback"}`, res.Label, tc.entry)
			p, err := DecodeParameters(json.RawMessage(raw))
			if err != nil {
				t.Fatal(err)
			}
			s, err := New("sel", p, clf)
			if err != nil {
				t.Fatal(err)
			}
			headers := chatHeaders()
			if strings.Contains(string(tc.body), `"prompt"`) {
				headers[":path"] = "/v1/completions"
			}
			parsed, err := s.ParseRequest(context.Background(), tc.body, headers)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.check(parsed.Payload.(fwksched.PayloadMap)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNewRejectsUnknownLabel(t *testing.T) {
	p := paramsFor(t, []string{"math", "astrology"}, "")
	_, err := New("sel", p, &failingClassifier{labels: []string{"math", "other"}})
	if err == nil || !strings.Contains(err.Error(), `categories[1].name: "astrology" is not a classifier label`) {
		t.Fatalf("New error = %v, want the unknown label named", err)
	}
}

func TestFactory(t *testing.T) {
	loadErr := errors.New("no model files")
	tests := []struct {
		name    string
		raw     string
		load    LoadFunc
		wantErr string
	}{
		{"ok", `{"models":[{"name":"a"}],"categories":[{"name":"math","models":[{"model":"a"}]}],"defaultModel":"a"}`, loader.Load, ""},
		{"bad params", `{"models":[]}`, loader.Load, "models: declare at least one model"},
		{"load fails", `{"models":[{"name":"a"}],"defaultModel":"a"}`,
			func(context.Context, classifier.Config) (classifier.Classifier, error) { return nil, loadErr }, "no model files"},
		{"bad classifier config", `{"models":[{"name":"a"}],"defaultModel":"a","classifier":{"backend":"gpu"}}`, loader.Load, `backend "gpu"`},
		{"ensemble off", `{"models":[{"name":"a"}],"categories":[{"name":"math","models":[{"model":"a"}]}],"defaultModel":"a","classifier":{"ensemble":false}}`, loader.Load, ""},
		{"ensemble on with the linear backend", `{"models":[{"name":"a"}],"defaultModel":"a","classifier":{"backend":"linear","ensemble":true}}`, loader.Load, `ensemble true needs backend "onnx"`},
		{"ensemble not a boolean", `{"models":[{"name":"a"}],"defaultModel":"a","classifier":{"ensemble":"no"}}`, loader.Load, `ensemble: JSON string where bool is expected`},
		{"unknown label", `{"models":[{"name":"a"}],"categories":[{"name":"cooking","models":[{"model":"a"}]}],"defaultModel":"a","classifier":{"backend":"linear"}}`,
			loader.Load, `"cooking" is not a classifier label`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := NewFactory(tc.load)("sel", json.RawMessage(tc.raw), nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("factory: %v", err)
				}
				if pl.TypedName().Type != Type || pl.TypedName().Name != "sel" {
					t.Errorf("TypedName = %v", pl.TypedName())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("factory error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestApplyReasoningRejectsNonObjectKwargs(t *testing.T) {
	body := &fwksched.LLMRequestBody{ChatCompletions: &fwksched.ChatCompletionsRequest{}}
	payload := fwksched.PayloadMap{"chat_template_kwargs": "bad"}
	fam := BuiltinReasoningFamilies()["qwen3"]
	if err := applyReasoning(body, payload, fam, true); err == nil {
		t.Fatal("applyReasoning accepted a non-object chat_template_kwargs")
	}
	if payload["chat_template_kwargs"] != "bad" {
		t.Errorf("payload changed: %v", payload)
	}
}
