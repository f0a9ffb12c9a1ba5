// Package bench measures what semantic model selection costs at the system
// level (make bench): the plain upstream EPP, the one-hop semantic EPP and
// the two-hop architecture (test/bench/cmd/semantic-router in front of the plain EPP),
// all behind the Envoy-like gateway of test/gateway and the simulated model
// servers of test/sandbox, measured side by side in one run with the
// configurations alternated so that every ratio is paired. cmd/bench runs
// it and writes docs/benchmarks.md's system section and the raw results.
package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// LoadTexts reads the "text" field of every line of a JSONL file.
func LoadTexts(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prompt texts (the shared data set, see ../shared/data/domain/README.md): %w", err)
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if strings.TrimSpace(rec.Text) != "" {
			out = append(out, rec.Text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no texts", path)
	}
	return out, nil
}

// Tokenizer returns the shipped model's tokenizer; prompt sizes are counted
// in its tokens (special tokens excluded).
func Tokenizer() (*tokenizer.Tokenizer, error) {
	fsys, err := models.ONNX()
	if err != nil {
		return nil, fmt.Errorf("embedded model: %w", err)
	}
	tok, err := tokenizer.LoadFS(fsys, "tokenizer.json")
	if err != nil {
		return nil, fmt.Errorf("embedded tokenizer: %w", err)
	}
	return tok, nil
}

// Prompts builds count prompts of exactly the given number of tokens (or the nearest
// word boundary below) from consecutive texts, starting at different texts
// so that the prompts differ. texts must not be empty.
func Prompts(tok *tokenizer.Tokenizer, texts []string, tokens, count int) ([]string, error) {
	if tokens <= 0 || count <= 0 || len(texts) == 0 {
		return nil, errors.New("tokens and count must be positive and texts not empty")
	}
	out := make([]string, 0, count)
	for i := 0; i < count; i++ {
		var words []string
		n := 0
		// Texts repeat when there are too few; the bound stops texts that
		// tokenize to nothing from looping forever.
		for j := 0; n < tokens && j < len(texts)*(tokens+1); j++ {
			t := texts[(i*7+j)%len(texts)]
			words = append(words, strings.Fields(t)...)
			n += len(tok.Tokenize(t))
		}
		// Trim whole words until the prompt fits (binary search on length).
		lo, hi := 1, len(words)
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if len(tok.Tokenize(strings.Join(words[:mid], " "))) <= tokens {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		out = append(out, strings.Join(words[:lo], " "))
	}
	return out, nil
}
