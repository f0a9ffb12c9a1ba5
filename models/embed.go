// Package models holds the models the project ships, compiled into the
// binaries with go:embed so that the EPP and the classify CLI work with no
// model files on disk. See README.md in this folder.
package models

import (
	"embed"
	"fmt"
	"io/fs"
)

// Model directories under this folder.
const (
	// LinearDir is the pure-Go linear model (pkg/classifier/linear),
	// rebuilt by `make linear-model`.
	LinearDir = "domain-linear"
	// ONNXDir is the ONNX model (pkg/classifier/onnx): a 3-layer student of
	// all-MiniLM-L6-v2 fine-tuned on the domain data, int8, rebuilt by `make
	// model FORCE=1` (docs/model-card.md). Its ensemble.json combines it with
	// LinearDir: together they are the default classifier.
	ONNXDir = "domain-minilm"
)

// files holds every embedded model directory. To ship another model, commit
// its folder here and add it to the directive, e.g.
//
//	//go:embed domain-linear domain-minilm another-model
//
//go:embed domain-linear domain-minilm
var files embed.FS

// Linear returns the shipped linear model directory.
func Linear() (fs.FS, error) { return Open(LinearDir) }

// ONNX returns the shipped ONNX model directory, or an error when this build
// embeds none.
func ONNX() (fs.FS, error) { return Open(ONNXDir) }

// Open returns the embedded model directory dir, or an error naming it when
// this build does not embed it.
func Open(dir string) (fs.FS, error) {
	if st, err := fs.Stat(files, dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("models: %q is not embedded in this build", dir)
	}
	return fs.Sub(files, dir)
}
