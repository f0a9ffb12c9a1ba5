package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// headFlags are train's flags for the lexicon head (linear.HeadOptions).
type headFlags struct {
	lexicon, teacher  string
	gate, folds, crop int
	seen              int
	diagonal, offsets bool
	epochs            int
	lr, l2            float64
	// cv, when set, is a grid "gates/crops/l2s" (comma lists) to
	// cross-validate instead of training.
	cv string
	// cvSource, when set, scores only the rows whose "source" starts with it.
	cvSource string
	data     string
}

func registerHeadFlags(fs *flag.FlagSet) *headFlags {
	d := linear.DefaultHeadOptions()
	h := &headFlags{}
	fs.StringVar(&h.lexicon, "lexicon", "", "lexicon file (classify lexicon) for a short-text head; none: no head")
	fs.StringVar(&h.teacher, "lexicon-teacher", "", "where the lexicon's scores come from, recorded in linear.json")
	fs.IntVar(&h.gate, "head-gate", d.GateWords, "the head corrects texts of fewer words than this")
	fs.IntVar(&h.folds, "head-folds", d.Folds, "cross-fitting folds for the head's training logits")
	fs.IntVar(&h.crop, "head-crops", d.Crops, "random short crops of each training row for the head")
	fs.IntVar(&h.seen, "head-seen", d.SeenLimit, "the lexicon keeps the words of at most this many training rows (-1: all)")
	fs.BoolVar(&h.diagonal, "head-diagonal", d.Diagonal, "each label's logit reads only its own lexicon scores")
	fs.BoolVar(&h.offsets, "head-offsets", d.Offsets, "also learn the head's base scale and bias (they move short texts without lexicon words)")
	fs.IntVar(&h.epochs, "head-epochs", d.Epochs, "passes over the head's samples")
	fs.Float64Var(&h.lr, "head-lr", d.LearningRate, "head AdaGrad learning rate")
	fs.Float64Var(&h.l2, "head-l2", d.L2, "head L2 weight decay")
	fs.StringVar(&h.cv, "head-cv", "", "cross-validate head settings GATES/CROPS/L2S[/LRS] (comma lists, e.g. 8,16/1,2/1e-4) on --data and print them; writes no model")
	fs.StringVar(&h.cvSource, "head-cv-source", "", "--head-cv scores only the rows whose \"source\" field starts with this (e.g. mmlu-pro, the report set's source)")
	return h
}

// options loads the lexicon (nil without --lexicon) and the head options.
func (h *headFlags) options(numLabels int) (*linear.Lexicon, linear.HeadOptions, error) {
	o := linear.HeadOptions{GateWords: h.gate, Folds: h.folds, Crops: h.crop, SeenLimit: h.seen, Diagonal: h.diagonal, Offsets: h.offsets, Epochs: h.epochs, LearningRate: h.lr, L2: h.l2}
	if h.lexicon == "" {
		if h.cv != "" {
			return nil, o, usageError("train: --head-cv needs --lexicon")
		}
		return nil, o, nil
	}
	if err := o.Validate(); err != nil {
		return nil, o, usageError("train: " + err.Error())
	}
	lx, err := linear.LoadLexicon(os.DirFS(filepath.Dir(h.lexicon)), filepath.Base(h.lexicon), numLabels)
	if err != nil {
		return nil, o, fmt.Errorf("--lexicon: %w", err)
	}
	lx.Teacher = h.teacher
	return lx, o, nil
}

func splitList[T any](v string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(v, ",") {
		x, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// runHeadCV cross-validates the grid of --head-cv and prints a table.
func runHeadCV(ctx context.Context, stdout io.Writer, h *headFlags, labels []string, data []linear.Example, opt linear.TrainOptions, lx *linear.Lexicon) error {
	parts := strings.Split(h.cv, "/")
	if len(parts) == 3 {
		parts = append(parts, strconv.FormatFloat(h.lr, 'g', -1, 64))
	}
	if len(parts) != 4 {
		return usageError(fmt.Sprintf("train: --head-cv %q: want GATES/CROPS/L2S[/LRS]", h.cv))
	}
	lrs, err4 := splitList(parts[3], func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	gates, err1 := splitList(parts[0], strconv.Atoi)
	crops, err2 := splitList(parts[1], strconv.Atoi)
	l2s, err3 := splitList(parts[2], func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return usageError(fmt.Sprintf("train: --head-cv %q: want comma lists of integers/integers/numbers", h.cv))
	}
	var grid []linear.HeadOptions
	maxGate, maxCrops := 0, 0
	for _, g := range gates {
		for _, c := range crops {
			for _, l2 := range l2s {
				for _, lr := range lrs {
					grid = append(grid, linear.HeadOptions{GateWords: g, Folds: h.folds, Crops: c, SeenLimit: h.seen, Diagonal: h.diagonal, Offsets: h.offsets, Epochs: h.epochs, LearningRate: lr, L2: l2})
					maxGate, maxCrops = max(maxGate, g), max(maxCrops, c)
				}
			}
		}
	}
	var scored []bool
	if h.cvSource != "" {
		var err error
		if scored, err = rowsFromSource(h.data, data, h.cvSource); err != nil {
			return err
		}
	}
	rs, err := linear.CrossValidateHead(ctx, labels, data, scored, opt, lx, h.folds, maxCrops, maxGate, h.seen, grid)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "gate\tcrops\tl2\tlr\twhole rows")
	for _, n := range linear.HeadCVPrefixes {
		fmt.Fprintf(tw, "\tfirst %d", n)
	}
	fmt.Fprintln(tw)
	for i, r := range rs {
		if i == 0 {
			fmt.Fprint(tw, "none\t-\t-\t-")
		} else {
			fmt.Fprintf(tw, "%d\t%d\t%g\t%g", r.Options.GateWords, r.Options.Crops, r.Options.L2, r.Options.LearningRate)
		}
		fmt.Fprintf(tw, "\t%.4f", r.Full)
		for _, p := range r.Prefix {
			fmt.Fprintf(tw, "\t%.4f", p)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// rowsFromSource marks the rows of data whose line in path has a "source"
// starting with prefix.
func rowsFromSource(path string, data []linear.Example, prefix string) ([]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	from := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		var row struct{ Text, Source string }
		if json.Unmarshal([]byte(line), &row) == nil && strings.HasPrefix(row.Source, prefix) {
			from[row.Text] = true
		}
	}
	out := make([]bool, len(data))
	n := 0
	for i, e := range data {
		out[i] = from[e.Text]
		if out[i] {
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("--head-cv-source %q: no row of %s has that source", prefix, path)
	}
	return out, nil
}
