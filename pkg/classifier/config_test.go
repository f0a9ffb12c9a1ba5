package classifier

import (
	"encoding/json"
	"testing"
)

// TestConfigEnsembleJSON checks the three states of Config.Ensemble survive
// JSON: absent (nil, the default: use ensemble.json), true and false.
func TestConfigEnsembleJSON(t *testing.T) {
	tests := []struct {
		in   string
		want *bool
		out  string // the "ensemble" value written back, "" = omitted
	}{
		{`{}`, nil, ""},
		{`{"ensemble": true}`, new(true), "true"},
		{`{"ensemble": false}`, new(false), "false"},
	}
	for _, tt := range tests {
		var c Config
		if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if (c.Ensemble == nil) != (tt.want == nil) || (c.Ensemble != nil && *c.Ensemble != *tt.want) {
			t.Errorf("%s: Ensemble %v, want %v", tt.in, c.Ensemble, tt.want)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]json.RawMessage
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got := string(back["ensemble"]); got != tt.out {
			t.Errorf("%s: marshalled %s; want ensemble %q", tt.in, b, tt.out)
		}
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"ensemble": "no"}`), &c); err == nil {
		t.Error(`"ensemble": "no" accepted`)
	}
}
