package plugins

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
)

func TestRegisterAll(t *testing.T) {
	RegisterAll()
	for _, typ := range []string{
		"semantic-model-selector", "served-model-filter", "served-model-profile-handler",
		"by-label", "by-label-selector", "encode-filter", "decode-filter", "prefill-filter",
		"disagg-headers-handler", "prefill-header-handler",
		"models-data-source", "model-server-protocol-models", "keyword-signal",
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
}
