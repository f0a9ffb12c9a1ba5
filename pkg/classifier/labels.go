package classifier

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strconv"
)

// CategoryMappingFile is the label file every model directory carries, in
// vLLM Semantic Router's format:
//
//	{"category_to_idx": {"biology": 0, ...}, "idx_to_category": {"0": "biology", ...}}
const CategoryMappingFile = "category_mapping.json"

type categoryMapping struct {
	CategoryToIdx map[string]int    `json:"category_to_idx"`
	IdxToCategory map[string]string `json:"idx_to_category"`
}

// ReadCategoryMapping reads CategoryMappingFile from fsys and returns the
// labels in index order. Both maps must be present, agree with each other and
// number the labels 0..n-1 without gaps.
func ReadCategoryMapping(fsys fs.FS) ([]string, error) {
	b, err := fs.ReadFile(fsys, CategoryMappingFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", CategoryMappingFile, err)
	}
	return ParseCategoryMapping(b)
}

// ParseCategoryMapping parses the content of a CategoryMappingFile; see
// ReadCategoryMapping.
func ParseCategoryMapping(b []byte) ([]string, error) {
	var m categoryMapping
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", CategoryMappingFile, err)
	}
	n := len(m.IdxToCategory)
	if n == 0 {
		return nil, fmt.Errorf("%s: idx_to_category is missing or empty", CategoryMappingFile)
	}
	if len(m.CategoryToIdx) != n {
		return nil, fmt.Errorf("%s: category_to_idx has %d labels, idx_to_category %d", CategoryMappingFile, len(m.CategoryToIdx), n)
	}
	labels := make([]string, n)
	for i := range labels {
		name, ok := m.IdxToCategory[strconv.Itoa(i)]
		if !ok {
			return nil, fmt.Errorf("%s: idx_to_category has no index %d (indices must be 0..%d)", CategoryMappingFile, i, n-1)
		}
		if name == "" {
			return nil, fmt.Errorf("%s: label %d is empty", CategoryMappingFile, i)
		}
		if j, ok := m.CategoryToIdx[name]; !ok || j != i {
			return nil, fmt.Errorf("%s: idx_to_category[%d] = %q but category_to_idx[%q] = %d", CategoryMappingFile, i, name, name, j)
		}
		labels[i] = name
	}
	return labels, nil
}

// WriteCategoryMapping writes labels, in index order, as CategoryMappingFile
// content.
func WriteCategoryMapping(w io.Writer, labels []string) error {
	m := categoryMapping{CategoryToIdx: map[string]int{}, IdxToCategory: map[string]string{}}
	for i, l := range labels {
		if _, dup := m.CategoryToIdx[l]; dup || l == "" {
			return fmt.Errorf("label %d (%q) is empty or repeated", i, l)
		}
		m.CategoryToIdx[l] = i
		m.IdxToCategory[strconv.Itoa(i)] = l
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
