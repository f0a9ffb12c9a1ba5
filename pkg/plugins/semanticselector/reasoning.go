package semanticselector

import (
	"fmt"

	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
)

// applyReasoning sets the family's reasoning switch in a chat completions
// payload. Other request kinds have no common switch and are left alone. A
// chat_template_kwargs field that is present but not a JSON object is an
// error and the payload is not changed.
func applyReasoning(body *fwksched.LLMRequestBody, payload fwksched.PayloadMap, fam ReasoningFamily, on bool) error {
	if body == nil || body.ChatCompletions == nil {
		return nil
	}
	switch fam.Type {
	case SwitchChatTemplateKwarg:
		kw := map[string]any{}
		if cur, present := payload["chat_template_kwargs"]; present && cur != nil {
			m, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("chat_template_kwargs is a %T, not an object", cur)
			}
			kw = m
		}
		kw[fam.Parameter] = on
		payload["chat_template_kwargs"] = kw
		if body.ChatCompletions.ChatTemplateKWArgs == nil {
			body.ChatCompletions.ChatTemplateKWArgs = map[string]any{}
		}
		body.ChatCompletions.ChatTemplateKWArgs[fam.Parameter] = on
		return nil
	case SwitchReasoningEffort:
		if on {
			payload[fam.Parameter] = fam.EffortOn
		} else {
			payload[fam.Parameter] = fam.EffortOff
		}
		return nil
	}
	return fmt.Errorf("unknown reasoning switch type %q", fam.Type)
}
