package bench

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/semantic-epp/semantic-epp/test/sandbox"
)

// Fail ends a benchmark command that failed with err: exit status 2 when the
// sandbox cannot run here (no network namespaces: not root), else 1.
func Fail(name string, err error) {
	fmt.Fprintln(os.Stderr, name+":", err)
	if errors.Is(err, sandbox.ErrNoNetns) {
		os.Exit(2)
	}
	os.Exit(1)
}

// ParseFloats parses a flag's comma-separated list of positive numbers.
func ParseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: want positive numbers separated by commas", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseInts is ParseFloats for whole numbers (fractions are dropped).
func ParseInts(s string) ([]int, error) {
	fs, err := ParseFloats(s)
	out := make([]int, len(fs))
	for i, f := range fs {
		out[i] = int(f)
	}
	return out, err
}

// ParseConfigs parses a comma-separated list of configuration names
// (KnownConfigs) and returns them in report order.
func ParseConfigs(s string) ([]string, error) {
	want := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		name := strings.TrimSpace(f)
		if !slices.Contains(KnownConfigs, name) {
			return nil, fmt.Errorf("configuration %q: want some of %s", name, strings.Join(KnownConfigs, ", "))
		}
		if want[name] {
			return nil, fmt.Errorf("configuration %q named twice", name)
		}
		want[name] = true
	}
	var out []string
	for _, c := range KnownConfigs {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}
