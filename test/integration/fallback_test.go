package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/semanticselector"
)

// TestGuideRequestsWithoutONNXRuntime: with no libonnxruntime the auto
// backend of config/semantic-epp.yaml falls back to the embedded linear
// model, and the installation guide's four requests must still route as the
// guide says, the two auto ones through their category (computer science,
// math) rather than through defaultModel (issue 12, defect 7).
func TestGuideRequestsWithoutONNXRuntime(t *testing.T) {
	// A library path that holds nothing: the EPP's auto backend cannot load
	// ONNX Runtime, whether or not this machine has it elsewhere.
	t.Setenv(onnx.LibraryEnv, filepath.Join(t.TempDir(), onnx.LibraryFile))
	conn := startEPP(t, readConfig(t, mainConfig), twoModelPool)
	fallback, err := linear.LoadDir(classifier.EmbeddedModel)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ model, prompt, want, category string }{
		{"llama3-8b", "Hello, who are you?", "llama3-8b", ""},
		{"auto", "Linux is said to be an open source kernel because", "llama3-8b", "computer science"},
		{"phi4-mini", "Hello, who are you?", "phi4-mini", ""},
		{"auto", "2+2 is", "phi4-mini", "math"},
	}
	for _, tc := range cases {
		t.Run(tc.model+" "+tc.prompt, func(t *testing.T) {
			out := send(t, conn, headersFor("/v1/completions"), mustJSON(t, map[string]any{"model": tc.model, "prompt": tc.prompt, "max_tokens": 10}), 1<<20)
			if out.status != 0 {
				t.Fatalf("immediate response %d: %s", out.status, out.errorBody)
			}
			h := out.headers
			if got := h[semanticselector.HeaderSelectedModel]; got != tc.want {
				t.Errorf("x-selected-model %q, want %q", got, tc.want)
			}
			if (out.destination == phiIP) != (tc.want == "phi4-mini") {
				t.Errorf("destination %s for %s", out.destination, tc.want)
			}
			if tc.category == "" {
				if got := h[semanticselector.HeaderSelectionReason]; got != semanticselector.SelectExplicit {
					t.Errorf("x-selection-reason %q, want %q", got, semanticselector.SelectExplicit)
				}
				return
			}
			if h[semanticselector.HeaderSelectionReason] != semanticselector.SelectCategory || h[semanticselector.HeaderCategory] != tc.category {
				t.Errorf("reason/category %q/%q (confidence %s), want %q/%q", h[semanticselector.HeaderSelectionReason],
					h[semanticselector.HeaderCategory], h[semanticselector.HeaderConfidence], semanticselector.SelectCategory, tc.category)
			}
			// The answer is the fallback's: the embedded linear model's confidence.
			r, err := fallback.Classify(context.Background(), tc.prompt)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("%.4f", r.Confidence); h[semanticselector.HeaderConfidence] != want {
				t.Errorf("x-semantic-confidence %q, want the linear model's %s: the EPP did not fall back to it", h[semanticselector.HeaderConfidence], want)
			}
		})
	}
}
