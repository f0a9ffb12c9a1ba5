package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/semantic-epp/semantic-epp/test/scrape"
)

// Sample is one look at the EPP process.
type Sample struct {
	At         time.Duration // since the run began
	RSSBytes   int64         // VmRSS from /proc/<pid>/status
	Goroutines float64       // go_goroutines from the EPP's /metrics
}

// RSS reads VmRSS of a process.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading process %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("process %d: VmRSS %q: %w", pid, v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("process %d: no VmRSS", pid)
}

// TakeSample reads the EPP's RSS and goroutine count.
func TakeSample(ctx context.Context, pid int, metricsURL string, at time.Duration) (Sample, error) {
	s := Sample{At: at}
	var err error
	if s.RSSBytes, err = RSS(pid); err != nil {
		return s, err
	}
	g, ok, err := scrape.Metric(ctx, metricsURL, "go_goroutines")
	if err != nil {
		return s, err
	}
	if !ok {
		return s, fmt.Errorf("%s has no go_goroutines", metricsURL)
	}
	s.Goroutines = g
	return s, nil
}

// Drift compares the mean of the first and the last span of the samples
// taken at or after warm: (last - first) / first for RSS and goroutines.
// Means over spans rather than single samples, because both numbers move
// with the requests in flight at the instant of a sample.
func Drift(samples []Sample, warm, span time.Duration) (rss, gor float64, err error) {
	var after []Sample
	for _, s := range samples {
		if s.At >= warm {
			after = append(after, s)
		}
	}
	if len(after) < 2 {
		return 0, 0, fmt.Errorf("only %d samples after the warm-up", len(after))
	}
	end := after[len(after)-1].At
	begin := after[0].At
	if end-begin < 2*span {
		return 0, 0, fmt.Errorf("the soak after warm-up (%s) is shorter than two spans of %s", end-begin, span)
	}
	mean := func(from, to time.Duration) (float64, float64) {
		var r, g float64
		n := 0
		for _, s := range after {
			if s.At >= from && s.At <= to {
				r += float64(s.RSSBytes)
				g += s.Goroutines
				n++
			}
		}
		return r / float64(n), g / float64(n)
	}
	r0, g0 := mean(begin, begin+span)
	r1, g1 := mean(end-span, end)
	return (r1 - r0) / r0, (g1 - g0) / g0, nil
}
