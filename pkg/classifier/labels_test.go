package classifier

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCategoryMappingRoundTrip(t *testing.T) {
	labels := []string{"b", "a", "computer science", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	var buf bytes.Buffer
	if err := WriteCategoryMapping(&buf, labels); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCategoryMapping(fstest.MapFS{CategoryMappingFile: {Data: buf.Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, labels) {
		t.Errorf("got %v, want %v", got, labels)
	}
}

func TestCategoryMappingErrors(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"not JSON", `{`, "invalid JSON"},
		{"empty", `{}`, "missing or empty"},
		{"count mismatch", `{"category_to_idx":{"a":0},"idx_to_category":{"0":"a","1":"b"}}`, "category_to_idx has 1 labels"},
		{"gap", `{"category_to_idx":{"a":0,"b":2},"idx_to_category":{"0":"a","2":"b"}}`, "no index 1"},
		{"disagree", `{"category_to_idx":{"a":1,"b":0},"idx_to_category":{"0":"a","1":"b"}}`, `category_to_idx["a"] = 1`},
		{"empty label", `{"category_to_idx":{"":0},"idx_to_category":{"0":""}}`, "label 0 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCategoryMapping([]byte(tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := ReadCategoryMapping(fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), CategoryMappingFile) {
		t.Errorf("missing file: error %v, want it to name %s", err, CategoryMappingFile)
	}
	if err := WriteCategoryMapping(&bytes.Buffer{}, []string{"a", "a"}); err == nil {
		t.Error("repeated label: no error")
	}
}

// TestCategoryMappingAsTheRouterWritesIt reads the bytes vLLM Semantic
// Router's training scripts write (Python's json.dump: no indent, ", " and
// ": " separators, non-ASCII escaped, indices as strings, labels sorted).
func TestCategoryMappingAsTheRouterWritesIt(t *testing.T) {
	const router = `{"category_to_idx": {"biology": 0, "computer science": 1, "other": 2, "\u00e9conomie": 3}, ` +
		`"idx_to_category": {"0": "biology", "1": "computer science", "2": "other", "3": "\u00e9conomie"}}`
	got, err := ParseCategoryMapping([]byte(router))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"biology", "computer science", "other", "économie"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
