package cudagraph

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const ortGoModule = "github.com/yalue/onnxruntime_go"

// TestAPIIndices checks the OrtApi table positions the C side calls against
// struct OrtApi in the C API header that onnxruntime_go (the module that
// loads the library) carries: a wrong position would call another function.
func TestAPIIndices(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", ortGoModule).Output()
	if err != nil {
		t.Fatalf("locating %s in the module cache: %v", ortGoModule, err)
	}
	header, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "onnxruntime_c_api.h"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`#define ORT_API_VERSION (\d+)`).FindSubmatch(header); m == nil || string(m[1]) != "24" {
		t.Fatalf("the header's ORT_API_VERSION is %q; APIVersion is %d", m, APIVersion)
	}
	table, err := ortAPITable(string(header))
	if err != nil {
		t.Fatal(err)
	}
	used := apiIndices()
	if len(used) == 0 {
		t.Fatal("no functions listed")
	}
	for name, i := range used {
		if i >= len(table) || table[i] != name {
			got := "past the end"
			if i < len(table) {
				got = table[i]
			}
			t.Errorf("%s is at position %d in the C side; the header has %s there", name, i, got)
		}
	}
}

// ortAPITable returns the function names of struct OrtApi in declaration
// order.
func ortAPITable(header string) ([]string, error) {
	start := strings.Index(header, "struct OrtApi {")
	if start < 0 {
		return nil, errNoTable
	}
	body := header[start+len("struct OrtApi {"):]
	depth := 1
	for i, r := range body {
		if r == '{' {
			depth++
		} else if r == '}' {
			if depth--; depth == 0 {
				body = body[:i]
				break
			}
		}
	}
	body = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(body, "")
	body = regexp.MustCompile(`//[^\n]*`).ReplaceAllString(body, "")
	patterns := []struct {
		re     *regexp.Regexp
		prefix string
	}{
		{regexp.MustCompile(`^ORT_API2_STATUS\(\s*(\w+)`), ""},
		{regexp.MustCompile(`^ORT_CLASS_RELEASE2?\(\s*(\w+)\s*\)`), "Release"},
		{regexp.MustCompile(`^ORT_API_T\([^,]+,\s*(\w+)`), ""},
		{regexp.MustCompile(`\(\s*(?:ORT_API_CALL\s*)?\*\s*(\w+)\s*\)`), ""},
	}
	var names []string
	paren := 0
	var decl strings.Builder
	for _, r := range body {
		decl.WriteRune(r)
		switch r {
		case '(':
			paren++
		case ')':
			paren--
		case ';':
			if paren != 0 {
				continue
			}
			d := strings.Join(strings.Fields(decl.String()), " ")
			decl.Reset()
			found := false
			for _, p := range patterns {
				if m := p.re.FindStringSubmatch(d); m != nil {
					names = append(names, p.prefix+m[1])
					found = true
					break
				}
			}
			if !found {
				return nil, &unparsed{d}
			}
		}
	}
	return names, nil
}

var errNoTable = &unparsed{"struct OrtApi not found"}

type unparsed struct{ decl string }

func (u *unparsed) Error() string { return "unparsed OrtApi member: " + u.decl }
