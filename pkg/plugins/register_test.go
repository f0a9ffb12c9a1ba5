package plugins

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
)

func TestRegisterAll(t *testing.T) {
	RegisterAll()
	for _, typ := range []string{
		"classifier", "semantic-model-selector", "served-model-filter", "served-model-profile-handler",
		"by-label", "by-label-selector", "encode-filter", "decode-filter", "prefill-filter",
		"disagg-headers-handler", "prefill-header-handler",
		"models-data-source", "model-server-protocol-models", "keyword-signal", "domain-signal", "similarity-signal",
	} {
		if _, ok := plugin.Registry[typ]; !ok {
			t.Errorf("plugin type %q not registered", typ)
		}
	}
}

func TestCollectorsRegisterCleanly(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	cs := Collectors()
	if len(cs) == 0 {
		t.Fatal("no collectors")
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Errorf("registering %T: %v", c, err)
		}
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("gather: %v", err)
	}
	// The classifier metrics keep their names wherever they are declared.
	ch := make(chan *prometheus.Desc, 256)
	for _, c := range cs {
		c.Describe(ch)
	}
	close(ch)
	var descs []string
	for d := range ch {
		descs = append(descs, d.String())
	}
	all := strings.Join(descs, "\n")
	for _, name := range []string{
		"semantic_epp_classifier_onnx_inference_duration_seconds", "semantic_epp_classifier_onnx_truncated_inputs_total",
		"semantic_epp_classifier_onnx_cuda_fallbacks_total", "semantic_epp_classifier_batch_size_texts",
		"semantic_epp_classifier_batch_queue_wait_seconds", "semantic_epp_classifier_cache_hits_total",
		"semantic_epp_classifier_cache_misses_total",
	} {
		if !strings.Contains(all, `fqName: "`+name+`"`) {
			t.Errorf("metric %s is not among the collectors", name)
		}
	}
}
