// Package auto is the default classifier backend: the onnx backend when ONNX
// Runtime's library and the model load, else the linear model of the same
// modelDir, with the reason logged. Its parameters are the onnx backend's
// (onnx.Params); see docs/classifier.md.
package auto

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// Type is the backend name of this package in classifier.Register.
const Type = classifier.BackendAuto

var _ classifier.Factory = Factory

// Factory builds the auto backend. A modelDir holding a linear model and no
// *.onnx file loads linear directly. Otherwise the ONNX model is tried; if
// the runtime library or the model cannot be loaded, the linear model is
// used and the reason logged at info level (controller-runtime logger from
// ctx). A broken ensemble.json is an error, never a reason to fall back.
func Factory(ctx context.Context, raw json.RawMessage, opts classifier.FactoryOptions) (classifier.Classifier, error) {
	p, err := onnx.DecodeParams(raw)
	if err != nil {
		return nil, err
	}
	if !p.Embedded() && linear.IsLinearOnly(os.DirFS(p.ModelDir)) {
		return linear.LoadDir(p.ModelDir)
	}
	logger := log.FromContext(ctx)
	c, fsys, err := onnx.Open(ctx, p, opts)
	if err == nil {
		logger.Info("classifier: using the ONNX backend", "modelDir", p.ModelDirName())
		return onnx.WithEnsemble(ctx, p, fsys, c, opts)
	}
	lc, lerr := linear.LoadDir(p.ModelDir)
	if lerr != nil {
		return nil, fmt.Errorf("ONNX unavailable (%w) and linear failed: %w", err, lerr)
	}
	logger.Info("classifier: using the linear backend", "reason", err.Error(), "modelDir", p.ModelDirName())
	return lc, nil
}
