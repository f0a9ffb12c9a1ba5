package manifests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Instruction is one Dockerfile instruction with its continuation lines
// joined.
type Instruction struct {
	Line int    // first line, 1-based
	Cmd  string // upper case: FROM, RUN, COPY, ...
	Args string // the rest, trimmed
}

// Stage is a FROM section of a Dockerfile.
type Stage struct {
	Name         string // the AS name, or ""
	From         string
	Instructions []Instruction
}

// Dockerfile is a parsed Dockerfile: its global ARGs (before the first
// FROM) and its stages.
type Dockerfile struct {
	Path   string
	Args   map[string]string
	Stages []Stage
}

// ParseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines are dropped, backslash continuations joined. Heredocs and
// parser directives other than comments are not supported and give an error.
func ParseDockerfile(path string) (*Dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	df := &Dockerfile{Path: path, Args: map[string]string{}}
	var cur strings.Builder
	start := 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := Instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if strings.Contains(in.Args, "<<") {
			return fmt.Errorf("%s:%d: heredocs are not supported", path, in.Line)
		}
		switch {
		case in.Cmd == "FROM":
			fields := strings.Fields(in.Args)
			st := Stage{From: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.Name = fields[2]
			}
			df.Stages = append(df.Stages, st)
		case len(df.Stages) == 0 && in.Cmd == "ARG":
			k, v, _ := strings.Cut(in.Args, "=")
			df.Args[k] = v
		case len(df.Stages) == 0:
			return fmt.Errorf("%s:%d: %s before the first FROM", path, in.Line, in.Cmd)
		default:
			st := &df.Stages[len(df.Stages)-1]
			st.Instructions = append(st.Instructions, in)
		}
		return nil
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(body)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

// Stage returns the stage named name, or nil.
func (d *Dockerfile) Stage(name string) *Stage {
	for i := range d.Stages {
		if d.Stages[i].Name == name {
			return &d.Stages[i]
		}
	}
	return nil
}

// Final is the last stage: the image.
func (d *Dockerfile) Final() *Stage { return &d.Stages[len(d.Stages)-1] }

// Each returns the stage's instructions of one kind.
func (s *Stage) Each(cmd string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// Copy is a COPY instruction.
type Copy struct {
	From string   // --from stage, or "" for the build context
	Srcs []string // source paths
	Dst  string
}

// ParseCopy splits a COPY instruction's arguments (shell form only).
func ParseCopy(in Instruction) (Copy, error) {
	var c Copy
	fields := strings.Fields(in.Args)
	var paths []string
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "--from="); ok {
			c.From = v
			continue
		}
		if strings.HasPrefix(f, "--") {
			continue // --chown, --chmod, --link
		}
		paths = append(paths, f)
	}
	if len(paths) < 2 {
		return c, fmt.Errorf("line %d: COPY needs a source and a destination: %q", in.Line, in.Args)
	}
	c.Srcs, c.Dst = paths[:len(paths)-1], paths[len(paths)-1]
	return c, nil
}

// ExecForm decodes a JSON-array instruction argument (ENTRYPOINT, CMD).
func ExecForm(in Instruction) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(in.Args), &out); err != nil {
		return nil, fmt.Errorf("line %d: %s is not in exec (JSON array) form: %w", in.Line, in.Cmd, err)
	}
	return out, nil
}

// Dockerignore is a .dockerignore, matched with Docker's own rules
// (github.com/moby/patternmatcher: "**", negations, parent folders).
type Dockerignore struct {
	pm *patternmatcher.PatternMatcher
}

// ReadDockerignore reads a .dockerignore as Docker does.
func ReadDockerignore(path string) (*Dockerignore, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Dockerignore{pm: pm}, nil
}

// Excludes reports whether the context path p (slash-separated, relative)
// is left out of the build context.
func (d *Dockerignore) Excludes(p string) bool {
	ok, err := d.pm.MatchesOrParentMatches(p)
	return err == nil && ok
}
