// Command epp is the semantic-epp Endpoint Picker: the upstream Gateway API
// Inference Extension EPP (same flags, ports, health checks and metrics) with
// semantic model selection and the llm-d plugins registered.
package main

import (
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/gateway-api-inference-extension/cmd/epp/runner"

	"github.com/semantic-epp/semantic-epp/pkg/plugins"
)

func main() {
	plugins.RegisterAll()
	r := runner.NewRunner().
		WithExecutableName("semantic-epp").
		WithCustomCollectors(plugins.Collectors()...)
	if err := r.Run(ctrl.SetupSignalHandler()); err != nil {
		os.Exit(1)
	}
}
