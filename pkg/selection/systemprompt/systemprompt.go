// Package systemprompt applies a decision's system prompt to a
// chat-completions request, the way vLLM Semantic Router's system_prompt
// plugin does:
//
//   - insert: the text is prepended to the request's system message (a blank
//     line between), or becomes a new system message at the front;
//   - replace: the text replaces the system message's content, or becomes a
//     new system message at the front.
//
// Both the body payload (what is forwarded) and the parsed messages (what
// later plugins read) are updated, so they stay consistent.
package systemprompt

import (
	"errors"
	"fmt"

	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

const (
	roleSystem = "system"
	// separator joins an inserted prompt and the existing system content.
	separator = "\n\n"
)

// ErrNoMessages is returned for a body without a chat-completions message
// list (a completions or embeddings request): there is no system prompt to
// change.
var ErrNoMessages = errors.New("the request has no chat messages")

// Apply inserts or replaces the system prompt of body with text (mode
// "insert", the default when empty, or "replace"). It returns ErrNoMessages
// when body is not a chat-completions request, and an error naming the
// message when the payload's messages are malformed.
func Apply(body *fwksched.LLMRequestBody, text, mode string) error {
	if mode == "" {
		mode = decision.ModeInsert
	}
	if mode != decision.ModeInsert && mode != decision.ModeReplace {
		return fmt.Errorf("system prompt mode %q is not one of %q, %q", mode, decision.ModeInsert, decision.ModeReplace)
	}
	if body == nil {
		return ErrNoMessages
	}
	payload, _ := body.Payload.(fwksched.PayloadMap)
	raw, inPayload := payload["messages"]
	if !inPayload && body.ChatCompletions == nil {
		return ErrNoMessages
	}
	if inPayload {
		msgs, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("messages: expected a list, got %T", raw)
		}
		out, err := applyPayload(msgs, text, mode)
		if err != nil {
			return err
		}
		payload["messages"] = out
	}
	if body.ChatCompletions != nil {
		body.ChatCompletions.Messages = applyParsed(body.ChatCompletions.Messages, text, mode)
	}
	return nil
}

func applyPayload(msgs []any, text, mode string) ([]any, error) {
	for i, m := range msgs {
		msg, ok := m.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("messages[%d]: expected an object, got %T", i, m)
		}
		if role, _ := msg["role"].(string); role != roleSystem {
			continue
		}
		if mode == decision.ModeReplace {
			msg["content"] = text
			return msgs, nil
		}
		switch c := msg["content"].(type) {
		case nil:
			msg["content"] = text
		case string:
			if c == "" {
				msg["content"] = text
			} else {
				msg["content"] = text + separator + c
			}
		case []any:
			part := map[string]any{"type": "text", "text": text + separator}
			msg["content"] = append([]any{part}, c...)
		default:
			return nil, fmt.Errorf("messages[%d].content: expected a string or a list of parts, got %T", i, c)
		}
		return msgs, nil
	}
	sys := map[string]any{"role": roleSystem, "content": text}
	return append([]any{sys}, msgs...), nil
}

func applyParsed(msgs []fwksched.Message, text, mode string) []fwksched.Message {
	for i := range msgs {
		if msgs[i].Role != roleSystem {
			continue
		}
		c := &msgs[i].Content
		switch {
		case mode == decision.ModeReplace:
			*c = fwksched.Content{Raw: text}
		case c.Structured != nil:
			c.Structured = append([]fwksched.ContentBlock{{Type: "text", Text: text + separator}}, c.Structured...)
		case c.Raw == "":
			c.Raw = text
		default:
			c.Raw = text + separator + c.Raw
		}
		return msgs
	}
	return append([]fwksched.Message{{Role: roleSystem, Content: fwksched.Content{Raw: text}}}, msgs...)
}
