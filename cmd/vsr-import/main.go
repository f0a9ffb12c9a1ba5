// Command vsr-import converts a vLLM Semantic Router config (v0.3) into an
// EndpointPickerConfig for bin/epp: models, default model, reasoning
// families, signals (domain, keyword, embedding → similarity) and decisions
// with their models and system prompts. Everything it cannot translate is
// listed on stderr.
//
//	vsr-import [-o epp-config.yaml] router-config.yaml [fragment.yaml ...]
//
// Several files are merged first (mappings key by key, lists concatenated),
// so the router's signal and decision fragments can be converted together.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vsr-import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outPath := fs.String("o", "", "write the EndpointPickerConfig to this file (default stdout)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vsr-import [-o epp-config.yaml] router-config.yaml [fragment.yaml ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var srcs [][]byte
	for _, path := range fs.Args() {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "vsr-import: %v\n", err)
			return 1
		}
		srcs = append(srcs, src)
	}
	src, err := Merge(srcs...)
	if err != nil {
		fmt.Fprintf(stderr, "vsr-import: %v\n", err)
		return 1
	}
	out, report, err := Convert(src)
	if err != nil {
		fmt.Fprintf(stderr, "vsr-import: %s: %v\n", strings.Join(fs.Args(), " + "), err)
		return 1
	}
	for _, l := range report.Lines {
		fmt.Fprintf(stderr, "vsr-import: %s\n", l)
	}
	if *outPath == "" {
		_, err = stdout.Write(out)
	} else {
		err = os.WriteFile(*outPath, out, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vsr-import: %v\n", err)
		return 1
	}
	return 0
}
