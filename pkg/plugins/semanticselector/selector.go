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
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
	logutil "sigs.k8s.io/gateway-api-inference-extension/pkg/common/observability/logging"
	reqcommon "sigs.k8s.io/gateway-api-inference-extension/pkg/common/request"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwkrc "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/requestcontrol"
	fwkrh "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/requesthandling"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requesthandling/parsers/openai"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
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
)

// LoadFunc loads a classifier from its configuration (loader.Load in the binary).
type LoadFunc func(ctx context.Context, cfg classifier.Config) (classifier.Classifier, error)

// Selector is the semantic-model-selector plugin.
type Selector struct {
	typedName fwkplugin.TypedName
	inner     *openai.OpenAIParser
	params    *Parameters
	clf       classifier.Classifier
	models    map[string]Model
	routes    map[string][]CategoryModel
	rejected  *rejectSet
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
		clf, err := load(ctx, params.Classifier)
		if err != nil {
			return nil, fmt.Errorf("%s %q: classifier: %w", Type, name, err)
		}
		s, err := New(name, params, clf)
		if err != nil {
			_ = clf.Close()
			return nil, fmt.Errorf("%s %q: %w", Type, name, err)
		}
		log.FromContext(ctx).Info("Semantic model selector ready", "plugin", name, "labels", clf.Labels(),
			"categories", len(params.Categories), "defaultModel", params.DefaultModel,
			"autoModelNames", params.AutoModelNames, "failurePolicy", params.FailurePolicy,
			"classifierTimeout", params.ClassifierTimeout.String())
		if ctx.Done() != nil {
			go func() {
				<-ctx.Done()
				_ = clf.Close()
			}()
		}
		return s, nil
	}
}

// New builds a selector from validated parameters and a loaded classifier;
// it checks that every category is a label of the classifier.
func New(name string, params *Parameters, clf classifier.Classifier) (*Selector, error) {
	if params == nil || clf == nil {
		return nil, errors.New("parameters and classifier are required")
	}
	if err := params.ValidateLabels(clf.Labels()); err != nil {
		return nil, err
	}
	s := &Selector{
		typedName: fwkplugin.TypedName{Type: Type, Name: name},
		inner:     openai.NewOpenAIParser(),
		params:    params,
		clf:       clf,
		models:    make(map[string]Model, len(params.Models)),
		routes:    make(map[string][]CategoryModel, len(params.Categories)),
		rejected:  newRejectSet(5 * time.Minute),
	}
	for _, m := range params.Models {
		s.models[m.Name] = m
	}
	for _, c := range params.Categories {
		s.routes[c.Name] = c.Models
	}
	return s, nil
}

// TypedName returns the plugin's type and name.
func (s *Selector) TypedName() fwkplugin.TypedName { return s.typedName }

// decision is the outcome of model selection for one request.
type decision struct {
	model      string
	label      string // classifier label; empty when not classified
	confidence float32
	routed     bool   // a category's model was chosen
	reason     string // fallback reason when !routed
	reasoning  *bool
	failure    error // classifier failure (for fail-closed)
}

// ParseRequest parses the body with the upstream OpenAI parser and, when the
// model is one of autoModelNames, chooses the model and rewrites the payload.
// Any other model passes through untouched.
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
	if !ok || !isAuto(s.params.AutoModelNames, model) {
		return parsed, nil
	}
	logger := log.FromContext(ctx)
	d := s.decide(ctx, parsed)
	if d.failure != nil && s.params.FailurePolicy == FailClosed {
		rejections.WithLabelValues(d.reason).Inc()
		id := headers[reqcommon.RequestIdHeaderKey]
		logger.Error(d.failure, "Classifier failed and failurePolicy is closed; rejecting request", "reason", d.reason)
		if id == "" {
			return nil, fmt.Errorf("%s: classifier failed (%s) and failurePolicy is closed: %w", Type, d.reason, d.failure)
		}
		// The director maps parser errors to 400; the rejection is raised
		// by AdmitRequest instead, which the director turns into a 5xx.
		s.rejected.add(id, fmt.Errorf("classifier failed (%s) and failurePolicy is closed: %w", d.reason, d.failure))
		return parsed, nil
	}
	if d.failure != nil {
		logger.Error(d.failure, "Classifier failed; routing to defaultModel (fail-open)", "reason", d.reason, "model", d.model)
	}
	if !d.routed {
		fallbacks.WithLabelValues(d.reason).Inc()
		decisions.WithLabelValues("", d.model).Inc()
	} else {
		decisions.WithLabelValues(d.label, d.model).Inc()
	}
	payload["model"] = d.model
	if d.reasoning != nil {
		fam := s.params.ReasoningFamilies[s.models[d.model].ReasoningFamily]
		if _, err := applyReasoning(parsed, payload, fam, *d.reasoning); err != nil {
			logger.Error(err, "Reasoning switch not applied", "model", d.model)
		}
	}
	if headers != nil {
		delete(headers, HeaderCategory)
		delete(headers, HeaderConfidence)
		headers[HeaderSelectedModel] = d.model
		if d.label != "" {
			headers[HeaderCategory] = d.label
			headers[HeaderConfidence] = strconv.FormatFloat(float64(d.confidence), 'f', 4, 32)
		}
	}
	logger.V(logutil.VERBOSE).Info("Semantic model selected", "incomingModel", model, "selectedModel", d.model,
		"category", d.label, "confidence", d.confidence, "routed", d.routed, "fallbackReason", d.reason)
	return parsed, nil
}

// decide classifies the request's text and picks the model.
func (s *Selector) decide(ctx context.Context, parsed *fwksched.LLMRequestBody) decision {
	d := decision{model: s.params.DefaultModel}
	text, _ := extractText(parsed)
	if text == "" {
		d.reason = ReasonNoText
		return d
	}
	cctx, cancel := context.WithTimeout(ctx, s.params.ClassifierTimeout.Duration)
	defer cancel()
	start := time.Now()
	res, err := s.clf.Classify(cctx, text)
	elapsed := time.Since(start).Seconds()
	if err != nil {
		outcome, reason := outcomeError, ReasonClassifierError
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(cctx.Err(), context.DeadlineExceeded) {
			outcome, reason = outcomeTimeout, ReasonClassifierTimeout
		}
		classifierDuration.WithLabelValues(outcome).Observe(elapsed)
		d.reason, d.failure = reason, err
		return d
	}
	classifierDuration.WithLabelValues(outcomeOK).Observe(elapsed)
	if res.Truncated {
		truncations.Inc()
	}
	d.label, d.confidence = res.Label, res.Confidence
	if float64(res.Confidence) < s.params.Threshold {
		d.reason = ReasonLowConfidence
		return d
	}
	route, ok := s.routes[res.Label]
	if !ok {
		d.reason = ReasonUnmappedCategory
		return d
	}
	cm := pick(route, rand.Float64)
	d.model, d.reasoning, d.routed = cm.Model, cm.Reasoning, true
	return d
}

// pick chooses from a ranked list: the first entry when no weights are set,
// otherwise at random in proportion to the weights.
func pick(route []CategoryModel, random func() float64) CategoryModel {
	var total float64
	for _, cm := range route {
		total += cm.Weight
	}
	if total <= 0 {
		return route[0]
	}
	r := random() * total
	for _, cm := range route {
		if cm.Weight <= 0 {
			continue
		}
		if r < cm.Weight {
			return cm
		}
		r -= cm.Weight
	}
	for i := len(route) - 1; i >= 0; i-- { // rounding: last weighted entry
		if route[i].Weight > 0 {
			return route[i]
		}
	}
	return route[0]
}

// ParseResponse delegates to the upstream OpenAI parser.
func (s *Selector) ParseResponse(ctx context.Context, body []byte, headers map[string]string, endOfStream bool) (*fwkrh.ParsedResponse, error) {
	return s.inner.ParseResponse(ctx, body, headers, endOfStream)
}

// AdmitRequest denies the requests whose classification failed while
// failurePolicy is closed.
func (s *Selector) AdmitRequest(_ context.Context, request *fwksched.LLMRequest, _ []fwksched.Endpoint) error {
	if request == nil {
		return nil
	}
	if err := s.rejected.take(request.RequestId); err != nil {
		return fmt.Errorf("%s: %w", Type, err)
	}
	return nil
}
