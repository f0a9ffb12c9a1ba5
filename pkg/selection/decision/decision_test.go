package decision

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

func leaf(signal, name string) Condition { return Condition{Signal: signal, Name: name} }

func op(o string, cs ...Condition) Condition { return Condition{Operator: o, Conditions: cs} }

func dec(name string, prio int, rules Condition) Decision {
	return Decision{Name: name, Priority: prio, Rules: rules, Models: []ModelRef{{Model: "m-" + name}}}
}

// results builds a lookup from "signal=name,name" entries.
func results(entries ...string) Lookup {
	m := map[string]selection.SignalResult{}
	for _, e := range entries {
		sig, names, _ := strings.Cut(e, "=")
		r := selection.SignalResult{Matches: map[string]float32{}}
		for _, n := range strings.Split(names, ",") {
			if n != "" {
				r.Matches[n] = 1
			}
		}
		m[sig] = r
	}
	return func(s string) (selection.SignalResult, bool) { r, ok := m[s]; return r, ok }
}

func TestMatch(t *testing.T) {
	composite := dec("escalate", 160, op(OpAnd,
		leaf("domain", "business"),
		op(OpOr, leaf("keywords", "urgent"), leaf("complexity", "hard")),
		op(OpNot, leaf("jailbreak", "injection")),
	))
	set := []Decision{
		dec("business", 10, op(OpOr, leaf("domain", "business"))),
		dec("law", 10, op("or", leaf("domain", "law"))),
		composite,
		dec("safe", 5, op(OpNot, leaf("jailbreak", "injection"))),
	}
	tests := []struct {
		name   string
		lookup Lookup
		want   string // "" = no match
	}{
		{"single leaf", results("domain=business", "jailbreak=injection"), "business"},
		{"lower-case operator", results("domain=law", "jailbreak=injection"), "law"},
		{"nested AND/OR/NOT wins by priority", results("domain=business", "keywords=urgent", "jailbreak="), "escalate"},
		{"nested OR via second branch", results("domain=business", "complexity=hard"), "escalate"},
		{"NOT blocks the composite", results("domain=business", "keywords=urgent", "jailbreak=injection"), "business"},
		{"unevaluated signal matches nothing, NOT over it holds", results(), "safe"},
		{"nothing matches", results("domain=math", "jailbreak=injection"), ""},
	}
	s, err := Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := s.Match(tc.lookup)
			got := ""
			if ok {
				got = d.Name
			}
			if got != tc.want {
				t.Fatalf("Match = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPriorityOrderKeepsTies(t *testing.T) {
	any := op(OpOr, leaf("s", "x"))
	s, err := Compile([]Decision{dec("a", 1, any), dec("b", 5, any), dec("c", 5, any), dec("d", 9, any)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range s.Decisions() {
		got = append(got, d.Name)
	}
	if strings.Join(got, ",") != "d,b,c,a" {
		t.Fatalf("order = %v, want d,b,c,a", got)
	}
	if d, _ := s.Match(results("s=x")); d.Name != "d" {
		t.Fatalf("first match = %s, want d", d.Name)
	}
}

func TestSignals(t *testing.T) {
	s, err := Compile([]Decision{
		dec("a", 0, op(OpAnd, leaf("domain", "x"), op(OpNot, leaf("jb", "y")))),
		dec("b", 0, op(OpOr, leaf("keywords", "k"), leaf("domain", "z"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Signals(), ","); got != "domain,jb,keywords" {
		t.Fatalf("Signals = %s", got)
	}
	err = s.CheckSignals(func(n string) bool { return n != "jb" })
	if err == nil || !strings.Contains(err.Error(), "jb") {
		t.Fatalf("CheckSignals = %v, want an error naming jb", err)
	}
}

func TestCompileErrors(t *testing.T) {
	ok := op(OpOr, leaf("domain", "x"))
	tests := []struct {
		name string
		ds   []Decision
		want string
	}{
		{"empty name", []Decision{dec(" ", 0, ok)}, "decisions[0].name: must not be empty"},
		{"duplicate name", []Decision{dec("a", 0, ok), dec("a", 0, ok)}, `decisions[1].name: "a" is already the name of decisions[0]`},
		{"unknown operator", []Decision{dec("a", 0, op("XOR", leaf("d", "x")))}, `decisions[0].rules.operator: "XOR" is not one of AND, OR, NOT`},
		{"NOT with two", []Decision{dec("a", 0, op(OpAnd, op(OpNot, leaf("d", "x"), leaf("d", "y"))))}, "decisions[0].rules.conditions[0].conditions: NOT needs exactly one condition, got 2"},
		{"NOT with none", []Decision{dec("a", 0, op(OpNot))}, "NOT needs exactly one condition, got 0"},
		{"AND with none", []Decision{dec("a", 0, op(OpAnd))}, "decisions[0].rules.conditions: AND needs at least one condition"},
		{"empty rules", []Decision{dec("a", 0, Condition{})}, "decisions[0].rules.signal: a leaf must name a signal"},
		{"leaf without name", []Decision{dec("a", 0, op(OpOr, Condition{Signal: "d"}))}, "decisions[0].rules.conditions[0].name: a leaf must name what the signal matches"},
		{"conditions without operator", []Decision{dec("a", 0, Condition{Conditions: []Condition{leaf("d", "x")}})}, "decisions[0].rules.operator: a node with conditions needs an operator"},
		{"operator and leaf", []Decision{dec("a", 0, Condition{Operator: OpOr, Signal: "d", Name: "x", Conditions: []Condition{leaf("d", "x")}})}, "not both"},
		{"no models", []Decision{{Name: "a", Rules: ok}}, "decisions[0].models: a decision needs at least one model"},
		{"empty model", []Decision{{Name: "a", Rules: ok, Models: []ModelRef{{}}}}, "decisions[0].models[0].model: must not be empty"},
		{"negative weight", []Decision{{Name: "a", Rules: ok, Models: []ModelRef{{Model: "m", Weight: -1}}}}, "decisions[0].models[0].weight: -1 is negative"},
		{"bad prompt mode", []Decision{{Name: "a", Rules: ok, Models: []ModelRef{{Model: "m"}}, SystemPrompt: &SystemPrompt{Text: "t", Mode: "append"}}}, `decisions[0].systemPrompt.mode: "append" is not one of`},
		{"empty prompt", []Decision{{Name: "a", Rules: ok, Models: []ModelRef{{Model: "m"}}, SystemPrompt: &SystemPrompt{}}}, "decisions[0].systemPrompt.text: must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.ds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compile error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestYAMLShapeAndDefaultMode(t *testing.T) {
	const doc = `
- name: business
  priority: 10
  rules:
    operator: OR
    conditions:
    - {signal: domain, name: business}
    - operator: AND
      conditions: [{signal: keywords, name: urgent_keywords}]
  models:
  - {model: llama3-8b, reasoning: false}
  systemPrompt: {text: "You are a consultant."}
`
	var ds []Decision
	if err := yaml.UnmarshalStrict([]byte(doc), &ds); err != nil {
		t.Fatal(err)
	}
	s, err := Compile(ds)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := s.Match(results("keywords=urgent_keywords"))
	if !ok || d.Name != "business" || d.SystemPrompt.Mode != ModeInsert || *d.Models[0].Reasoning {
		t.Fatalf("Match = %+v, %v", d, ok)
	}
	if ds[0].SystemPrompt.Mode != "" {
		t.Fatal("Compile changed the caller's decisions")
	}
}
