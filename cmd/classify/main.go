// Command classify runs, evaluates and trains the prompt classifier.
//
//	classify predict [--model DIR|embedded] [--backend onnx|linear] [--device cpu|cuda] [--no-ensemble]
//	classify eval    --data FILE.jsonl [model flags]
//	classify train   --data train.jsonl [--dev dev.jsonl] --out DIR [hyper-parameters]
//	classify lexicon --out FILE [--model DIR|embedded] (needs ONNX Runtime)
//
// predict reads JSONL with a "text" field on stdin and writes one JSONL line
// {"label": ..., "confidence": ...} per input line, in order. It stops at the
// first line it cannot read (blank, not JSON, no string "text"): the lines
// before it have been answered, the error names the line number on stderr and
// the exit status is 1. Usage errors exit with 2. See docs/classifier.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  classify predict [--model DIR|embedded] [--backend onnx|linear] [--device cpu|cuda] [--no-ensemble]
        JSONL {"text": ...} on stdin -> JSONL {"label": ..., "confidence": ...} on stdout
  classify eval --data FILE.jsonl [model flags]
        accuracy, macro-F1, per-label F1, top confusions, latency
  classify train --data train.jsonl [--dev dev.jsonl] --out DIR [hyper-parameters]
        train a linear model (classify train -h lists the hyper-parameters)
  classify lexicon --out FILE [--model DIR|embedded]
        score each whole word of the ONNX model's vocabulary with it (the linear model's lexicon)
`

// errUsage marks an error already explained to the user (flag parsing).
var errUsage = errors.New("usage")

type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func usageError(msg string) error { return usageErr{msg} }

// run is main without the process: tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "predict":
		err = runPredict(ctx, args[1:], stdin, stdout, stderr)
	case "eval":
		err = runEval(ctx, args[1:], stdout, stderr)
	case "train":
		err = runTrain(ctx, args[1:], stdout, stderr)
	case "lexicon":
		err = runLexicon(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "classify: unknown command %q\n%s", args[0], usage)
		return 2
	}
	var ue usageErr
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "classify %s\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "classify %s: %v\n", args[0], err)
		return 1
	}
}

var errHelp = errors.New("help requested")

// parseFlags parses args and maps -h to errHelp and a bad flag (already
// reported by the flag package) to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return errHelp
	case err != nil:
		return errUsage
	case fs.NArg() > 0:
		return usageError(fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)))
	}
	return nil
}
