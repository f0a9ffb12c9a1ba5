package loader

import (
	"context"
	"errors"
	"io/fs"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// errONNXUnavailable is what this build answers for the ONNX backend.
var errONNXUnavailable = errors.New("ONNX backend not available in this build")

// loadONNX loads the ONNX backend from fsys. This placeholder is replaced by
// the ONNX backend's loader.
func loadONNX(_ context.Context, _ classifier.Config, _ fs.FS) (classifier.Classifier, error) {
	return nil, errONNXUnavailable
}
