//go:build !cgo

package onnx

import (
	"context"
	"errors"
	"io/fs"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// ErrNoCgo is returned by every entry point of a binary built with
// CGO_ENABLED=0: ONNX Runtime is reached through cgo.
var ErrNoCgo = errors.New("ONNX backend unavailable: this binary was built without cgo (CGO_ENABLED=0)")

// Classifier is not available without cgo.
type Classifier struct{ classifier.Classifier }

// Available reports that ONNX Runtime cannot be used.
func Available(string, string) error { return ErrNoCgo }

// Load fails: ONNX Runtime needs cgo.
func Load(context.Context, Options, fs.FS) (*Classifier, error) { return nil, ErrNoCgo }

// Device is empty: nothing runs without cgo.
func (*Classifier) Device() string { return "" }
