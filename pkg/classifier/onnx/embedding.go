//go:build cgo

package onnx

import (
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"
)

// checkOutputs checks the logits output and finds the embedding output:
// want when set (it must exist), else DefaultEmbeddingOutput if the model
// has it, else none ("").
func checkOutputs(outs []ort.InputOutputInfo, want string) (string, error) {
	byName := make(map[string]ort.InputOutputInfo, len(outs))
	var names []string
	for _, out := range outs {
		byName[out.Name] = out
		names = append(names, out.Name)
	}
	isMatrix := func(o ort.InputOutputInfo) bool {
		return o.OrtValueType == ort.ONNXTypeTensor && o.DataType == ort.TensorElementDataTypeFloat && len(o.Dimensions) == 2
	}
	lo, ok := byName[Logits]
	if !ok {
		return "", fmt.Errorf("%s has no output %q", ModelFile, Logits)
	}
	if !isMatrix(lo) {
		return "", fmt.Errorf("%s: output %q is %s, want a float tensor [batch, labels]", ModelFile, Logits, lo.String())
	}
	name := want
	if name == "" {
		name = DefaultEmbeddingOutput
	}
	eo, ok := byName[name]
	switch {
	case !ok && want == "":
		return "", nil
	case !ok:
		return "", fmt.Errorf("embeddingOutput %q: %s has no such output (outputs: %v)", want, ModelFile, names)
	case name == Logits:
		return "", fmt.Errorf("embeddingOutput %q: that is the logits output", want)
	case !isMatrix(eo):
		return "", fmt.Errorf("%s: embedding output %q is %s, want a float tensor [batch, dim]", ModelFile, name, eo.String())
	}
	return name, nil
}

// outputs are the session's outputs: the logits, then the embedding if any.
func (c *Classifier) outputs() []string {
	if c.embedding == "" {
		return []string{Logits}
	}
	return []string{Logits, c.embedding}
}

// EmbeddingDim is the length of the embeddings in results; 0 when the
// model has no embedding output.
func (c *Classifier) EmbeddingDim() int { return c.embDim }

// rows copies the first n rows of a float32 output [batch, width], one slice
// per row.
func rows(v ort.Value, name string, batch, n int) ([][]float32, error) {
	t, ok := v.(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("output %q is %T, want a float32 tensor", name, v)
	}
	s := t.GetShape()
	if len(s) != 2 || s[0] != int64(batch) || s[1] < 1 {
		return nil, fmt.Errorf("output %q has shape %v, want [%d, n]", name, s, batch)
	}
	flat, width := t.GetData(), int(s[1])
	out := make([][]float32, n)
	for i := range out {
		out[i] = append([]float32(nil), flat[i*width:(i+1)*width]...)
	}
	return out, nil
}

// normalize scales v to unit length in place and returns it; a zero vector
// stays zero (its cosine with anything is then 0).
func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return v
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return v
}
