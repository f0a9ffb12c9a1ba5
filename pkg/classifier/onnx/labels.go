package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
)

// Label files the backend reads, in order of preference.
const (
	CategoryMappingFile = "category_mapping.json"
	LabelsFile          = "labels.json"
)

// readLabels reads the label set: vLLM Semantic Router's
// category_mapping.json ({"category_to_idx": {...}, "idx_to_category":
// {...}}) or a plain labels.json list.
func readLabels(fsys fs.FS) ([]string, error) {
	data, err := fs.ReadFile(fsys, CategoryMappingFile)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = fs.ReadFile(fsys, LabelsFile)
		if err != nil {
			return nil, fmt.Errorf("reading labels (%s or %s): %w", CategoryMappingFile, LabelsFile, err)
		}
		var labels []string
		if err := json.Unmarshal(data, &labels); err != nil {
			return nil, fmt.Errorf("%s: want a JSON list of strings: %w", LabelsFile, err)
		}
		return checkLabels(labels, LabelsFile)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", CategoryMappingFile, err)
	}
	var m struct {
		CategoryToIdx map[string]int    `json:"category_to_idx"`
		IdxToCategory map[string]string `json:"idx_to_category"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", CategoryMappingFile, err)
	}
	n := max(len(m.IdxToCategory), len(m.CategoryToIdx))
	if n == 0 {
		return nil, fmt.Errorf("%s: no categories", CategoryMappingFile)
	}
	labels := make([]string, n)
	for k, v := range m.IdxToCategory {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= n {
			return nil, fmt.Errorf("%s: idx_to_category key %q is not an index in [0, %d)", CategoryMappingFile, k, n)
		}
		labels[i] = v
	}
	for name, i := range m.CategoryToIdx {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("%s: category_to_idx[%q] = %d is not an index in [0, %d)", CategoryMappingFile, name, i, n)
		}
		if labels[i] == "" && len(m.IdxToCategory) == 0 {
			labels[i] = name
		} else if labels[i] != name {
			return nil, fmt.Errorf("%s: category_to_idx[%q] = %d but idx_to_category[%d] = %q", CategoryMappingFile, name, i, i, labels[i])
		}
	}
	return checkLabels(labels, CategoryMappingFile)
}

func checkLabels(labels []string, file string) ([]string, error) {
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s: no labels", file)
	}
	seen := map[string]bool{}
	for i, l := range labels {
		if l == "" {
			return nil, fmt.Errorf("%s: label %d is missing or empty", file, i)
		}
		if seen[l] {
			return nil, fmt.Errorf("%s: label %q appears twice", file, l)
		}
		seen[l] = true
	}
	return labels, nil
}
