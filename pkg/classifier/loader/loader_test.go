package loader

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestValidate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	tests := []struct {
		name string
		cfg  classifier.Config
		want string // "" = valid
	}{
		{"zero value", classifier.Config{}, ""},
		{"auto alias", classifier.Config{Backend: "auto"}, ""},
		{"everything set", classifier.Config{Backend: "onnx", Device: "cuda", DeviceID: 1, CUDAFallback: "fail", CacheSize: 10, MaxBatchSize: 8, MaxBatchWait: classifier.Duration{Duration: time.Millisecond}}, ""},
		{"backend", classifier.Config{Backend: "svm"}, `backend "svm"`},
		{"device", classifier.Config{Device: "tpu"}, `device "tpu"`},
		{"cuda with linear", classifier.Config{Backend: "linear", Device: "cuda"}, `device "cuda" needs backend "onnx"`},
		{"ensemble off with linear", classifier.Config{Backend: "linear", Ensemble: &off}, ""},
		{"ensemble on with onnx", classifier.Config{Backend: "onnx", Ensemble: &on}, ""},
		{"ensemble on with linear", classifier.Config{Backend: "linear", Ensemble: &on}, `ensemble true needs backend "onnx" or auto`},
		{"cudaFallback", classifier.Config{CUDAFallback: "retry"}, `cudaFallback "retry"`},
		{"deviceID", classifier.Config{DeviceID: -1}, "deviceID -1"},
		{"gpuMemoryLimitBytes", classifier.Config{GPUMemoryLimitBytes: -1}, "gpuMemoryLimitBytes -1"},
		{"intraOpThreads", classifier.Config{IntraOpThreads: -2}, "intraOpThreads -2"},
		{"maxBatchSize", classifier.Config{MaxBatchSize: -1}, "maxBatchSize -1"},
		{"maxBatchWait", classifier.Config{MaxBatchWait: classifier.Duration{Duration: -1}}, "maxBatchWait -1"},
		{"cacheSize", classifier.Config{CacheSize: -5}, "cacheSize -5"},
		{"modelDir missing", classifier.Config{ModelDir: "/does/not/exist"}, `modelDir "/does/not/exist"`},
		{"modelDir is a file", classifier.Config{ModelDir: file}, "not a directory"},
		{"several errors", classifier.Config{Backend: "x", CacheSize: -1}, "cacheSize -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "classifier config: ") {
				t.Errorf("error %q lacks the classifier config prefix", err)
			}
			if tt.want != "" {
				if _, lerr := Load(context.Background(), tt.cfg); lerr == nil {
					t.Error("Load accepted an invalid config")
				}
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
		cfg        classifier.Config
		wantLinear bool
		wantCache  bool
		wantErr    string
		wantLog    string
	}{
		{"linear embedded", classifier.Config{Backend: "linear"}, true, false, "", ""},
		{"linear embedded by name", classifier.Config{Backend: "linear", ModelDir: "embedded"}, true, false, "", ""},
		{"linear from a directory", classifier.Config{Backend: "linear", ModelDir: dir}, true, false, "", ""},
		{"cache", classifier.Config{Backend: "linear", CacheSize: 100}, false, true, "", ""},
		{"auto, directory with only a linear model", classifier.Config{ModelDir: dir}, true, false, "", ""},
		{"auto, ONNX fails, linear beside it", classifier.Config{ModelDir: both}, true, false, "", "using the linear backend"},
		{"auto, empty directory", classifier.Config{ModelDir: empty}, false, false, "linear failed", ""},
		{"linear, empty directory", classifier.Config{Backend: "linear", ModelDir: empty}, false, false, "read linear.json", ""},
		{"onnx, directory without an ONNX model", classifier.Config{Backend: "onnx", ModelDir: dir}, false, false, "onnx", ""},
	}
	if embeddedIsLinear {
		tests = append(tests, struct {
			name       string
			cfg        classifier.Config
			wantLinear bool
			wantCache  bool
			wantErr    string
			wantLog    string
		}{"auto embedded falls back to linear", classifier.Config{}, true, false, "", "using the linear backend"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, logged := logs()
			c, err := Load(ctx, tt.cfg)
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
