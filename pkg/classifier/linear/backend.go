package linear

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Type is the backend name of this package in classifier.Register.
const Type = classifier.BackendLinear

var _ classifier.Factory = Factory

// Params are the parameters of the linear backend.
type Params struct {
	// ModelDir is a directory holding linear.json, weights.bin and
	// category_mapping.json, or "embedded"/empty for the linear model
	// compiled into the binary.
	ModelDir string `json:"modelDir,omitempty"`
	// Device may only be "cpu" (or empty): accepted so that a configuration
	// switched from backend onnx keeps loading, refused when it asks for CUDA.
	Device string `json:"device,omitempty"`
	// Ensemble may only be false (or absent), for the same reason:
	// ensemble.json belongs to an ONNX model directory.
	Ensemble *bool `json:"ensemble,omitempty"`
}

// ApplyDefaults fills the fields whose zero value is not their default.
func (p *Params) ApplyDefaults() {
	if p.ModelDir == "" {
		p.ModelDir = classifier.EmbeddedModel
	}
}

// Validate reports every invalid field, naming it by its JSON key.
func (p Params) Validate() error {
	var errs []error
	switch p.Device {
	case "", "cpu":
	case "cuda":
		errs = append(errs, fmt.Errorf("device \"cuda\" needs backend %q (the linear backend runs on the CPU)", classifier.BackendONNX))
	default:
		errs = append(errs, fmt.Errorf("device %q: the linear backend runs on the CPU; want \"cpu\" or nothing", p.Device))
	}
	if p.Ensemble != nil && *p.Ensemble {
		errs = append(errs, fmt.Errorf("ensemble true needs backend %q or auto (ensemble.json belongs to an ONNX model directory)", classifier.BackendONNX))
	}
	errs = append(errs, classifier.CheckModelDir(p.ModelDir))
	return errors.Join(errs...)
}

// Factory builds the linear backend: the linear model of modelDir.
func Factory(_ context.Context, raw json.RawMessage, _ classifier.FactoryOptions) (classifier.Classifier, error) {
	var p Params
	if err := classifier.DecodeParameters(raw, &p); err != nil {
		return nil, err
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return LoadDir(p.ModelDir)
}

// LoadDir loads the linear model of modelDir: "embedded" (or empty) is the
// model compiled into the binary, anything else a directory on disk.
func LoadDir(modelDir string) (*Model, error) {
	var fsys fs.FS
	if modelDir == "" || modelDir == classifier.EmbeddedModel {
		modelDir = classifier.EmbeddedModel
		var err error
		if fsys, err = models.Linear(); err != nil {
			return nil, err
		}
	} else {
		fsys = os.DirFS(modelDir)
	}
	m, err := Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("modelDir %q: %w", modelDir, err)
	}
	return m, nil
}

// IsLinearOnly reports a directory that holds a linear model and no ONNX
// file: the auto backend and ensemble members load such a directory as
// linear directly.
func IsLinearOnly(fsys fs.FS) bool {
	if _, err := fs.Stat(fsys, MetadataFile); err != nil {
		return false
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.EqualFold(path.Ext(e.Name()), ".onnx") {
			return false
		}
	}
	return true
}
