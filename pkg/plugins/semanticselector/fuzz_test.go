package semanticselector

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"unicode/utf8"

	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// The fuzz targets below drive the selector only through its exported API
// (DecodeParameters, New, ParseRequest) with the shipped linear classifier,
// the EPP's fallback, so that they hold whatever the selector's insides
// become. `make fuzz` runs them for long; plain `go test` runs the seeds in
// testdata/fuzz.

var (
	fuzzSelOnce sync.Once
	fuzzSel     *Selector
	fuzzSelErr  error
	fuzzLabels  map[string]bool
)

// fuzzModels are the models of fuzzParams; a rewritten body names one.
var fuzzModels = map[string]bool{"phi4-mini": true, "llama3-8b": true}

const fuzzParams = `{
  "autoModelNames": ["auto"],
  "models": [{"name": "phi4-mini"}, {"name": "llama3-8b"}],
  "categories": [
    {"name": "math", "models": [{"model": "phi4-mini"}]},
    {"name": "computer science", "models": [{"model": "llama3-8b"}]}
  ],
  "defaultModel": "llama3-8b",
  "classifierTimeout": "10s",
  "failurePolicy": "open"
}`

func fuzzSelector(t testing.TB) *Selector {
	t.Helper()
	fuzzSelOnce.Do(func() {
		fsys, err := models.Linear()
		if err != nil {
			fuzzSelErr = err
			return
		}
		clf, err := linear.Load(fsys)
		if err != nil {
			fuzzSelErr = err
			return
		}
		fuzzLabels = map[string]bool{}
		for _, l := range clf.Labels() {
			fuzzLabels[l] = true
		}
		params, err := DecodeParameters(json.RawMessage(fuzzParams))
		if err != nil {
			fuzzSelErr = err
			return
		}
		fuzzSel, fuzzSelErr = New("fuzz", params, clf)
	})
	if fuzzSelErr != nil {
		t.Fatalf("building the selector: %v", fuzzSelErr)
	}
	return fuzzSel
}

// fuzzPaths are the request paths the upstream parser tells apart; the
// fuzzer picks one by index or sends its own.
var fuzzPaths = []string{"/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings", "/v1/conversations", ""}

// maxAllocPerByte bounds what one request may allocate: JSON decoding into
// maps costs a small multiple of the body; the classifier a fixed amount.
const (
	maxAllocPerByte = 64
	maxAllocFixed   = 8 << 20
)

// parseOnce runs ParseRequest on copies of body and headers and returns the
// outcome in a comparable form, checking the properties every outcome has.
func parseOnce(t *testing.T, s *Selector, body []byte, headers map[string]string) string {
	t.Helper()
	in := bytes.Clone(body)
	hdr := maps.Clone(headers)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	parsed, err := s.ParseRequest(context.Background(), in, hdr)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(maxAllocPerByte*len(body)+maxAllocFixed) {
		t.Fatalf("a %d-byte body allocated %d bytes", len(body), alloc)
	}
	if !bytes.Equal(in, body) {
		t.Fatal("ParseRequest modified the body it was given")
	}
	if err != nil {
		if parsed != nil {
			t.Fatalf("error %v with a result", err)
		}
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		return "error: " + err.Error()
	}
	if parsed == nil {
		t.Fatal("no error and no result")
	}
	model, _ := payloadModel(parsed)
	out := "model=" + strconv.Quote(model)
	for _, k := range []string{"x-selected-model", "x-semantic-category", "x-semantic-confidence"} {
		v, ok := hdr[k]
		// A value the client sent may be anything; one the selector set
		// must be UTF-8.
		if ok && v != headers[k] && !utf8.ValidString(v) {
			t.Fatalf("header %s set to %q, not UTF-8", k, v)
		}
		out += " " + k + "=" + strconv.Quote(v)
	}
	if sel, ok := hdr["x-selected-model"]; ok && headers["x-selected-model"] != sel {
		if !fuzzModels[sel] && hdr[HeaderSelectionReason] != SelectExplicit {
			t.Fatalf("selected model %q is not a configured model", sel)
		}
	}
	if c, ok := hdr["x-semantic-category"]; ok && headers["x-semantic-category"] != c {
		if !fuzzLabels[c] && c != noLabel {
			t.Fatalf("category %q is not a label of the classifier", c)
		}
		conf, err := strconv.ParseFloat(hdr["x-semantic-confidence"], 32)
		if err != nil || !(conf >= 0 && conf <= 1) {
			t.Fatalf("confidence %q for category %q", hdr["x-semantic-confidence"], c)
		}
	}
	return out
}

// payloadModel returns the body's model after parsing, and whether the
// payload is a decoded JSON object.
func payloadModel(parsed *fwksched.LLMRequestBody) (string, bool) {
	m, ok := parsed.Payload.(fwksched.PayloadMap)
	if !ok {
		return "", false
	}
	s, _ := m["model"].(string)
	return s, true
}

// checkParse parses twice and checks the two outcomes agree, and that a
// body whose model is "auto" that parses ends with a configured model.
func checkParse(t *testing.T, body []byte, headers map[string]string) {
	s := fuzzSelector(t)
	first := parseOnce(t, s, body, headers)
	if second := parseOnce(t, s, body, headers); second != first {
		t.Fatalf("two parses of the same request differ:\n%s\n%s", first, second)
	}
	// A map, not a struct: JSON keys are case-sensitive in the API ("mOdel"
	// is not the model field) but encoding/json matches struct fields without case.
	var probe map[string]any
	if json.Unmarshal(body, &probe) != nil || probe["model"] != "auto" || len(first) > 6 && first[:6] == "error:" {
		return
	}
	hdr := maps.Clone(headers)
	parsed, err := s.ParseRequest(context.Background(), bytes.Clone(body), hdr)
	if err != nil {
		t.Fatalf("parsed once, failed now: %v", err)
	}
	if model, ok := payloadModel(parsed); ok && !fuzzModels[model] {
		t.Fatalf("an auto request was rewritten to model %q", model)
	}
	if !fuzzModels[hdr["x-selected-model"]] {
		t.Fatalf("an auto request got x-selected-model %q", hdr["x-selected-model"])
	}
}

// FuzzParseRequest sends arbitrary bodies with an arbitrary or known path
// and one arbitrary extra header: no panic, a clear error or a result,
// bounded allocation, the same outcome twice, and an "auto" request always
// ends on a configured model with well-formed decision headers.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []struct {
		body       string
		path       uint8
		hk, hv     string
		customPath string
	}{
		{`{"model":"auto","messages":[{"role":"user","content":"2+2 is"}]}`, 0, "x-semantic-category", "math", ""},
		{`{"model":"auto","prompt":"Linux is an open source kernel"}`, 1, "x-selected-model", "gpt-9", ""},
		{`{"model":"auto","input":"What is a tort?"}`, 2, "", "", ""},
		{`{"model":"auto","input":["a","b"]}`, 3, "", "", ""},
		{`{"model":"auto","items":[{"type":"message"}]}`, 4, "", "", ""},
		{`{"model":"llama3-8b","messages":[{"role":"user","content":"hi"}]}`, 0, "x-selected-model", "phi4-mini", ""},
		{`{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"integral of x"},{"type":"image_url","image_url":{"url":"x"}}]}]}`, 0, "", "", ""},
		{`{"model":"auto","messages":[]}`, 0, "", "", ""},
		{`{"model":"auto","prompt":["", "\ud800", "é"]}`, 1, "", "", ""},
		{`{"model":5,"prompt":"x"}`, 1, "", "", ""},
		{`{"model":"auto","prompt":"x"`, 1, "", "", ""},
		{`null`, 0, "", "", ""},
		{"{\"model\":\"auto\",\"prompt\":\"\xff\xfe\"}", 1, "", "", ""},
		{`{"model":"auto","stream":true,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":null}]}`, 0, "", "", ""},
		{`{"model":"auto","prompt":"x"}`, 5, "", "", "/v2/unknown?x=1"},
	} {
		f.Add([]byte(seed.body), seed.path, seed.customPath, seed.hk, seed.hv)
	}
	f.Fuzz(func(t *testing.T, body []byte, path uint8, customPath, hk, hv string) {
		headers := map[string]string{"content-type": "application/json", ":path": fuzzPaths[int(path)%len(fuzzPaths)]}
		if customPath != "" {
			headers[":path"] = customPath
		}
		if hk != "" {
			headers[hk] = hv
		}
		checkParse(t, body, headers)
	})
}

// FuzzParseRequestText builds well-formed requests around fuzzed text, so
// that the fuzzer spends its time in text extraction and classification
// rather than in JSON syntax: every request shape the selector reads text
// from, with the text as a string, a list of parts or a list of prompts.
func FuzzParseRequestText(f *testing.F) {
	for _, seed := range []struct {
		shape      uint8
		a, b, role string
	}{
		{0, "2+2 is", "", "user"},
		{1, "Linux is said to be an open source kernel because", "", ""},
		{2, "What is a contract?", "and a tort?", "user"},
		{3, "first prompt", "second prompt", ""},
		{4, "responses input", "", "user"},
		{5, "", "", "assistant"},
		{0, "\xff\xfe\xfd", "\x00", "user"},
		{6, "日本語のテキスト", "é\u0301", "tool"},
		{0, string(bytes.Repeat([]byte("law court "), 2000)), "", "user"},
	} {
		f.Add(seed.shape, seed.a, seed.b, seed.role)
	}
	f.Fuzz(func(t *testing.T, shape uint8, a, b, role string) {
		var req map[string]any
		path := "/v1/chat/completions"
		switch shape % 7 {
		case 0: // chat, string content
			req = map[string]any{"messages": []any{map[string]any{"role": role, "content": a}}}
		case 1: // completions, string prompt
			req, path = map[string]any{"prompt": a}, "/v1/completions"
		case 2: // chat, content parts
			req = map[string]any{"messages": []any{
				map[string]any{"role": "system", "content": b},
				map[string]any{"role": role, "content": []any{
					map[string]any{"type": "text", "text": a},
					map[string]any{"type": "image_url", "image_url": map[string]any{"url": b}},
					map[string]any{"type": b, "text": b},
				}},
			}}
		case 3: // completions, list of prompts
			req, path = map[string]any{"prompt": []any{a, b}}, "/v1/completions"
		case 4: // responses, string and message-list input
			req, path = map[string]any{"input": []any{map[string]any{"role": role, "content": a}, b}}, "/v1/responses"
		case 5: // several messages, the user's last
			req = map[string]any{"messages": []any{
				map[string]any{"role": "user", "content": a},
				map[string]any{"role": role, "content": b},
			}}
		case 6: // embeddings
			req, path = map[string]any{"input": a}, "/v1/embeddings"
		}
		req["model"] = "auto"
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		checkParse(t, body, map[string]string{":path": path, "content-type": "application/json"})
	})
}
