package decision

import (
	"fmt"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// BenchmarkMatch50 matches 50 decisions, each an AND of a keyword leaf and a
// NOT over a second signal, where only the last decision matches: the worst
// case walk of a set of keyword decisions.
func BenchmarkMatch50(b *testing.B) {
	var ds []Decision
	for i := range 50 {
		ds = append(ds, dec(fmt.Sprintf("d%d", i), 50-i, op(OpAnd,
			leaf("keywords", fmt.Sprintf("rule%d", i)),
			op(OpNot, leaf("jailbreak", "injection")))))
	}
	s, err := Compile(ds)
	if err != nil {
		b.Fatal(err)
	}
	sigs := map[string]selection.SignalResult{
		"keywords":  {Matches: map[string]float32{"rule49": 1}},
		"jailbreak": {Matches: map[string]float32{}},
	}
	lookup := func(n string) (selection.SignalResult, bool) { r, ok := sigs[n]; return r, ok }
	b.ReportAllocs()
	for b.Loop() {
		if d, ok := s.Match(lookup); !ok || d.Name != "d49" {
			b.Fatal("no match")
		}
	}
}
