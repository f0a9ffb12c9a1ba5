package tokenizer

import (
	"encoding/json"
	"fmt"
)

// postProcessor holds the special tokens put around a single sequence.
type postProcessor struct {
	prefix, suffix []special
	seqTypeID      int64
}

type special struct {
	id     int32
	typeID int64
}

// newPostProcessor reads TemplateProcessing, the post-processor of every
// supported model's tokenizer.json (BERT, ModernBERT, Gemma-style exports).
func newPostProcessor(raw json.RawMessage) (postProcessor, error) {
	var pp postProcessor
	if isNull(raw) {
		return pp, nil
	}
	var p struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID     string `json:"id"`
				TypeID int64  `json:"type_id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID     string `json:"id"`
				TypeID int64  `json:"type_id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return pp, fmt.Errorf("parsing: %w", err)
	}
	if p.Type != "TemplateProcessing" {
		return pp, fmt.Errorf("type %q is not supported (TemplateProcessing is)", p.Type)
	}
	seen := false
	for i, item := range p.Single {
		switch {
		case item.Sequence != nil:
			if seen {
				return pp, fmt.Errorf("template has the sequence twice")
			}
			seen, pp.seqTypeID = true, item.Sequence.TypeID
		case item.SpecialToken != nil:
			st, ok := p.SpecialTokens[item.SpecialToken.ID]
			if !ok {
				return pp, fmt.Errorf("template item %d: special token %q is not defined", i, item.SpecialToken.ID)
			}
			for _, id := range st.IDs {
				s := special{id: id, typeID: item.SpecialToken.TypeID}
				if seen {
					pp.suffix = append(pp.suffix, s)
				} else {
					pp.prefix = append(pp.prefix, s)
				}
			}
		default:
			return pp, fmt.Errorf("template item %d is neither SpecialToken nor Sequence", i)
		}
	}
	if !seen {
		return pp, fmt.Errorf("template has no sequence")
	}
	return pp, nil
}
