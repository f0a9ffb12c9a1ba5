package main

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/test/bench"
)

func ok(prompt, model string, ttft time.Duration) bench.StreamResult {
	return bench.StreamResult{Prompt: prompt, Status: http.StatusOK, TTFT: ttft, Model: model}
}

func TestSummarize(t *testing.T) {
	r := &runner{o: options{slo: time.Second, step: 2 * time.Second}, firstChoice: map[string]string{"m": scarceModel, "o": otherModel}}
	s := r.summarize([]bench.StreamResult{
		ok("m", scarceModel, 300*time.Millisecond),
		ok("m", otherModel, 200*time.Millisecond),                            // moved
		ok("m", scarceModel, 1500*time.Millisecond),                          // over the SLO
		ok("o", otherModel, time.Second),                                     // at the SLO counts
		{Prompt: "m", Status: http.StatusTooManyRequests, Err: "status 429"}, // error
	})
	if s.Sent != 5 || s.Completed != 4 || s.Errors != 1 || s.InSLO != 3 || s.Goodput != 1.5 {
		t.Errorf("counts %+v", s)
	}
	if s.Moved != 0.25 || s.Scarce != 0.5 || s.ErrorKind != "status 429" {
		t.Errorf("shares %+v", s)
	}
}

func TestSummary(t *testing.T) {
	mk := func(cfg string, rate, goodput, moved float64, completed, errs int) *cell {
		return &cell{Config: cfg, Rate: rate, stats: stats{Goodput: goodput, Moved: moved, Completed: completed, Errors: errs}}
	}
	tests := []struct {
		name                  string
		cells                 []*cell
		aware                 bool
		wantRatio, wantMoved  float64 // NaN: null
		wantErrors, wantAtRPS float64
	}{
		{
			name: "ratio at the highest saturated load, moved share over the unsaturated loads",
			cells: []*cell{
				mk(Blind, 4, 4, 0, 40, 0), mk(LoadAware, 4, 4, 0, 40, 0),
				mk(Blind, 8, 7.5, 0, 80, 0), mk(LoadAware, 8, 8, 0.1, 80, 1),
				mk(Blind, 12, 5, 0, 120, 0), mk(LoadAware, 12, 11, 0.4, 120, 0),
				mk(Blind, 16, 4, 0, 160, 0), mk(LoadAware, 16, 15, 0.4, 160, 2),
			},
			aware: true, wantRatio: 15.0 / 4, wantMoved: 8.0 / 120, wantErrors: 3, wantAtRPS: 16,
		},
		{
			name:  "no load-aware run: nulls",
			cells: []*cell{mk(Blind, 4, 4, 0, 40, 0)},
			aware: false, wantRatio: math.NaN(), wantMoved: math.NaN(), wantErrors: math.NaN(), wantAtRPS: math.NaN(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			urls := map[string]string{Blind: "x"}
			if tc.aware {
				urls[LoadAware] = "y"
			}
			r := &runner{o: options{rates: []float64{4, 8, 12, 16}, slo: time.Second}, sys: &system{urls: urls}, cells: tc.cells}
			s := r.summary()
			check := func(what string, got *float64, want float64) {
				t.Helper()
				switch {
				case math.IsNaN(want) && got != nil:
					t.Errorf("%s = %v, want null", what, *got)
				case !math.IsNaN(want) && (got == nil || math.Abs(*got-want) > 1e-9):
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("ratio", s.GoodputRatio, tc.wantRatio)
			check("moved", s.MovedBelow, tc.wantMoved)
			check("rate", s.SaturationRate, tc.wantAtRPS)
			var errs *float64
			if s.Errors != nil {
				e := float64(*s.Errors)
				errs = &e
			}
			check("errors", errs, tc.wantErrors)
		})
	}
}
