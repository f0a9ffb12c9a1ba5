package onnx

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Type is the backend name of this package in classifier.Register.
const Type = classifier.BackendONNX

var _ classifier.Factory = Factory

// DecodeParams decodes the backend's raw parameters strictly, applies the
// defaults and validates them.
func DecodeParams(raw json.RawMessage) (Params, error) {
	var p Params
	if err := classifier.DecodeParameters(raw, &p); err != nil {
		return Params{}, err
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// Factory builds the onnx backend: the ONNX model of modelDir, or an error;
// when the directory has an ensemble.json (the embedded default does), the
// model combined with the members it names, unless ensemble is false.
func Factory(ctx context.Context, raw json.RawMessage, opts classifier.FactoryOptions) (classifier.Classifier, error) {
	p, err := DecodeParams(raw)
	if err != nil {
		return nil, err
	}
	c, fsys, err := Open(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	return WithEnsemble(ctx, p, fsys, c, opts)
}

// Open loads the ONNX model of p.ModelDir alone (no ensemble), batched as
// opts says, and returns it with the directory it was read from.
func Open(ctx context.Context, p Params, opts classifier.FactoryOptions) (classifier.Classifier, fs.FS, error) {
	fsys, err := modelFS(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	c, err := load(ctx, p.Options, fsys, opts)
	if err != nil {
		return nil, nil, err
	}
	return c, fsys, nil
}

// load loads one ONNX model and wraps it with micro-batching: an ONNX
// Runtime run of a batch costs much less than its texts one by one.
func load(ctx context.Context, o Options, fsys fs.FS, opts classifier.FactoryOptions) (classifier.Classifier, error) {
	c, err := Load(ctx, o, fsys)
	if err != nil {
		return nil, err
	}
	return opts.WithBatching(c, BatchWorkers(c.Device(), o.IntraOpThreads, runtime.NumCPU())), nil
}

// modelFS returns the model directory p names: the embedded ONNX model (on
// CUDA its GPU graph, see embeddedONNX) or a directory on disk.
func modelFS(ctx context.Context, p Params) (fs.FS, error) {
	if p.Embedded() {
		fsys, err := embeddedONNX(ctx, p.Options)
		if err != nil {
			return nil, fmt.Errorf("modelDir %q: %w", classifier.EmbeddedModel, err)
		}
		return fsys, nil
	}
	return os.DirFS(p.ModelDir), nil
}

// ModelDirName is the modelDir as logs and errors name it.
func (p Params) ModelDirName() string {
	if p.Embedded() {
		return classifier.EmbeddedModel
	}
	return p.ModelDir
}
