// Package scrape reads samples from a Prometheus text endpoint (an EPP's
// /metrics) for the e2e tests, the benchmarks and the soak, which all stay
// in step with what a Prometheus server would read.
package scrape

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Samples is one scrape: the endpoint's sample lines.
type Samples struct {
	url   string
	lines []string
}

// Get scrapes url once, with a 5 s timeout.
func Get(ctx context.Context, url string) (Samples, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Samples{}, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Samples{}, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return Samples{}, fmt.Errorf("scraping %s: status %d", url, resp.StatusCode)
	}
	s := Samples{url: url}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && line[0] != '#' {
			s.lines = append(s.lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return Samples{}, fmt.Errorf("reading %s: %w", url, err)
	}
	return s, nil
}

// Sum returns the sum of the samples of one metric name whose label set
// contains every part of labels (e.g. `reason="timeout"`); found is false
// when no sample matched.
func (s Samples) Sum(name string, labels ...string) (v float64, found bool, err error) {
lines:
	for _, line := range s.lines {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				continue lines
			}
		}
		i := strings.LastIndexByte(rest, ' ')
		x, err := strconv.ParseFloat(rest[i+1:], 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: bad sample %q", s.url, line)
		}
		v += x
		found = true
	}
	return v, found, nil
}

// Metric scrapes url and returns Sum(name, labels...).
func Metric(ctx context.Context, url, name string, labels ...string) (v float64, found bool, err error) {
	s, err := Get(ctx, url)
	if err != nil {
		return 0, false, err
	}
	return s.Sum(name, labels...)
}

// HistogramSumCount scrapes url once and returns the _sum and _count of the
// histogram metric over its series whose labels contain label (e.g.
// `outcome="ok"`).
func HistogramSumCount(ctx context.Context, url, metric, label string) (sum, count float64, err error) {
	s, err := Get(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	if sum, _, err = s.Sum(metric+"_sum", label); err != nil {
		return 0, 0, err
	}
	if count, _, err = s.Sum(metric+"_count", label); err != nil {
		return 0, 0, err
	}
	return sum, count, nil
}
