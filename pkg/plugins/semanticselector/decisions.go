package semanticselector

import (
	"context"
	"errors"
	"fmt"
	"time"

	reqcommon "sigs.k8s.io/gateway-api-inference-extension/pkg/common/request"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

// SelectDecision is the selection reason for a decision's first choice.
const SelectDecision = "decision"

// ReasonNoDecision is the fallback reason when no decision held and no category applied.
const ReasonNoDecision = "no_decision"

// resolveDecisions looks the signal plugins up and compiles the decisions.
func resolveDecisions(h fwkplugin.Handle, p *Parameters) ([]selection.Signal, *decision.Set, error) {
	if len(p.Decisions) == 0 {
		return nil, nil, nil
	}
	if h == nil {
		return nil, nil, errors.New("signals: no plugin handle to resolve them")
	}
	signals := make([]selection.Signal, 0, len(p.Signals))
	for i, name := range p.Signals {
		sig, err := fwkplugin.PluginByType[selection.Signal](h, name)
		if err != nil {
			return nil, nil, fmt.Errorf("signals[%d]: %w (declare the signal plugin before the selector)", i, err)
		}
		signals = append(signals, sig)
	}
	set, err := decision.Compile(p.Decisions)
	if err != nil {
		return nil, nil, err
	}
	return signals, set, nil
}

// decideByDecisions evaluates every signal once, within classifierTimeout,
// and runs the first decision that holds through the selection stage. It
// reports false when no decision matched (the categories are tried next,
// reading the signals in the returned request).
func (s *Selector) decideByDecisions(ctx context.Context, parsed *fwksched.LLMRequestBody, headers map[string]string, text string) (choice, bool, *selection.Request) {
	d := choice{model: s.params.DefaultModel}
	req := &selection.Request{RequestID: headers[reqcommon.RequestIdHeaderKey], Body: parsed, Headers: headers,
		Text: text, Signals: make(map[string]selection.SignalResult, len(s.signals))}
	cctx, cancel := context.WithTimeout(ctx, s.params.ClassifierTimeout.Duration)
	defer cancel()
	for _, sig := range s.signals {
		start := time.Now()
		res, err := sig.Evaluate(cctx, req)
		elapsed := time.Since(start).Seconds()
		if err != nil {
			outcome, reason := outcomeError, ReasonClassifierError
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(cctx.Err(), context.DeadlineExceeded) {
				outcome, reason = outcomeTimeout, ReasonClassifierTimeout
			}
			classifierDuration.WithLabelValues(outcome).Observe(elapsed)
			d.failure = err
			return d.withFallback(reason), true, req
		}
		if res.Label != "" {
			// The classification's own time: another signal of the same
			// classifier (similarity) may have run it, making elapsed ~0.
			classifierDuration.WithLabelValues(outcomeOK).Observe(res.Duration.Seconds())
			if d.label == "" {
				d.label, d.confidence = res.Label, res.Confidence
			}
		}
		if res.Truncated {
			truncations.Inc()
		}
		req.Signals[sig.TypedName().Name] = res
	}
	dec, ok := s.decisions.Match(req.Signal)
	if !ok {
		return d.withFallback(ReasonNoDecision), false, req
	}
	route := make([]CategoryModel, len(dec.Models))
	for i, m := range dec.Models {
		route[i] = CategoryModel{Model: m.Model, Weight: m.Weight, Reasoning: m.Reasoning}
	}
	cands := candidates(route, len(route)-1, s.random)
	chosen := s.pipeline.run(ctx, req, cands)
	d.req, d.category = req, true
	d.model, d.reasoning, d.firstModel = chosen.Model, chosen.Reasoning, cands[0].Model
	d.decision, d.prompt = dec.Name, dec.SystemPrompt
	d.reason = selectionReason(req, chosen, d.firstModel, SelectDecision)
	return d, true, req
}

// selectionReason says why chosen was picked over the first choice.
func selectionReason(req *selection.Request, chosen selection.Candidate, firstModel, firstReason string) string {
	first, seen := req.Loads[firstModel]
	switch {
	case chosen.Rank > 0 && seen && first.AllSaturated():
		return SelectSaturationFallback
	case chosen.Rank == 0 && seen && first.AllSaturated():
		return SelectAllSaturated
	default:
		return firstReason
	}
}

// labelsOf returns a classifier's labels; none without a classifier.
func labelsOf(c classifier.Classifier) []string {
	if c == nil {
		return nil
	}
	return c.Labels()
}
