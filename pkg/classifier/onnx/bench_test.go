//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/batching"
)

type benchModel struct {
	name, dir, howToGet string
	cudaGraphs          string // Options.CUDAGraphs; "" = the default
}

// benchModels are the model directories the benchmarks run on. Only the
// committed tiny model is required; the others are used when present.
// BENCH_MODELS adds more: "name=dir,name2=dir2" (candidate models).
var benchModels = withGraphModes(append([]benchModel{
	{name: "tiny", dir: "testdata/tiny"},
	{name: "minilm-bench", dir: "../../../.cache/onnx-bench/minilm", howToGet: "make onnx-bench-model"},
	{name: "minilm-bench-int8", dir: "../../../.cache/onnx-bench/minilm-int8", howToGet: "make onnx-bench-model"},
	{name: "shipped", dir: "../../../models/domain-minilm", howToGet: "the trained model (training/)"},
}, extraBenchModels()...))

// withGraphModes adds, when BENCH_CUDA_GRAPHS=off-too, each model once more
// as NAME-nographs with CUDA graphs off, so that one run compares both.
func withGraphModes(ms []benchModel) []benchModel {
	if os.Getenv("BENCH_CUDA_GRAPHS") != "off-too" {
		return ms
	}
	out := ms
	for _, m := range ms {
		m.name, m.cudaGraphs = m.name+"-nographs", CUDAGraphsOff
		out = append(out, m)
	}
	return out
}

func extraBenchModels() []benchModel {
	var out []benchModel
	for _, kv := range strings.Split(os.Getenv("BENCH_MODELS"), ",") {
		if name, dir, ok := strings.Cut(kv, "="); ok {
			out = append(out, benchModel{name: name, dir: dir, howToGet: "BENCH_MODELS"})
		}
	}
	return out
}

func loadBench(b *testing.B, m benchModel, maxSeq int) *Classifier {
	b.Helper()
	requireRuntime(b)
	if _, err := os.Stat(m.dir); err != nil {
		b.Skipf("%s absent (%s)", m.dir, m.howToGet)
	}
	// BENCH_INTRA_OP_THREADS sets ONNX Runtime's intra-op threads (default:
	// its own choice, one per core); BENCH_DEVICE=cuda runs on the GPU;
	// BENCH_SPINNING=1 lets the intra-op threads spin (off by default);
	// BENCH_ATTENTION sets attentionKernel.
	threads, _ := strconv.Atoi(os.Getenv("BENCH_INTRA_OP_THREADS"))
	o := Options{IntraOpThreads: threads, Device: os.Getenv("BENCH_DEVICE"), CUDAFallback: FallbackFail,
		IntraOpSpinning: os.Getenv("BENCH_SPINNING") == "1", MaxSeqLen: maxSeq, CUDAGraphs: m.cudaGraphs,
		AttentionKernel: os.Getenv("BENCH_ATTENTION")}
	c, err := Load(context.Background(), o, os.DirFS(m.dir))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// textOfTokens returns a text that encodes to exactly n tokens.
func textOfTokens(b *testing.B, c *Classifier, n int) string {
	words := []string{"law", "court", "contract", "the", "of", "a", "judge", "appeal"}
	var parts []string
	for i := 0; i < n-c.tok.SpecialTokens(); i++ {
		parts = append(parts, words[i%len(words)])
	}
	text := strings.Join(parts, " ")
	if enc, _ := c.Encode(text); len(enc.IDs) != n {
		b.Fatalf("text encodes to %d tokens, want %d", len(enc.IDs), n)
	}
	return text
}

// BenchmarkLatency: one Classify at a time (batch 1), with p50/p99.
func BenchmarkLatency(b *testing.B) {
	for _, m := range benchModels {
		for _, tokens := range []int{16, 43, 128, 512} { // 43: median of the dev set
			b.Run(fmt.Sprintf("%s/tokens=%d", m.name, tokens), func(b *testing.B) {
				c := loadBench(b, m, 512)
				text := textOfTokens(b, c, tokens)
				ctx := context.Background()
				durs := make([]time.Duration, 0, b.N)
				for b.Loop() {
					start := time.Now()
					if _, err := c.Classify(ctx, text); err != nil {
						b.Fatal(err)
					}
					durs = append(durs, time.Since(start))
				}
				reportPercentiles(b, durs)
			})
		}
	}
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	at := func(q float64) float64 {
		return float64(durs[min(len(durs)-1, int(q*float64(len(durs))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// classifyCallers has conc goroutines share b.N Classify calls, the i-th of
// text(i), and reports texts/s; timed also reports each call's p50 and p99.
func classifyCallers(b *testing.B, cl classifier.Classifier, conc int, text func(int) string, timed bool) {
	pacedCallers(b, cl, conc, text, timed, pause{})
}

// pacedCallers is classifyCallers with each caller pausing pace after each
// call (outside the timed call), as requests one at a time with gaps between
// them arrive at the EPP.
func pacedCallers(b *testing.B, cl classifier.Classifier, conc int, text func(int) string, timed bool, pace pause) {
	b.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	var durs []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	b.ResetTimer()
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t0 := time.Now()
				if _, err := cl.Classify(context.Background(), text(int(i))); err != nil {
					errs <- err
					return
				}
				if timed {
					d := time.Since(t0)
					mu.Lock()
					durs = append(durs, d)
					mu.Unlock()
				}
				pace.wait()
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "texts/s")
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	reportPercentiles(b, durs)
}

// pause is how a paced caller waits between calls: asleep, or busy on its
// core (which keeps that core and its caches awake, so that the two sides
// by side tell the caller's idle cost from the rest).
type pause struct {
	d    time.Duration
	busy bool
}

// parsePause reads "1500us" (asleep) or "busy:1500us".
func parsePause(s string) (pause, error) {
	busy := strings.HasPrefix(s, "busy:")
	d, err := time.ParseDuration(strings.TrimPrefix(s, "busy:"))
	return pause{d: d, busy: busy}, err
}

func (p pause) String() string {
	if p.busy {
		return "busy" + p.d.String()
	}
	return p.d.String()
}

func (p pause) wait() {
	switch {
	case p.d <= 0:
	case p.busy:
		for start := time.Now(); time.Since(start) < p.d; {
		}
	default:
		time.Sleep(p.d)
	}
}

// noClose keeps the benchmark's shared classifier open when a Batcher
// wrapping it is closed.
type noClose struct{ classifier.Classifier }

func (noClose) Close() error { return nil }

// unprepared hides a classifier's Prepare from a Batcher, which then
// tokenizes in its workers, and passes the rest through: the side-by-side
// runs of BENCH_PREPARE=off-too.
type unprepared struct{ classifier.Classifier }

func (u unprepared) Device() string { return classifier.DeviceOf(u.Classifier) }

func (u unprepared) EmbeddingDim() int { return classifier.EmbeddingDimOf(u.Classifier) }

// benchPrepare lists whether a Batcher prepares texts in its callers: on
// (as shipped), and off too with BENCH_PREPARE=off-too.
func benchPrepare() []bool {
	if os.Getenv("BENCH_PREPARE") == "off-too" {
		return []bool{true, false}
	}
	return []bool{true}
}

// prepareName is the sub-benchmark suffix of a prepare setting.
func prepareName(prepare bool) string {
	if prepare {
		return ""
	}
	return "/prepare=off"
}

// BenchmarkThroughput: b.N Classify calls of 128-token texts from
// `conc` goroutines, straight to the session or through micro-batching.
func BenchmarkThroughput(b *testing.B) {
	for _, m := range benchModels {
		for _, conc := range benchConcurrency() {
			for _, mode := range []struct{ batched, prepare bool }{{false, false}, {true, true}, {true, false}} {
				batched := mode.batched
				if batched && !mode.prepare && len(benchPrepare()) == 1 {
					continue
				}
				suffix := ""
				if batched {
					suffix = prepareName(mode.prepare)
				}
				b.Run(fmt.Sprintf("%s/conc=%d/batching=%v%s", m.name, conc, batched, suffix), func(b *testing.B) {
					c := loadBench(b, m, 512)
					text := textOfTokens(b, c, 128)
					var cl classifier.Classifier = c
					if batched {
						// As the loader does it: enough workers to fill the cores.
						// BENCH_WORKERS and BENCH_MAX_BATCH override (GPU runs).
						workers := 1
						if threads, _ := strconv.Atoi(os.Getenv("BENCH_INTRA_OP_THREADS")); threads > 0 {
							workers = max(1, runtime.NumCPU()/threads)
						}
						if w, _ := strconv.Atoi(os.Getenv("BENCH_WORKERS")); w > 0 {
							workers = w
						}
						maxBatch := 32
						if n, _ := strconv.Atoi(os.Getenv("BENCH_MAX_BATCH")); n > 0 {
							maxBatch = n
						}
						var backend classifier.Classifier = noClose{c}
						if mode.prepare {
							backend = struct {
								noClose
								classifier.Preparer
							}{noClose{c}, c}
						}
						bt := batching.New(backend, batching.Options{MaxBatchSize: maxBatch, MaxBatchWait: time.Millisecond, Workers: workers})
						defer func() { _ = bt.Close() }()
						cl = bt
					}
					classifyCallers(b, cl, conc, func(int) string { return text }, false)
				})
			}
		}
	}
}

// BenchmarkHugeText: a 1 MB prompt, tokenized in full and windowed to the
// sequence limit (the cost is the tokenizer's; the model sees 512 tokens).
func BenchmarkHugeText(b *testing.B) {
	c := loadBench(b, benchModel{name: "tiny", dir: "testdata/tiny"}, 512)
	text := strings.Repeat("The court held that the contract was void. ", 1<<20/43)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r, err := c.Classify(context.Background(), text)
		if err != nil || !r.Truncated {
			b.Fatalf("%+v %v", r, err)
		}
	}
}

// benchConcurrency is 1/8/64 concurrent callers, plus 256 when
// BENCH_DEVICE=cuda (a GPU needs more in flight to fill its batches);
// BENCH_CONCURRENCY="a,b,c" replaces the list.
func benchConcurrency() []int {
	if list := os.Getenv("BENCH_CONCURRENCY"); list != "" {
		var out []int
		for _, f := range strings.Split(list, ",") {
			if n, err := strconv.Atoi(f); err == nil && n > 0 {
				out = append(out, n)
			}
		}
		return out
	}
	if os.Getenv("BENCH_DEVICE") == "cuda" {
		return []int{1, 8, 64, 256}
	}
	return []int{1, 8, 64}
}

// BenchmarkBatch: one ClassifyBatch of n 128-token texts at a time, straight
// to the session (no batcher): the cost of a batch and the rate one session
// reaches with nothing else in the way.
func BenchmarkBatch(b *testing.B) {
	for _, m := range benchModels {
		for _, n := range []int{1, 64, 256, 512, 1024} {
			b.Run(fmt.Sprintf("%s/batch=%d", m.name, n), func(b *testing.B) {
				c := loadBench(b, m, 512)
				texts := make([]string, n)
				for i := range texts {
					texts[i] = textOfTokens(b, c, 128)
				}
				ctx := context.Background()
				start := time.Now()
				for b.Loop() {
					if _, err := c.ClassifyBatch(ctx, texts); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "texts/s")
			})
		}
	}
}
