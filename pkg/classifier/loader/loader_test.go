package loader

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/cache"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// linearDir saves a small linear model into a new directory.
func linearDir(t *testing.T) string {
	t.Helper()
	opt := linear.DefaultTrainOptions()
	opt.Features.BucketsLog2 = 10
	opt.Epochs = 5
	data := []linear.Example{{Text: "the lion roars", Label: 0}, {Text: "solve the equation", Label: 1}, {Text: "a tiger hunts", Label: 0}, {Text: "prove the theorem", Label: 1}}
	m, err := linear.Train(context.Background(), []string{"animals", "math"}, data, opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// logs returns a context whose logger records messages.
func logs() (context.Context, func() string) {
	var mu sync.Mutex
	var b strings.Builder
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		b.WriteString(args + "\n")
	}, funcr.Options{})
	return logr.NewContext(context.Background(), log), func() string {
		mu.Lock()
		defer mu.Unlock()
		return b.String()
	}
}

// TestValidate checks that each invalid field of the flat form is refused
// with an error naming it, and that valid configurations load.
func TestValidate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	tests := []struct {
		name string
		cfg  flat
		want string // "" = valid
	}{
		{"zero value", flat{}, ""},
		{"auto by name", flat{Backend: "auto"}, ""},
		{"everything set", flat{Backend: "onnx", Device: "cpu", CUDAFallback: "fail", IntraOpThreads: 1, CacheSize: 10, MaxBatchSize: 8, MaxBatchWait: "1ms"}, ""},
		// The classifier of deploy/components/gpu, in its flat form (CUDA
		// falls back to the CPU where there is none).
		{"gpu overlay", flat{Backend: "auto", ModelDir: "embedded", CacheSize: 1024, Device: "cuda", CUDAFallback: "cpu", MaxBatchSize: 32, MaxBatchWait: "1ms"}, ""},
		{"backend", flat{Backend: "svm"}, `backend "svm"`},
		{"device", flat{Device: "tpu"}, `device "tpu"`},
		{"cuda with linear", flat{Backend: "linear", Device: "cuda"}, `device "cuda" needs backend "onnx"`},
		{"ensemble off with linear", flat{Backend: "linear", Ensemble: &off}, ""},
		{"ensemble on with onnx", flat{Backend: "onnx", Ensemble: &on}, ""},
		{"ensemble on with linear", flat{Backend: "linear", Ensemble: &on}, `ensemble true needs backend "onnx" or auto`},
		{"cudaFallback", flat{CUDAFallback: "retry"}, `cudaFallback "retry"`},
		{"deviceID", flat{DeviceID: -1}, "deviceID -1"},
		{"gpuMemoryLimitBytes", flat{GPUMemoryLimitBytes: -1}, "gpuMemoryLimitBytes -1"},
		{"intraOpThreads", flat{IntraOpThreads: -2}, "intraOpThreads -2"},
		{"onnx field with linear", flat{Backend: "linear", IntraOpThreads: 2}, `unknown field "intraOpThreads"`},
		{"maxBatchSize", flat{MaxBatchSize: -1}, "maxBatchSize -1"},
		{"maxBatchWait", flat{MaxBatchWait: "-1ns"}, "maxBatchWait -1"},
		{"cacheSize", flat{CacheSize: -5}, "cacheSize -5"},
		{"modelDir missing", flat{ModelDir: "/does/not/exist"}, `modelDir "/does/not/exist"`},
		{"modelDir missing, linear", flat{Backend: "linear", ModelDir: "/does/not/exist"}, `modelDir "/does/not/exist"`},
		{"modelDir is a file", flat{ModelDir: file}, "not a directory"},
		{"several errors", flat{Backend: "x", CacheSize: -1}, "cacheSize -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(context.Background(), tt.cfg.config(t))
			if err == nil {
				defer func() { _ = c.Close() }()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "classifier config: ") {
				t.Errorf("error %q lacks the classifier config prefix", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := linearDir(t)
	both := linearDir(t)
	if err := os.WriteFile(filepath.Join(both, "model.onnx"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	_, onnxErr := models.ONNX()
	embeddedIsLinear := onnxErr != nil

	tests := []struct {
		name       string
		cfg        flat
		wantLinear bool
		wantCache  bool
		wantErr    string
		wantLog    string
	}{
		{"linear embedded", flat{Backend: "linear"}, true, false, "", ""},
		{"linear embedded by name", flat{Backend: "linear", ModelDir: "embedded"}, true, false, "", ""},
		{"linear from a directory", flat{Backend: "linear", ModelDir: dir}, true, false, "", ""},
		{"cache", flat{Backend: "linear", CacheSize: 100}, false, true, "", ""},
		{"auto, directory with only a linear model", flat{ModelDir: dir}, true, false, "", ""},
		{"auto, ONNX fails, linear beside it", flat{ModelDir: both}, true, false, "", "using the linear backend"},
		{"auto, empty directory", flat{ModelDir: empty}, false, false, "linear failed", ""},
		{"linear, empty directory", flat{Backend: "linear", ModelDir: empty}, false, false, "read linear.json", ""},
		{"onnx, directory without an ONNX model", flat{Backend: "onnx", ModelDir: dir}, false, false, "onnx", ""},
	}
	if embeddedIsLinear {
		tests = append(tests, struct {
			name       string
			cfg        flat
			wantLinear bool
			wantCache  bool
			wantErr    string
			wantLog    string
		}{"auto embedded falls back to linear", flat{}, true, false, "", "using the linear backend"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, logged := logs()
			c, err := Load(ctx, tt.cfg.config(t))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			}()
			if _, ok := c.(*linear.Model); ok != tt.wantLinear {
				t.Errorf("got %T, want linear %v", c, tt.wantLinear)
			}
			if _, ok := c.(*cache.Cache); ok != tt.wantCache {
				t.Errorf("got %T, want cache %v", c, tt.wantCache)
			}
			if !strings.Contains(logged(), tt.wantLog) {
				t.Errorf("log %q, want %q", logged(), tt.wantLog)
			}
			if _, err := c.Classify(ctx, "What is the integral of x squared?"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestRegisteredBackend: a backend registered from outside the built-ins is
// built by name, gets its raw parameters and the common wrappers.
func TestRegisteredBackend(t *testing.T) {
	var got json.RawMessage
	classifier.Register("test-fixed", func(_ context.Context, raw json.RawMessage, _ classifier.FactoryOptions) (classifier.Classifier, error) {
		got = raw
		return linear.LoadDir(classifier.EmbeddedModel)
	})
	var cfg classifier.Config
	if err := json.Unmarshal([]byte(`{"backend": "test-fixed", "words": ["a"], "cacheSize": 4}`), &cfg); err != nil {
		t.Fatal(err)
	}
	c, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, ok := c.(*cache.Cache); !ok || string(got) != `{"words":["a"]}` {
		t.Errorf("got %T with parameters %s", c, got)
	}
}
