// Package selection defines model selection: the stage of the request path
// that runs inside the semantic-model-selector parser, before the endpoint
// scheduler, for requests that ask for an "auto" model:
//
//	signals → decision (or category) → ranked candidate models
//	        → model filters → weighted model scorers → pick
//
// It mirrors the endpoint scheduler one level up (endpoints → filters →
// scorers → picker) and holds only the interfaces and the per-request state;
// the implementations are plugins under pkg/plugins (signal/, modelselection/)
// and the pipeline itself is run by pkg/plugins/semanticselector.
//
// Selection runs in the parser because GIE's director reads the body's model
// after the parser and labels the upstream request metrics with it: a model
// chosen there is the model those metrics report.
package selection

import (
	"context"
	"errors"
	"reflect"
	"time"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Request is the selection state of one request. The selector builds it once
// per auto request; signals, filters and scorers read it, so the prompt is
// extracted and each signal evaluated (the classifier run) at most once.
type Request struct {
	// RequestID is the request's x-request-id.
	RequestID string
	// Body is the parsed request body.
	Body *fwksched.LLMRequestBody
	// Headers are the request headers.
	Headers map[string]string
	// Text is the prompt text signals read (see the selector's README for
	// which part of the body it is); empty when the request has no text.
	Text string
	// Signals holds the result of every signal evaluated so far, by signal
	// plugin name.
	Signals map[string]SignalResult
	// Loads holds the load of each candidate model that a filter or scorer
	// read, by model, so the selector reports what the decision saw.
	Loads map[string]ModelLoad

	// classifications holds each classifier's result on Text (see Classify).
	classifications map[classifier.Classifier]Classification
}

// Classification is one classifier's outcome on a request's text.
type Classification struct {
	Result classifier.Result
	Err    error
	// Duration is how long the classifier took.
	Duration time.Duration
}

// Classify returns c's classification of r.Text, running c only the first
// time: signals that share a classifier (the domain and the similarity
// signal over the default classifier) read one result, so a request pays for
// one encoder pass. Errors are kept too. Signals are evaluated one after the
// other; Classify is not safe for concurrent use on one Request.
func (r *Request) Classify(ctx context.Context, c classifier.Classifier) Classification {
	if c == nil {
		return Classification{Err: errors.New("selection: no classifier")}
	}
	if cl, ok := r.Classification(c); ok {
		return cl
	}
	start := time.Now()
	res, err := c.Classify(ctx, r.Text)
	cl := Classification{Result: res, Err: err, Duration: time.Since(start)}
	// A classifier of a type that cannot be a map key (none of ours) is run
	// again by the next signal instead of panicking.
	if reflect.TypeOf(c).Comparable() {
		if r.classifications == nil {
			r.classifications = make(map[classifier.Classifier]Classification, 1)
		}
		r.classifications[c] = cl
	}
	return cl
}

// Classification returns c's classification of r.Text if a signal already
// ran it.
func (r *Request) Classification(c classifier.Classifier) (Classification, bool) {
	if r == nil || c == nil || r.classifications == nil || !reflect.TypeOf(c).Comparable() {
		return Classification{}, false
	}
	cl, ok := r.classifications[c]
	return cl, ok
}

// RecordLoad keeps the load a filter or scorer read for a model.
func (r *Request) RecordLoad(l ModelLoad) {
	if r == nil {
		return
	}
	if r.Loads == nil {
		r.Loads = make(map[string]ModelLoad, 2)
	}
	r.Loads[l.Model] = l
}

// Signal returns the result of the named signal and whether it was evaluated.
func (r *Request) Signal(name string) (SignalResult, bool) {
	if r == nil || r.Signals == nil {
		return SignalResult{}, false
	}
	res, ok := r.Signals[name]
	return res, ok
}

// SignalResult is what one signal says about a request.
type SignalResult struct {
	// Matches maps each name the signal matched (a domain label, a keyword
	// rule, a similarity route) to its score in [0, 1].
	Matches map[string]float32
	// Label and Confidence are the signal's top match, for signals that have
	// one (the domain classifier); empty otherwise.
	Label      string
	Confidence float32
	// Scores are the per-label probabilities of a classifier signal, aligned
	// with its labels; nil for other signals.
	Scores []float32
	// Truncated reports that only a window of a long prompt was evaluated.
	Truncated bool
	// Duration is how long the evaluation took.
	Duration time.Duration
}

// Matched reports whether the signal matched name.
func (r SignalResult) Matched(name string) bool {
	_, ok := r.Matches[name]
	return ok
}

// Signal evaluates one aspect of a request (its domain, keywords, similarity
// to example prompts). Implementations must be safe for concurrent use and
// honour the context's deadline.
type Signal interface {
	fwkplugin.Plugin
	// Evaluate evaluates the signal on req. An error means the signal could
	// not be evaluated (a classifier failure or timeout); the selector then
	// applies its failure policy.
	Evaluate(ctx context.Context, req *Request) (SignalResult, error)
}

// Candidate is one model a request may be sent to.
type Candidate struct {
	// Model is the model name written into the request body.
	Model string
	// Rank is the candidate's position in the decision's ranked list after
	// the first choice was drawn (0 = first choice).
	Rank int
	// Weight is the configured traffic share (0 when the list is unweighted).
	Weight float64
	// Reasoning, when set, turns the model family's reasoning switch on or off.
	Reasoning *bool
}

// ModelFilter removes candidates a request must not be sent to (for example
// models whose every endpoint is saturated). A filter that removes every
// candidate is overruled: the selector keeps the candidates it was given, so
// a filter never turns a request into an error.
type ModelFilter interface {
	fwkplugin.Plugin
	FilterModels(ctx context.Context, req *Request, candidates []Candidate) []Candidate
}

// ModelScorer scores candidates in [0, 1]; the selector sums the scores
// times each scorer's configured weight and picks the highest (ties go to
// the lower rank).
type ModelScorer interface {
	fwkplugin.Plugin
	// ScoreModels returns one score per candidate, in candidate order.
	ScoreModels(ctx context.Context, req *Request, candidates []Candidate) []float64
}

// ModelLoad is the load of the endpoints that serve one model, as the EPP's
// metrics scrape last saw it.
type ModelLoad struct {
	// Model is the model name.
	Model string
	// Endpoints is the number of endpoints that serve the model.
	Endpoints int
	// Saturated is the number of those endpoints that are saturated (over a
	// threshold, or with metrics older than the staleness threshold).
	Saturated int
	// WaitingRequests and RunningRequests are summed over the endpoints.
	WaitingRequests int
	RunningRequests int
	// KVCacheUtilization is the mean KV-cache utilisation, in [0, 1].
	KVCacheUtilization float64
}

// AllSaturated reports whether every endpoint serving the model is
// saturated; a model with no endpoint counts as saturated.
func (l ModelLoad) AllSaturated() bool { return l.Saturated >= l.Endpoints }

// Thresholds say when an endpoint is saturated.
type Thresholds struct {
	// QueueDepth is the waiting-queue length at or above which an endpoint
	// is saturated.
	QueueDepth int
	// KVCacheUtilization is the KV-cache utilisation (0..1) at or above
	// which an endpoint is saturated.
	KVCacheUtilization float64
	// MetricsStaleness is the age after which an endpoint's metrics are too
	// old to trust; such an endpoint counts as saturated.
	MetricsStaleness time.Duration
}

// LoadView reports the current load of each model.
type LoadView interface {
	// ModelLoad returns the load of the endpoints serving model, judged
	// saturated against th.
	ModelLoad(model string, th Thresholds) ModelLoad
}
