package loader

import (
	"encoding/json"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// flat is a classifier configuration in the flat form that configurations
// written before backends had typed parameters use. config turns it into a
// classifier.Config through JSON, the way a YAML file reaches Load.
type flat struct {
	Backend             string `json:"backend,omitempty"`
	ModelDir            string `json:"modelDir,omitempty"`
	Device              string `json:"device,omitempty"`
	DeviceID            int    `json:"deviceID,omitempty"`
	GPUMemoryLimitBytes int64  `json:"gpuMemoryLimitBytes,omitempty"`
	CUDAFallback        string `json:"cudaFallback,omitempty"`
	LibraryPath         string `json:"libraryPath,omitempty"`
	IntraOpThreads      int    `json:"intraOpThreads,omitempty"`
	MaxBatchSize        int    `json:"maxBatchSize,omitempty"`
	MaxBatchWait        string `json:"maxBatchWait,omitempty"`
	CacheSize           int    `json:"cacheSize,omitempty"`
	Ensemble            *bool  `json:"ensemble,omitempty"`
}

func (f flat) config(t testing.TB) classifier.Config {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var c classifier.Config
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return c
}
