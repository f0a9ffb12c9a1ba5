package servedmodelfilter

import (
	"context"
	"encoding/json"
	"fmt"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/profile"
)

// ProfileHandlerType is the type name of the profile handler that reports
// which model had no endpoint.
const ProfileHandlerType = "served-model-profile-handler"

// noEndpointKey is the CycleState key under which Filter records the model
// no endpoint serves.
const noEndpointKey fwkplugin.StateKey = "semantic-epp/served-model-filter/no-endpoint"

type noEndpointState struct{ model string }

func (s *noEndpointState) Clone() fwkplugin.StateData { c := *s; return &c }

var _ fwksched.ProfileHandler = &ProfileHandler{}

// ProfileHandler is the upstream single-profile handler with one change:
// when the profile failed because served-model-filter left no endpoint, the
// scheduling error names the model. GIE v1.5.0 puts that error in the body
// of its 429 answer ("failed to find target endpoint: no endpoint serves
// model \"x\""); without this handler the body says only that profile
// 'default' failed.
type ProfileHandler struct {
	*profile.SingleProfileHandler
	typedName fwkplugin.TypedName
}

// ProfileHandlerFactory builds the handler; it takes no parameters.
func ProfileHandlerFactory(name string, _ json.RawMessage, _ fwkplugin.Handle) (fwkplugin.Plugin, error) {
	return NewProfileHandler(name), nil
}

// NewProfileHandler returns a handler named name.
func NewProfileHandler(name string) *ProfileHandler {
	return &ProfileHandler{
		SingleProfileHandler: profile.NewSingleProfileHandler(),
		typedName:            fwkplugin.TypedName{Type: ProfileHandlerType, Name: name},
	}
}

// TypedName returns the plugin's type and name.
func (h *ProfileHandler) TypedName() fwkplugin.TypedName { return h.typedName }

// ProcessResults delegates to the single-profile handler and, when it fails
// after the filter recorded a model without endpoints, names that model.
func (h *ProfileHandler) ProcessResults(ctx context.Context, cycleState *fwksched.CycleState, request *fwksched.LLMRequest,
	profileResults map[string]*fwksched.ProfileRunResult) (*fwksched.SchedulingResult, error) {
	res, err := h.SingleProfileHandler.ProcessResults(ctx, cycleState, request, profileResults)
	if err == nil || cycleState == nil {
		return res, err
	}
	if st, rerr := fwksched.ReadCycleStateKey[*noEndpointState](cycleState, noEndpointKey); rerr == nil {
		return nil, fmt.Errorf("no endpoint serves model %q: %w", st.model, err)
	}
	return res, err
}
