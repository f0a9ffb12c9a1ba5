//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/test/gateway"
)

// TestLoadAwareFallback runs a second EPP of the pool with the load-aware
// config: the guide's math request goes to phi4-mini, to llama3-8b while every
// phi4-mini pod reports a full queue (the simulators' fake metrics, scraped by
// the EPP as in production), and back to phi4-mini when the load drops.
// (The file sorts before e2e_test.go, whose last test deletes the phi4-mini pods.)
func TestLoadAwareFallback(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	epp, err := sb.StartExtraEPP(ctx, "config/semantic-epp-load-aware.yaml", "epp-load-aware.log", nil)
	if err != nil {
		t.Fatalf("load-aware EPP: %v", err)
	}
	t.Cleanup(func() { _ = epp.Stop() })
	gwURL, stopGW, err := gateway.ServeLoopback(ctx, gateway.Config{ExtProcAddress: epp.Address(), ExtProcTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stopGW()

	mathPrompt := req("auto", "2+2 is")
	send := func() string {
		resp, err := httpc.Post(gwURL+"/v1/completions", "application/json", strings.NewReader(mathPrompt))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var out struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(b, &out)
		// The decision reaches the client too, as response headers.
		if got := resp.Header.Get("x-selected-model"); got != out.Model || resp.Header.Get("x-selection-reason") == "" {
			t.Errorf("response headers x-selected-model %q x-selection-reason %q, want %q and a reason",
				got, resp.Header.Get("x-selection-reason"), out.Model)
		}
		return out.Model
	}
	expect := func(phase, want string) {
		t.Helper()
		eventually(t, 10*time.Second, phase, func() error {
			if got := send(); got != want {
				return fmt.Errorf("served by %s, want %s", got, want)
			}
			return nil
		})
		// Stable once reached: five in a row.
		for range 5 {
			if got := send(); got != want {
				t.Fatalf("%s: served by %s, want %s", phase, got, want)
			}
		}
	}
	expect("idle pool", "phi4-mini")
	phi := sb.PodsOf("phi4-mini")
	for _, p := range phi {
		setLoad(t, p, 50, 0.95)
	}
	expect("phi4-mini saturated", "llama3-8b")
	for _, p := range phi {
		setLoad(t, p, 0, 0)
	}
	expect("load dropped", "phi4-mini")
}
