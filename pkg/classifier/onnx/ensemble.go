package onnx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/ensemble"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// EnsembleFile is the file that, in an ONNX model directory, combines that model with other
// model directories (docs/classifier.md). The shipped default uses it to join
// the ONNX model and the linear model.
const EnsembleFile = "ensemble.json"

// ensembleCombine is the only combination rule (informative in the file).
const ensembleCombine = "weighted mean of log-probabilities"

// exactAttentionKernel is the attention kernel of a refinement model.
const exactAttentionKernel = "efficient"

// selfMember names the ONNX model directory itself in ensemble.json.
const selfMember = "."

type ensembleSpec struct {
	Combine string           `json:"combine"`
	Members []ensembleMember `json:"members"`
	// Refine, when set, names a more exact ONNX model directory that stands
	// in for this model on the texts where the ensemble's two highest
	// probabilities are less than Margin apart (ensemble.Refinement). The GPU
	// graph's ensemble uses it: its fp16 numerics differ a little from the
	// CPU model's, which flips near-ties, and the exact graph (fp32,
	// activations quantized as on the CPU) runs in full fp32 (TF32 off).
	Refine *ensembleRefine `json:"refine,omitempty"`
}

type ensembleRefine struct {
	Model  string  `json:"model"`
	Margin float64 `json:"margin"`
}

type ensembleMember struct {
	Model  string  `json:"model"`
	Weight float64 `json:"weight"`
}

// errNoEnsemble says a directory has no ensemble.json.
var errNoEnsemble = errors.New("no " + EnsembleFile)

// readEnsemble returns the ensemble.json of fsys, or errNoEnsemble.
func readEnsemble(fsys fs.FS) (ensembleSpec, error) {
	data, err := fs.ReadFile(fsys, EnsembleFile)
	if errors.Is(err, fs.ErrNotExist) {
		return ensembleSpec{}, errNoEnsemble
	}
	if err != nil {
		return ensembleSpec{}, fmt.Errorf("%s: %w", EnsembleFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var spec ensembleSpec
	if err := dec.Decode(&spec); err != nil {
		return ensembleSpec{}, fmt.Errorf("%s: %w", EnsembleFile, err)
	}
	if spec.Combine != "" && spec.Combine != ensembleCombine {
		return ensembleSpec{}, fmt.Errorf("%s: combine %q: only %q is supported", EnsembleFile, spec.Combine, ensembleCombine)
	}
	if len(spec.Members) < 2 {
		return ensembleSpec{}, fmt.Errorf("%s: members: %d given, want at least 2", EnsembleFile, len(spec.Members))
	}
	self := 0
	for i, m := range spec.Members {
		if m.Model == "" {
			return ensembleSpec{}, fmt.Errorf("%s: members[%d].model: empty", EnsembleFile, i)
		}
		if m.Model == selfMember {
			self++
		}
		if !(m.Weight > 0) {
			return ensembleSpec{}, fmt.Errorf("%s: members[%d].weight: %v, want > 0", EnsembleFile, i, m.Weight)
		}
	}
	if self != 1 {
		return ensembleSpec{}, fmt.Errorf("%s: members: %d entries are %q (this model), want exactly 1", EnsembleFile, self, selfMember)
	}
	if r := spec.Refine; r != nil {
		if r.Model == "" || r.Model == selfMember {
			return ensembleSpec{}, fmt.Errorf("%s: refine.model: %q, want another model directory", EnsembleFile, r.Model)
		}
		if !(r.Margin > 0 && r.Margin < 1) {
			return ensembleSpec{}, fmt.Errorf("%s: refine.margin: %v, want one in (0, 1)", EnsembleFile, r.Margin)
		}
	}
	return spec, nil
}

// WithEnsemble returns c combined as fsys's ensemble.json says, or c itself
// when there is no such file or p.Ensemble is false. On error c is closed.
func WithEnsemble(ctx context.Context, p Params, fsys fs.FS, c classifier.Classifier, opts classifier.FactoryOptions) (classifier.Classifier, error) {
	if p.Ensemble != nil && !*p.Ensemble {
		return c, nil
	}
	// The ONNX model leads, wherever "." sits in the file: its label order
	// and device are the ensemble's. Its weight is set from the file below.
	members := []ensemble.Member{{Name: p.ModelDirName(), Classifier: c}}
	// fail closes what was loaded (c, members[0], once) and names the model
	// directory, since ensemble.json errors are relative to it.
	fail := func(err error) (classifier.Classifier, error) {
		for _, m := range members {
			_ = m.Classifier.Close()
		}
		return nil, fmt.Errorf("modelDir %q: %w", p.ModelDirName(), err)
	}
	spec, err := readEnsemble(fsys)
	if errors.Is(err, errNoEnsemble) {
		return c, nil
	}
	if err != nil {
		return fail(err)
	}
	for i, m := range spec.Members {
		if m.Model == selfMember {
			members[0].Weight = m.Weight
			continue
		}
		name, mfs, err := memberFS(p, m.Model)
		if err != nil {
			return fail(fmt.Errorf("%s: members[%d].model: %w", EnsembleFile, i, err))
		}
		mc, err := loadMember(ctx, p, mfs, opts)
		if err != nil {
			return fail(fmt.Errorf("%s: members[%d] (%s): %w", EnsembleFile, i, name, err))
		}
		members = append(members, ensemble.Member{Name: name, Classifier: mc, Weight: m.Weight})
	}
	e, err := ensemble.New(members)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", EnsembleFile, err))
	}
	var desc []string
	for _, m := range members {
		desc = append(desc, fmt.Sprintf("%s=%g", m.Name, m.Weight))
	}
	if r := spec.Refine; r != nil {
		name, rfs, err := refineFS(p, r.Model)
		if err != nil {
			return fail(fmt.Errorf("%s: refine.model: %w", EnsembleFile, err))
		}
		o := p.Options
		o.exactFP32 = true
		// cuDNN's attention has no fp32 kernel: the exact model takes the
		// memory-efficient one, which has.
		o.AttentionKernel = exactAttentionKernel
		rc, err := load(ctx, o, rfs, opts)
		if err != nil {
			return fail(fmt.Errorf("%s: refine (%s): %w", EnsembleFile, name, err))
		}
		if err := e.SetRefinement(ensemble.Refinement{Member: 0, Name: name, Classifier: rc, Margin: r.Margin}); err != nil {
			_ = rc.Close()
			return fail(fmt.Errorf("%s: %w", EnsembleFile, err))
		}
		desc = append(desc, fmt.Sprintf("refine=%s below margin %g", name, r.Margin))
	}
	log.FromContext(ctx).Info("classifier: using an ensemble", "modelDir", p.ModelDirName(), "members", desc)
	return e, nil
}

// memberFS resolves a member directory relative to the ONNX model directory:
// inside the embedded models for the embedded model, on disk otherwise.
func memberFS(p Params, rel string) (string, fs.FS, error) {
	if p.Embedded() {
		name := path.Join(models.ONNXDir, rel)
		if !fs.ValidPath(name) {
			return "", nil, fmt.Errorf("%q leaves the embedded models", rel)
		}
		fsys, err := models.Open(name)
		return classifier.EmbeddedModel + ":" + name, fsys, err
	}
	dir := filepath.Join(p.ModelDir, filepath.FromSlash(rel))
	st, err := os.Stat(dir)
	if err != nil {
		return "", nil, err
	}
	if !st.IsDir() {
		return "", nil, fmt.Errorf("%s: not a directory", dir)
	}
	return dir, os.DirFS(dir), nil
}

// refineFS resolves the refinement directory relative to the directory
// ensemble.json was read from: for the embedded model on CUDA, the GPU
// graph's directory on disk (the embedded files name no refinement).
func refineFS(p Params, rel string) (string, fs.FS, error) {
	if p.Embedded() && p.Device == DeviceCUDA {
		if dir, _ := resolveGPUModel(); dir != "" {
			return memberFS(Params{ModelDir: dir}, rel)
		}
	}
	return memberFS(p, rel)
}

// loadMember loads a member directory: linear when it holds a linear model
// and no ONNX file, else ONNX with p's settings. Members cannot be
// ensembles themselves.
func loadMember(ctx context.Context, p Params, fsys fs.FS, opts classifier.FactoryOptions) (classifier.Classifier, error) {
	if _, err := fs.Stat(fsys, EnsembleFile); err == nil {
		return nil, fmt.Errorf("a member cannot have its own %s", EnsembleFile)
	}
	if linear.IsLinearOnly(fsys) {
		return linear.Load(fsys)
	}
	return load(ctx, p.Options, fsys, opts)
}
