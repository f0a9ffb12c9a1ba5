package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ClassifierMetric is the selector's classifier duration histogram (sum and
// count of successful classifications) scraped from an EPP.
const ClassifierMetric = "semantic_epp_selector_classifier_duration_seconds"

// HistogramSumCount scrapes a Prometheus text endpoint and returns the _sum
// and _count of the series of metric whose labels contain label (e.g.
// `outcome="ok"`), summed over matching series.
func HistogramSumCount(ctx context.Context, url, metric, label string) (float64, float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("scraping %s: status %d", url, resp.StatusCode)
	}
	var sum, count float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var dst *float64
		switch {
		case strings.HasPrefix(line, metric+"_sum"):
			dst = &sum
		case strings.HasPrefix(line, metric+"_count"):
			dst = &count
		default:
			continue
		}
		if !strings.Contains(line, label) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: bad sample %q", url, line)
		}
		*dst += v
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading %s: %w", url, err)
	}
	return sum, count, nil
}
