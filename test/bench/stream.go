package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// StreamResult is one streamed completion seen by the client.
type StreamResult struct {
	Prompt string
	Status int
	Start  time.Duration // since the start of the run
	TTFT   time.Duration // request sent until the first SSE data chunk
	Total  time.Duration
	Model  string // the "model" of the first chunk: the model that served it
	Err    string
}

// OK reports whether the request completed: 200 and a [DONE] stream.
func (r StreamResult) OK() bool { return r.Status == http.StatusOK && r.Err == "" }

// Stream sends one streaming completion request and reads the server-sent
// events to the end. A non-200 answer, a chunk that is not JSON or a stream
// without [DONE] is an error in the result, not a Go error.
func (c *Client) Stream(ctx context.Context, url string, r Request, maxTokens int) (res StreamResult) {
	res.Prompt = r.Prompt
	body, err := json.Marshal(map[string]any{"model": r.Model, "prompt": r.Prompt, "max_tokens": maxTokens, "stream": true})
	if err != nil {
		res.Err = fmt.Sprintf("encoding request: %v", err)
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		res.Err = fmt.Sprintf("building request: %v", err)
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	defer func() { res.Total = time.Since(start) }()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		res.Err = fmt.Sprintf("request: %v", err)
		return res
	}
	defer func() { _ = resp.Body.Close() }()
	res.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		res.Err = fmt.Sprintf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
		return res
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	done := false
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		if res.TTFT == 0 {
			res.TTFT = time.Since(start)
			var chunk struct {
				Model string `json:"model"`
			}
			if err := json.Unmarshal([]byte(data), &chunk); err != nil {
				res.Err = fmt.Sprintf("first chunk is not JSON: %v", err)
				return res
			}
			res.Model = chunk.Model
		}
	}
	if err := sc.Err(); err != nil {
		res.Err = fmt.Sprintf("reading stream: %v", err)
	} else if !done {
		res.Err = "stream ended without [DONE]"
	}
	return res
}

// RunOpenStream offers reqs at rate per second (open loop) as streaming
// requests and returns every result in send order.
func (c *Client) RunOpenStream(ctx context.Context, url string, reqs []Request, rate float64, maxTokens int) []StreamResult {
	out := make([]StreamResult, len(reqs))
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	start := time.Now()
	for i, r := range reqs {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int, r Request) {
			defer wg.Done()
			at := time.Since(start)
			out[i] = c.Stream(ctx, url, r, maxTokens)
			out[i].Start = at
		}(i, r)
	}
	wg.Wait()
	return out
}

// LabelledText is one line of a labelled JSONL data set.
type LabelledText struct {
	Text  string `json:"text"`
	Label string `json:"label"`
}

// LoadLabelled reads the "text" and "label" fields of every line of a JSONL file.
func LoadLabelled(path string) ([]LabelledText, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labelled texts (the shared data set, see ../shared/data/domain/README.md): %w", err)
	}
	var out []LabelledText
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec LabelledText
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		if strings.TrimSpace(rec.Text) != "" {
			out = append(out, rec)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no texts", path)
	}
	return out, nil
}
