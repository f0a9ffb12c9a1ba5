package bench

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentileAndMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"p50 of unsorted", ms(5, 1, 4, 2, 3), 0.5, 3 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p100", ms(3, 9, 1), 1, 9 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.in, tc.q); got != tc.want {
				t.Errorf("Percentile = %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseConfigs(t *testing.T) {
	got, err := ParseConfigs(" one-hop-cpu,one-hop")
	if err != nil || strings.Join(got, ",") != "one-hop,one-hop-cpu" {
		t.Errorf("ParseConfigs = %v, %v; want one-hop,one-hop-cpu in report order", got, err)
	}
	if got, err := ParseConfigs(strings.Join(Configs, ",")); err != nil || !slices.Equal(got, Configs) {
		t.Errorf("the default set = %v, %v", got, err)
	}
	for _, bad := range []string{"", "one-hop,", "gpu", "plain,plain"} {
		if _, err := ParseConfigs(bad); err == nil {
			t.Errorf("ParseConfigs(%q): no error", bad)
		}
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestReadProc(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes <= 0 || s.HWMBytes < s.RSSBytes || s.CPUSeconds < 0 {
		t.Errorf("implausible sample %+v", s)
	}
	if _, err := ReadProc(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestPromptsHaveTheRequestedSize(t *testing.T) {
	tok, err := Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"What is the derivative of x squared?", "Explain how a hash table resolves collisions.", "Who wrote the Federalist Papers?"}
	for _, size := range []int{16, 128} {
		ps, err := Prompts(tok, texts, size, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			n := len(tok.Tokenize(p))
			if n > size || n < size-8 {
				t.Errorf("%d-token prompt has %d tokens: %q", size, n, p)
			}
		}
		if ps[0] == ps[1] {
			t.Errorf("prompts do not differ: %q", ps[0])
		}
	}
	if _, err := Prompts(tok, texts, 0, 1); err == nil {
		t.Error("no error for 0 tokens")
	}
	if _, err := LoadTexts("/nonexistent.jsonl"); err == nil || !strings.Contains(err.Error(), "shared data") {
		t.Errorf("missing data error %v should name the shared data set", err)
	}
}
