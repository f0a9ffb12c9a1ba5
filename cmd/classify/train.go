package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := linear.DefaultTrainOptions()
	data := fs.String("data", "", "training JSONL with \"text\" and \"label\" (required)")
	dev := fs.String("dev", "", "development JSONL to report accuracy on (optional)")
	out := fs.String("out", "", "model directory to write (required)")
	labelsFlag := fs.String("labels", "", "label set: a category_mapping.json file or a comma-separated list; rows with other labels are left out (default: the labels found in --data, sorted)")
	epochs := fs.Int("epochs", def.Epochs, "passes over the data")
	lr := fs.Float64("lr", def.LearningRate, "AdaGrad learning rate")
	l2 := fs.Float64("l2", def.L2, "L2 weight decay")
	seed := fs.Uint64("seed", def.Seed, "shuffling seed")
	balance := fs.Bool("balance", def.BalanceClasses, "weigh labels inversely to their frequency")
	buckets := fs.Int("buckets-log2", def.Features.BucketsLog2, "log2 of the number of hashed feature buckets")
	wordN := fs.Int("word-ngrams", def.Features.WordNgrams, "1: word unigrams, 2: unigrams and bigrams")
	charN := fs.String("char-ngrams", fmt.Sprintf("%d-%d", def.Features.CharNgramMin, def.Features.CharNgramMax), "character n-gram range MIN-MAX inside words, or 0 for none")
	charW := fs.Float64("char-weight", float64(def.Features.CharWeight), "weight of a character n-gram against a word")
	sublinear := fs.Bool("sublinear-tf", def.Features.SublinearTF, "use ln(1+tf) instead of tf")
	head := fs.Int("head-words", def.Features.HeadWords, "words kept from the start of a long text")
	tail := fs.Int("tail-words", def.Features.TailWords, "words kept from the end of a long text")
	verbose := fs.Bool("v", false, "report dev accuracy after every epoch")
	hf := registerHeadFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" || (*out == "" && hf.cv == "") {
		return usageError("train: --data and --out are required")
	}
	opt := linear.TrainOptions{Epochs: *epochs, LearningRate: *lr, L2: *l2, Seed: *seed, BalanceClasses: *balance}
	opt.Features = linear.Features{
		BucketsLog2: *buckets, WordNgrams: *wordN, CharWeight: float32(*charW),
		SublinearTF: *sublinear, HeadWords: *head, TailWords: *tail,
	}
	if *charN != "0" {
		lo, hi, ok := strings.Cut(*charN, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil {
			return usageError(fmt.Sprintf("train: --char-ngrams %q: want MIN-MAX such as 3-5, or 0", *charN))
		}
		opt.Features.CharNgramMin, opt.Features.CharNgramMax = a, b
	}
	if err := opt.Validate(); err != nil {
		return usageError("train: " + err.Error())
	}

	var labels []string
	var known map[string]bool
	if *labelsFlag != "" {
		var err error
		if labels, err = readLabelSet(*labelsFlag); err != nil {
			return fmt.Errorf("--labels: %w", err)
		}
		known = map[string]bool{}
		for _, l := range labels {
			known[l] = true
		}
	}
	td, err := readLabeled(*data, known)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	td.report(stdout, "train "+*data)
	if len(td.Invalid) > 0 {
		return fmt.Errorf("--data %s: %d invalid lines (first: %s)", *data, len(td.Invalid), td.Invalid[0])
	}
	if labels == nil {
		set := map[string]bool{}
		for _, l := range td.Labels {
			if !set[l] {
				set[l] = true
				labels = append(labels, l)
			}
		}
		sort.Strings(labels)
		known = set
	}
	index := map[string]int{}
	for i, l := range labels {
		index[l] = i
	}
	examples := make([]linear.Example, len(td.Texts))
	for i := range td.Texts {
		examples[i] = linear.Example{Text: td.Texts[i], Label: index[td.Labels[i]]}
	}

	var dd *labeledData
	if *dev != "" {
		if dd, err = readLabeled(*dev, known); err != nil {
			return fmt.Errorf("--dev: %w", err)
		}
		dd.report(stdout, "dev "+*dev)
		if len(dd.Invalid) > 0 {
			return fmt.Errorf("--dev %s: %d invalid lines (first: %s)", *dev, len(dd.Invalid), dd.Invalid[0])
		}
	}
	evalDev := func(m *linear.Model) *confusion {
		c := newConfusion(labels)
		for i, t := range dd.Texts {
			r, _ := m.Classify(ctx, t)
			c.add(dd.Labels[i], r.Label)
		}
		return c
	}
	if *verbose {
		opt.OnEpoch = func(epoch int, loss float64, m *linear.Model) {
			fmt.Fprintf(stdout, "epoch %d: train loss %.4f", epoch, loss)
			if dd != nil {
				c := evalDev(m)
				fmt.Fprintf(stdout, ", dev accuracy %.4f, macro-F1 %.4f", c.accuracy(), c.macroF1())
			}
			fmt.Fprintln(stdout)
		}
	}

	lx, hopt, err := hf.options(len(labels))
	if err != nil {
		return err
	}
	if hf.cv != "" {
		hf.data = *data
		return runHeadCV(ctx, stdout, hf, labels, examples, opt, lx)
	}
	start := time.Now()
	var m *linear.Model
	if lx != nil {
		m, err = linear.TrainWithLexicon(ctx, labels, examples, opt, lx, hopt)
	} else {
		m, err = linear.Train(ctx, labels, examples, opt)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained on %d rows, %d labels in %s\n", len(examples), len(labels), time.Since(start).Round(time.Millisecond))

	info := &linear.TrainingInfo{
		Data: filepath.Base(*data), Rows: len(examples), Epochs: opt.Epochs, LearningRate: opt.LearningRate,
		L2: opt.L2, Seed: opt.Seed, BalanceClasses: opt.BalanceClasses,
	}
	if lx != nil {
		info.Head = &hopt
	}
	if info.DataSHA256, err = fileSHA256(*data); err != nil {
		return err
	}
	if dd != nil {
		c := evalDev(m)
		info.DevData, info.DevAccuracy, info.DevMacroF1 = filepath.Base(*dev), round4(c.accuracy()), round4(c.macroF1())
		fmt.Fprintf(stdout, "dev accuracy %.4f, macro-F1 %.4f (%d rows)\n", c.accuracy(), c.macroF1(), c.n)
	}
	if err := m.Save(*out, info); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// readLabelSet reads a category_mapping.json file, or splits a comma list.
func readLabelSet(v string) ([]string, error) {
	if st, err := os.Stat(v); err == nil && !st.IsDir() {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, err
		}
		return classifier.ParseCategoryMapping(b)
	}
	var labels []string
	seen := map[string]bool{}
	for _, l := range strings.Split(v, ",") {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			return nil, fmt.Errorf("label list %q has an empty or repeated label", v)
		}
		seen[l] = true
		labels = append(labels, l)
	}
	if len(labels) < 2 {
		return nil, errors.New("need at least 2 labels")
	}
	return labels, nil
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func round4(x float64) float64 { return float64(int(x*10000+0.5)) / 10000 }
