package tokenizer

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedDataDir is ../shared/data/domain seen from this package.
const sharedDataDir = "../../../../shared/data/domain"

func idsKey(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// TestSharedDataMatchesReference tokenizes every prompt of the project's
// data (17k real questions) with each test tokenizer and compares digests
// of the ids with those the Python tokenizers library produced
// (testdata/shared_data_ids.json).
func TestSharedDataMatchesReference(t *testing.T) {
	var refs map[string]map[string]struct {
		Rows   int      `json:"rows"`
		SHA256 string   `json:"sha256"`
		Rows16 []string `json:"row_sha256_16"`
	}
	data, err := os.ReadFile("testdata/shared_data_ids.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &refs); err != nil {
		t.Fatal(err)
	}
	if len(refs) != len(testTokenizerNames) {
		t.Fatalf("references for %d tokenizers, want %d", len(refs), len(testTokenizerNames))
	}
	for tname, ref := range refs {
		tk := loadTestTokenizer(t, tname)
		for _, name := range []string{"dev", "train"} {
			t.Run(tname+"/"+name, func(t *testing.T) {
				want, ok := ref[name]
				if !ok {
					t.Fatalf("no reference for %s", name)
				}
				path := filepath.Join(sharedDataDir, name+".jsonl")
				f, err := os.Open(path)
				if err != nil {
					t.Fatalf("the shared data folder is missing (%v): it is expected at ../shared/data beside the repository", err)
				}
				defer func() { _ = f.Close() }()
				total := sha256.New()
				sc := bufio.NewScanner(f)
				sc.Buffer(make([]byte, 1<<20), 1<<24)
				row := 0
				for ; sc.Scan(); row++ {
					var r struct{ Text string }
					if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
						t.Fatalf("%s:%d: %v", path, row+1, err)
					}
					key := idsKey(tk.Encode(r.Text).IDs)
					total.Write([]byte(key + "\n"))
					if row < len(want.Rows16) {
						sum := sha256.Sum256([]byte(key))
						if got := hex.EncodeToString(sum[:])[:16]; got != want.Rows16[row] {
							t.Errorf("%s:%d: ids differ from the Python tokenizer's for %q", path, row+1, r.Text)
						}
					}
				}
				if err := sc.Err(); err != nil {
					t.Fatal(err)
				}
				if row != want.Rows {
					t.Fatalf("%s has %d rows, the reference %d: regenerate testdata (make onnx-testdata)", path, row, want.Rows)
				}
				if got := hex.EncodeToString(total.Sum(nil)); got != want.SHA256 {
					t.Fatalf("%s: ids of some row differ from the Python tokenizer's (digest %s, want %s)", path, got, want.SHA256)
				}
			})
		}
	}
}

// TestRandomTextsMatchReference compares each tokenizer's ids of 1,500
// seeded random texts (testdata/random_ids.json, gen_fixtures.py), made of
// whitespace runs, ▁ marks, added-token literals and characters outside
// the alphabets among words, with digests of the Python library's ids.
func TestRandomTextsMatchReference(t *testing.T) {
	var ref struct {
		Texts  []string            `json:"texts"`
		Rows16 map[string][]string `json:"row_sha256_16"`
	}
	data, err := os.ReadFile("testdata/random_ids.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Rows16) != len(testTokenizerNames) || len(ref.Texts) < 1000 {
		t.Fatalf("%d tokenizers, %d texts: want %d and the generator's 1,500", len(ref.Rows16), len(ref.Texts), len(testTokenizerNames))
	}
	for tname, rows := range ref.Rows16 {
		tk := loadTestTokenizer(t, tname)
		bad := 0
		for i, text := range ref.Texts {
			sum := sha256.Sum256([]byte(idsKey(tk.Encode(text).IDs)))
			if hex.EncodeToString(sum[:])[:16] != rows[i] && bad < 5 {
				bad++
				t.Errorf("%s: text %d %q: ids differ from the Python tokenizer's", tname, i, text)
			}
		}
	}
}
