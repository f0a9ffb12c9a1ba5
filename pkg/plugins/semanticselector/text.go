package semanticselector

import (
	"strings"

	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
)

// textSource says where the classified text came from (for logs).
type textSource string

const (
	sourceNone      textSource = ""
	sourceUser      textSource = "user"
	sourceOtherRole textSource = "other-role"
	sourcePrompt    textSource = "prompt"
	sourceInput     textSource = "input"
)

// extractText returns the text the classifier sees for a parsed request:
// the last user message (text parts joined, images and audio ignored), or
// the last non-empty message of another role when there is no user text;
// the completions prompt (a list is joined by newlines); the responses or
// conversations input, read the same way as chat messages; the embeddings
// input. The result is empty when the request carries no text.
func extractText(body *fwksched.LLMRequestBody) (string, textSource) {
	switch {
	case body == nil:
		return "", sourceNone
	case body.ChatCompletions != nil:
		msgs := make([]roleText, 0, len(body.ChatCompletions.Messages))
		for _, m := range body.ChatCompletions.Messages {
			msgs = append(msgs, roleText{role: m.Role, text: chatContentText(m.Content)})
		}
		return lastUserOrAny(msgs)
	case body.Completions != nil:
		p := body.Completions.Prompt
		if p.Raw != "" {
			return p.Raw, sourcePrompt
		}
		return nonEmpty(strings.Join(p.Strings, "\n"), sourcePrompt)
	case body.Responses != nil:
		if s, ok := body.Responses.Input.(string); ok {
			return nonEmpty(s, sourceInput)
		}
		items, _ := body.Responses.Input.([]any)
		msgs := make([]roleText, 0, len(items))
		for _, it := range items {
			m, _ := it.(map[string]any)
			role, _ := m["role"].(string)
			msgs = append(msgs, roleText{role: role, text: anyContentText(m["content"])})
		}
		return lastUserOrAny(msgs)
	case body.Conversations != nil:
		msgs := make([]roleText, 0, len(body.Conversations.Items))
		for _, it := range body.Conversations.Items {
			msgs = append(msgs, roleText{role: it.Role, text: anyContentText(it.Content)})
		}
		return lastUserOrAny(msgs)
	case body.Embeddings != nil:
		return nonEmpty(anyContentText(body.Embeddings.Input), sourceInput)
	}
	return "", sourceNone
}

type roleText struct {
	role string
	text string
}

func lastUserOrAny(msgs []roleText) (string, textSource) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].role == "user" && strings.TrimSpace(msgs[i].text) != "" {
			return msgs[i].text, sourceUser
		}
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.TrimSpace(msgs[i].text) != "" {
			return msgs[i].text, sourceOtherRole
		}
	}
	return "", sourceNone
}

func nonEmpty(s string, src textSource) (string, textSource) {
	if strings.TrimSpace(s) == "" {
		return "", sourceNone
	}
	return s, src
}

// chatContentText joins the text blocks of a chat message.
func chatContentText(c fwksched.Content) string {
	if c.Raw != "" {
		return c.Raw
	}
	parts := make([]string, 0, len(c.Structured))
	for _, b := range c.Structured {
		if isTextPart(b.Type) && b.Text != "" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// anyContentText reads content decoded into `any`: a string, a list of
// strings, or a list of parts of the form {"type": "input_text", "text": ...}.
func anyContentText(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case []any:
		parts := make([]string, 0, len(c))
		for _, p := range c {
			switch pv := p.(type) {
			case string:
				parts = append(parts, pv)
			case map[string]any:
				typ, _ := pv["type"].(string)
				if txt, ok := pv["text"].(string); ok && isTextPart(typ) && txt != "" {
					parts = append(parts, txt)
				}
			}
		}
		return strings.Join(parts, "\n")
	}
	return ""
}

func isTextPart(typ string) bool {
	switch typ {
	case "text", "input_text", "output_text", "":
		return true
	}
	return false
}
