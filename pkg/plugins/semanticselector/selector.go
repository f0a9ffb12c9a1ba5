// Package semanticselector implements the semantic-model-selector plugin: an
// EndpointPickerConfig parser that wraps the upstream OpenAI parser and, for
// requests that name an "auto" model, classifies the prompt and rewrites the
// body's model to the model configured for the predicted category. The
// director then schedules for that model. See README.md for the parameters,
// headers and metrics.
package semanticselector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"sigs.k8s.io/controller-runtime/pkg/log"
	logutil "sigs.k8s.io/gateway-api-inference-extension/pkg/common/observability/logging"
	reqcommon "sigs.k8s.io/gateway-api-inference-extension/pkg/common/request"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwkrc "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/requestcontrol"
	fwkrh "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/requesthandling"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requesthandling/parsers/openai"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	classifierplugin "github.com/semantic-epp/semantic-epp/pkg/plugins/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/endpointtracker"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
	"github.com/semantic-epp/semantic-epp/pkg/selection/systemprompt"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "semantic-model-selector"

// Request headers the selector adds for auto requests. Envoy receives them
// as header mutations, so an HTTPRoute can match on HeaderSelectedModel.
const (
	HeaderSelectedModel = "x-selected-model"
	HeaderCategory      = "x-semantic-category"
	HeaderConfidence    = "x-semantic-confidence"
)

var (
	_ fwkrh.Parser          = &Selector{}
	_ fwkrc.AdmissionPlugin = &Selector{}
	_ fwkrc.ResponseHeader  = &Selector{}
)

// LoadFunc loads a classifier from its configuration (loader.Load in the binary).
type LoadFunc func(ctx context.Context, cfg classifier.Config) (classifier.Classifier, error)

// HeaderDecision names the decision that chose the model ("none" otherwise).
const HeaderDecision = "x-selected-decision"

// HeaderSelectionReason says why the model was chosen (see Select* constants).
const HeaderSelectionReason = "x-selection-reason"

// noLabel is the category header's value when no classifier label applies.
// Headers are overwritten rather than deleted because the EPP can only send
// header set mutations: a deleted key would leave the client's value in place.
const noLabel = "none"

// rejectionKey is the PluginState key of a fail-closed rejection.
const rejectionKey fwkplugin.StateKey = "semantic-epp/semantic-model-selector/rejection"

// rejection is kept from ParseRequest to AdmitRequest. body identifies the
// request: two requests that share an x-request-id cannot take each other's
// rejection.
type rejection struct {
	body *fwksched.LLMRequestBody
	err  error
}

func (r *rejection) Clone() fwkplugin.StateData { c := *r; return &c }

// Selector is the semantic-model-selector plugin.
type Selector struct {
	typedName fwkplugin.TypedName
	inner     *openai.OpenAIParser
	params    *Parameters
	clf       classifier.Classifier
	models    map[string]Model
	routes    map[string]Category
	pipeline  pipeline
	signals   []selection.Signal       // evaluated for decisions, in config order
	decisions *decision.Set            // nil without decisions
	tracker   *endpointtracker.Tracker // optional: rejects unknown explicit models
	state     *fwkplugin.PluginState
	random    func() float64
}

// NewFactory returns the plugin factory; load loads the configured classifier.
func NewFactory(load LoadFunc) fwkplugin.FactoryFunc {
	return func(name string, raw json.RawMessage, h fwkplugin.Handle) (fwkplugin.Plugin, error) {
		params, err := DecodeParameters(raw)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", Type, name, err)
		}
		ctx := context.Background()
		if h != nil && h.Context() != nil {
			ctx = h.Context()
		}
		pl, err := resolvePipeline(h, params.Selection)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", Type, name, err)
		}
		signals, set, err := resolveDecisions(h, params)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", Type, name, err)
		}
		var clf classifier.Classifier
		owned := false
		if params.needsClassifier() {
			if clf, owned, err = selectorClassifier(ctx, h, load, params); err != nil {
				return nil, fmt.Errorf("%s %q: %w", Type, name, err)
			}
		}
		s, err := newSelector(ctx, name, params, clf, pl)
		if err == nil {
			s.tracker = findTracker(h)
			s.signals, s.decisions = signals, set
		}
		if err != nil {
			if owned {
				_ = clf.Close()
			}
			return nil, fmt.Errorf("%s %q: %w", Type, name, err)
		}
		log.FromContext(ctx).Info("Semantic model selector ready", "plugin", name, "labels", labelsOf(clf),
			"signals", params.Signals, "decisions", len(params.Decisions),
			"categories", len(params.Categories), "defaultModel", params.DefaultModel,
			"autoModelNames", params.AutoModelNames, "failurePolicy", params.FailurePolicy,
			"classifierTimeout", params.ClassifierTimeout.String(),
			"modelFilters", len(pl.filters), "modelScorers", len(pl.scorers))
		if owned && ctx.Done() != nil {
			go func() {
				<-ctx.Done()
				_ = clf.Close()
			}()
		}
		return s, nil
	}
}

// findTracker returns the config's endpoint-tracker, if it declares one.
func findTracker(h fwkplugin.Handle) *endpointtracker.Tracker {
	if h == nil {
		return nil
	}
	for _, p := range h.GetAllPlugins() {
		if t, ok := p.(*endpointtracker.Tracker); ok {
			return t
		}
	}
	return nil
}

// selectorClassifier returns the shared classifier classifierRef names (not
// owned: its plugin closes it) or loads the selector's own.
func selectorClassifier(ctx context.Context, h fwkplugin.Handle, load LoadFunc, params *Parameters) (classifier.Classifier, bool, error) {
	if params.ClassifierRef != "" {
		c, err := classifierplugin.Lookup(h, params.ClassifierRef)
		if err != nil {
			return nil, false, fmt.Errorf("classifierRef: %w", err)
		}
		return c, false, nil
	}
	c, err := load(ctx, params.Classifier)
	if err != nil {
		return nil, false, fmt.Errorf("classifier: %w", err)
	}
	return c, true, nil
}

// New builds a selector from validated parameters and a loaded classifier,
// with the default selection stage (the category's order and weights); it
// checks that every category is a label of the classifier.
func New(name string, params *Parameters, clf classifier.Classifier) (*Selector, error) {
	return newSelector(context.Background(), name, params, clf, defaultPipeline())
}

func newSelector(ctx context.Context, name string, params *Parameters, clf classifier.Classifier, pl pipeline) (*Selector, error) {
	if params == nil || (clf == nil && params.needsClassifier()) {
		return nil, errors.New("parameters and classifier are required")
	}
	if err := params.ValidateLabels(labelsOf(clf)); err != nil {
		return nil, err
	}
	s := &Selector{
		typedName: fwkplugin.TypedName{Type: Type, Name: name},
		inner:     openai.NewOpenAIParser(),
		params:    params,
		clf:       clf,
		models:    make(map[string]Model, len(params.Models)),
		routes:    make(map[string]Category, len(params.Categories)),
		pipeline:  pl,
		state:     fwkplugin.NewPluginState(ctx),
		random:    rand.Float64,
	}
	for _, m := range params.Models {
		s.models[m.Name] = m
	}
	for _, c := range params.Categories {
		s.routes[c.Name] = c
	}
	return s, nil
}

// TypedName returns the plugin's type and name.
func (s *Selector) TypedName() fwkplugin.TypedName { return s.typedName }

// choice is the outcome of model selection for one request.
type choice struct {
	model      string
	label      string // classifier label; empty when not classified
	confidence float32
	category   bool   // a category applied (its first choice or a fallback)
	reason     string // selection reason (Select*, or default_<fallback reason>)
	fallback   string // fallback reason when no category applied
	firstModel string // the category's first choice
	reasoning  *bool
	failure    error                  // classifier failure (for fail-closed)
	decision   string                 // the decision that matched, if any
	prompt     *decision.SystemPrompt // its system prompt, if any
	req        *selection.Request
}

// ParseRequest parses the body with the upstream OpenAI parser and, when the
// model is one of autoModelNames, chooses the model and rewrites the payload.
// Any other model passes through untouched. Either way the decision headers
// are overwritten, so a client cannot send its own.
func (s *Selector) ParseRequest(ctx context.Context, body []byte, headers map[string]string) (*fwksched.LLMRequestBody, error) {
	parsed, err := s.inner.ParseRequest(ctx, body, headers)
	if err != nil {
		return nil, err
	}
	payload, ok := parsed.Payload.(fwksched.PayloadMap)
	if !ok {
		return parsed, nil
	}
	model, ok := payload["model"].(string)
	if !ok {
		return parsed, nil
	}
	if !isAuto(s.params.AutoModelNames, model) {
		// The model is echoed in x-selected-model; a value Envoy would
		// refuse as a header would fail the whole ext_proc response.
		if !httpguts.ValidHeaderFieldValue(model) {
			return nil, fmt.Errorf("invalid model %q: control characters are not allowed in a model name", model)
		}
		if err := s.checkModelExists(model); err != nil {
			unknownModels.Inc()
			return nil, err
		}
		setDecisionHeaders(headers, model, SelectExplicit, "", 0)
		return parsed, nil
	}
	logger := log.FromContext(ctx)
	d := s.decide(ctx, parsed, headers)
	if d.failure != nil && s.params.FailurePolicy == FailClosed {
		rejections.WithLabelValues(d.fallback).Inc()
		id := headers[reqcommon.RequestIdHeaderKey]
		logger.Error(d.failure, "Classifier failed and failurePolicy is closed; rejecting request", "reason", d.fallback)
		if id == "" {
			return nil, fmt.Errorf("%s: classifier failed (%s) and failurePolicy is closed: %w", Type, d.fallback, d.failure)
		}
		// The director maps parser errors to 400; the rejection is raised
		// by AdmitRequest instead, which the director turns into a 5xx.
		s.state.Write(id, rejectionKey, &rejection{body: parsed,
			err: fmt.Errorf("classifier failed (%s) and failurePolicy is closed: %w", d.fallback, d.failure)})
		return parsed, nil
	}
	if d.failure != nil {
		logger.Error(d.failure, "Classifier failed; routing to defaultModel (fail-open)", "reason", d.fallback, "model", d.model)
	}
	if d.fallback != "" {
		fallbacks.WithLabelValues(d.fallback).Inc()
	}
	recordDecision(d)
	payload["model"] = d.model
	if d.reasoning != nil {
		fam := s.params.ReasoningFamilies[s.models[d.model].ReasoningFamily]
		if err := applyReasoning(parsed, payload, fam, *d.reasoning); err != nil {
			logger.Error(err, "Reasoning switch not applied", "model", d.model)
		}
	}
	if d.prompt != nil {
		if err := systemprompt.Apply(parsed, d.prompt.Text, d.prompt.Mode); err != nil {
			logger.V(logutil.DEBUG).Info("Decision's system prompt not applied", "decision", d.decision, "reason", err.Error())
		}
	}
	setDecisionHeaders(headers, d.model, d.reason, d.label, d.confidence)
	if headers != nil {
		headers[HeaderDecision] = d.decision
		if d.decision == "" {
			headers[HeaderDecision] = noLabel
		}
	}
	logger.V(logutil.VERBOSE).Info("Semantic model selected", "incomingModel", model, "selectedModel", d.model,
		"reason", d.reason, "decision", d.decision, "firstChoice", d.firstModel, "category", d.label, "confidence", d.confidence,
		"fallbackReason", d.fallback, "loads", loadsForLog(d.req))
	return parsed, nil
}

// checkModelExists rejects an explicit model that the config does not
// declare and no endpoint of the pool serves, when the endpoint tracker knows
// every endpoint's models. GIE answers a parser error with 400, which OpenAI
// clients do not retry; without this check the request would fail in
// scheduling with a 429, which they retry. A declared model, or one an
// endpoint serves but none is ready for, still goes to the scheduler.
func (s *Selector) checkModelExists(model string) error {
	if s.tracker == nil || s.tracker.Len() == 0 {
		return nil
	}
	if _, declared := s.models[model]; declared {
		return nil
	}
	served, complete := s.tracker.ServedModels()
	if served[model] || !complete {
		return nil
	}
	names := make([]string, 0, len(served)+len(s.models))
	for n := range served {
		names = append(names, n)
	}
	for n := range s.models {
		if !served[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return fmt.Errorf("model_not_found: the model %q does not exist: no endpoint of this pool serves it "+
		"and the config does not declare it (available: %s, or %q to let the router choose)",
		model, strings.Join(names, ", "), s.params.AutoModelNames[0])
}

// setDecisionHeaders overwrites the decision headers sent to the model server.
func setDecisionHeaders(headers map[string]string, model, reason, label string, confidence float32) {
	if headers == nil {
		return
	}
	headers[HeaderSelectedModel] = model
	headers[HeaderSelectionReason] = reason
	if label == "" {
		headers[HeaderCategory] = noLabel
		headers[HeaderConfidence] = "0"
		return
	}
	headers[HeaderCategory] = label
	headers[HeaderConfidence] = strconv.FormatFloat(float64(confidence), 'f', 4, 32)
}

// decide classifies the request's text and picks the model.
func (s *Selector) decide(ctx context.Context, parsed *fwksched.LLMRequestBody, headers map[string]string) choice {
	d := choice{model: s.params.DefaultModel}
	text, _ := extractText(parsed)
	if text == "" {
		return d.withFallback(ReasonNoText)
	}
	if s.decisions != nil {
		dd, matched, dreq := s.decideByDecisions(ctx, parsed, headers, text)
		if matched || s.clf == nil {
			return dd
		}
		if cl, ok := dreq.Classification(s.clf); ok && cl.Err == nil {
			// A signal (domain or similarity) already ran the selector's
			// classifier: one classification per request.
			return s.decideByCategory(ctx, parsed, headers, text, cl.Result, cl.Duration)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.params.ClassifierTimeout.Duration)
	defer cancel()
	start := time.Now()
	res, err := s.clf.Classify(cctx, text)
	elapsed := time.Since(start)
	if err != nil {
		outcome, reason := outcomeError, ReasonClassifierError
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(cctx.Err(), context.DeadlineExceeded) {
			outcome, reason = outcomeTimeout, ReasonClassifierTimeout
		}
		classifierDuration.WithLabelValues(outcome).Observe(elapsed.Seconds())
		d.failure = err
		return d.withFallback(reason)
	}
	classifierDuration.WithLabelValues(outcomeOK).Observe(elapsed.Seconds())
	if res.Truncated {
		truncations.Inc()
	}
	return s.decideByCategory(ctx, parsed, headers, text, res, elapsed)
}

// decideByCategory maps a classification to its category's candidates and
// runs them through the selection stage.
func (s *Selector) decideByCategory(ctx context.Context, parsed *fwksched.LLMRequestBody, headers map[string]string,
	text string, res classifier.Result, elapsed time.Duration) choice {
	d := choice{model: s.params.DefaultModel}
	d.label, d.confidence = res.Label, res.Confidence
	if float64(res.Confidence) < s.params.Threshold {
		return d.withFallback(ReasonLowConfidence)
	}
	cat, ok := s.routes[res.Label]
	if !ok {
		return d.withFallback(ReasonUnmappedCategory)
	}
	req := &selection.Request{
		RequestID: headers[reqcommon.RequestIdHeaderKey], Body: parsed, Headers: headers, Text: text,
		Signals: map[string]selection.SignalResult{domainSignal: {
			Matches: map[string]float32{res.Label: res.Confidence}, Label: res.Label, Confidence: res.Confidence,
			Scores: res.Scores, Truncated: res.Truncated, Duration: elapsed,
		}},
	}
	cands := candidates(cat.Models, cat.maxFallbackRank(), s.random)
	chosen := s.pipeline.run(ctx, req, cands)
	d.req, d.category = req, true
	d.model, d.reasoning, d.firstModel = chosen.Model, chosen.Reasoning, cands[0].Model
	d.reason = selectionReason(req, chosen, d.firstModel, SelectCategory)
	return d
}

// domainSignal names the classifier's result in selection.Request.Signals.
const domainSignal = "domain"

func (d choice) withFallback(reason string) choice {
	d.fallback, d.reason = reason, selectDefaultPrefix+reason
	return d
}

// responseHeaders are the decision headers copied onto the response, so a
// client sees which model, decision and category served it (what vLLM
// Semantic Router returns as x-vsr-selected-*).
var responseHeaders = []string{HeaderSelectedModel, HeaderSelectionReason, HeaderDecision, HeaderCategory}

// ResponseHeader copies the decision headers of an auto request onto the
// response: GIE sends every key of the response header map back to Envoy as
// a header mutation.
func (s *Selector) ResponseHeader(_ context.Context, request *fwksched.LLMRequest, response *fwkrc.Response, _ *fwkdl.EndpointMetadata) {
	if request == nil || response == nil || response.Headers == nil || request.Headers == nil ||
		request.Headers[HeaderSelectionReason] == SelectExplicit {
		return
	}
	for _, k := range responseHeaders {
		if v, ok := request.Headers[k]; ok {
			response.Headers[k] = v
		}
	}
}

// ParseResponse delegates to the upstream OpenAI parser.
func (s *Selector) ParseResponse(ctx context.Context, body []byte, headers map[string]string, endOfStream bool) (*fwkrh.ParsedResponse, error) {
	return s.inner.ParseResponse(ctx, body, headers, endOfStream)
}

// AdmitRequest denies the requests whose classification failed while
// failurePolicy is closed.
func (s *Selector) AdmitRequest(_ context.Context, request *fwksched.LLMRequest, _ []fwksched.Endpoint) error {
	if request == nil || request.RequestId == "" {
		return nil
	}
	st, err := fwkplugin.ReadPluginStateKey[*rejection](s.state, request.RequestId, rejectionKey)
	if err != nil || st.body != request.Body {
		return nil
	}
	s.state.Delete(request.RequestId)
	return fmt.Errorf("%s: %w", Type, st.err)
}

// pickIndex returns the first choice of a ranked list: the first entry when
// no weights are set, otherwise an entry drawn in proportion to the weights.
func pickIndex(route []CategoryModel, random func() float64) int {
	var total float64
	for _, cm := range route {
		total += cm.Weight
	}
	if total <= 0 {
		return 0
	}
	r := random() * total
	for i, cm := range route {
		if cm.Weight <= 0 {
			continue
		}
		if r < cm.Weight {
			return i
		}
		r -= cm.Weight
	}
	for i := len(route) - 1; i >= 0; i-- { // rounding: last weighted entry
		if route[i].Weight > 0 {
			return i
		}
	}
	return 0
}
