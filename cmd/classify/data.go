package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// maxLine bounds one JSONL line (a prompt of several megabytes is allowed).
const maxLine = 64 << 20

// newLineScanner reads lines of up to maxLine bytes.
func newLineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return sc
}

// inputLine is one JSONL object; Text is a pointer to tell a missing "text"
// from an empty one.
type inputLine struct {
	Text  *string `json:"text"`
	Label *string `json:"label"`
}

// parseLine decodes one line; the error says what is wrong with it, without
// the line number (callers add it).
func parseLine(b []byte, needLabel bool) (inputLine, error) {
	var in inputLine
	if len(bytes.TrimSpace(b)) == 0 {
		return in, fmt.Errorf("empty line")
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return in, fmt.Errorf("invalid JSON: %w", err)
	}
	if in.Text == nil {
		return in, fmt.Errorf(`no "text" field (want a JSON object with a string "text")`)
	}
	if needLabel && (in.Label == nil || *in.Label == "") {
		return in, fmt.Errorf(`no "label" field`)
	}
	return in, nil
}

// labeledData is a labelled JSONL file after cleaning, with what was left out.
type labeledData struct {
	Texts, Labels []string
	Lines         int
	Empty         int            // blank lines
	Invalid       []string       // "line N: why" for lines that are not a labelled JSON object
	Duplicates    int            // repeats of an earlier (text, label) row
	Conflicts     int            // rows whose text appeared earlier with another label
	Unknown       map[string]int // rows with a label outside the given label set
}

// readLabeled reads a JSONL file of {"text","label"} rows. Blank lines,
// repeated rows, rows whose text was already seen with another label (the
// first one is kept) and, when known is non-nil, rows with a label outside
// known are left out and counted.
func readLabeled(path string, known map[string]bool) (*labeledData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	d := &labeledData{Unknown: map[string]int{}}
	seen := map[string]string{}
	sc := newLineScanner(f)
	for sc.Scan() {
		d.Lines++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			d.Empty++
			continue
		}
		in, err := parseLine(sc.Bytes(), true)
		if err != nil {
			d.Invalid = append(d.Invalid, fmt.Sprintf("line %d: %v", d.Lines, err))
			continue
		}
		text, label := *in.Text, *in.Label
		if known != nil && !known[label] {
			d.Unknown[label]++
			continue
		}
		if prev, ok := seen[text]; ok {
			if prev == label {
				d.Duplicates++
			} else {
				d.Conflicts++
			}
			continue
		}
		seen[text] = label
		d.Texts = append(d.Texts, text)
		d.Labels = append(d.Labels, label)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", path, d.Lines+1, err)
	}
	return d, nil
}

// report writes what was used and what was left out.
func (d *labeledData) report(w io.Writer, name string) {
	fmt.Fprintf(w, "%s: %d lines, %d rows used", name, d.Lines, len(d.Texts))
	var left []string
	if d.Empty > 0 {
		left = append(left, fmt.Sprintf("%d empty lines", d.Empty))
	}
	if len(d.Invalid) > 0 {
		left = append(left, fmt.Sprintf("%d invalid lines", len(d.Invalid)))
	}
	if d.Duplicates > 0 {
		left = append(left, fmt.Sprintf("%d duplicate rows", d.Duplicates))
	}
	if d.Conflicts > 0 {
		left = append(left, fmt.Sprintf("%d rows repeating a text with another label (first kept)", d.Conflicts))
	}
	if n := sumCounts(d.Unknown); n > 0 {
		left = append(left, fmt.Sprintf("%d rows with unknown labels (%s)", n, formatCounts(d.Unknown)))
	}
	if len(left) > 0 {
		fmt.Fprintf(w, "; left out: %s", strings.Join(left, ", "))
	}
	fmt.Fprintln(w)
	for i, s := range d.Invalid {
		if i == 5 {
			fmt.Fprintf(w, "  ... and %d more invalid lines\n", len(d.Invalid)-5)
			break
		}
		fmt.Fprintf(w, "  %s\n", s)
	}
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
