package keyword

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

// prompt128 is a prompt of about 128 tokens (~100 words) in which one rule,
// the last, matches.
var prompt128 = strings.Repeat("Our quarterly revenue report shows the regional teams missed the target, and the board wants an analysis of costs, pricing and churn. ", 4) +
	"Please reply with a plan, this is urgent-ish, keyword49 included."

func rules50() []Rule {
	var rs []Rule
	for i := range 50 {
		rs = append(rs, Rule{
			Name:     fmt.Sprintf("rule%d", i),
			Keywords: []string{fmt.Sprintf("keyword%d", i), fmt.Sprintf("phrase %d", i), fmt.Sprintf("term%d", i), fmt.Sprintf("alt%d", i)},
		})
	}
	return rs
}

// BenchmarkKeywordDecisions is the target of issue 14: 50 keyword rules, 50
// decisions over them, a 128-token prompt. Sub-benchmarks separate the
// signal, the decisions and both together; "regex" adds one RE2 regex per
// rule, "substring" one hyphenated keyword per rule (a substring search of
// the lower-cased prompt), for comparison.
func BenchmarkKeywordDecisions(b *testing.B) {
	withRegex, withSubstring := rules50(), rules50()
	for i := range withRegex {
		withRegex[i].Regexes = []string{fmt.Sprintf(`\bticket-%d\b`, i)}
		withSubstring[i].Keywords = append(withSubstring[i].Keywords, fmt.Sprintf("ticket-%d", i))
	}
	var ds []decision.Decision
	for i := range 50 {
		ds = append(ds, decision.Decision{
			Name: fmt.Sprintf("d%d", i), Priority: 50 - i,
			Rules:  decision.Condition{Operator: decision.OpOr, Conditions: []decision.Condition{{Signal: "keywords", Name: fmt.Sprintf("rule%d", i)}}},
			Models: []decision.ModelRef{{Model: "m"}},
		})
	}
	set, err := decision.Compile(ds)
	if err != nil {
		b.Fatal(err)
	}
	for _, cfg := range []struct {
		name  string
		rules []Rule
	}{{"keywords", rules50()}, {"keywords+substring", withSubstring}, {"keywords+regex", withRegex}} {
		s, err := New("keywords", Parameters{Rules: cfg.rules})
		if err != nil {
			b.Fatal(err)
		}
		req := &selection.Request{Text: prompt128}
		ctx := context.Background()
		b.Run(cfg.name+"/signal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res, _ := s.Evaluate(ctx, req); !res.Matched("rule49") {
					b.Fatal("rule49 did not match")
				}
			}
		})
		b.Run(cfg.name+"/signal+decisions", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, _ := s.Evaluate(ctx, req)
				d, ok := set.Match(func(string) (selection.SignalResult, bool) { return res, true })
				if !ok || d.Name != "d49" {
					b.Fatal("no decision")
				}
			}
		})
	}
}
