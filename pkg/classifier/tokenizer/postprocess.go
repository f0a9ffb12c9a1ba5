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

func newPostProcessor(raw json.RawMessage, added map[string]int32) (postProcessor, error) {
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
		Sep        []json.RawMessage `json:"sep"`
		Cls        []json.RawMessage `json:"cls"`
		Processors []json.RawMessage `json:"processors"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return pp, fmt.Errorf("parsing: %w", err)
	}
	switch p.Type {
	case "TemplateProcessing":
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
	case "BertProcessing", "RobertaProcessing":
		cls, err := tokenPair(p.Cls)
		if err != nil {
			return pp, fmt.Errorf("cls: %w", err)
		}
		sep, err := tokenPair(p.Sep)
		if err != nil {
			return pp, fmt.Errorf("sep: %w", err)
		}
		pp.prefix, pp.suffix = []special{{id: cls}}, []special{{id: sep}}
		return pp, nil
	case "ByteLevel":
		return pp, nil // offsets only; ids are unchanged
	case "Sequence":
		for i, r := range p.Processors {
			sub, err := newPostProcessor(r, added)
			if err != nil {
				return pp, fmt.Errorf("sequence item %d: %w", i, err)
			}
			if len(sub.prefix)+len(sub.suffix) > 0 {
				if len(pp.prefix)+len(pp.suffix) > 0 {
					return pp, fmt.Errorf("sequence adds special tokens twice")
				}
				pp = sub
			}
		}
		return pp, nil
	default:
		return pp, fmt.Errorf("type %q is not supported", p.Type)
	}
}

// tokenPair reads ["[CLS]", 101].
func tokenPair(raw []json.RawMessage) (int32, error) {
	if len(raw) != 2 {
		return 0, fmt.Errorf("want [token, id]")
	}
	var id int32
	if err := json.Unmarshal(raw[1], &id); err != nil {
		return 0, fmt.Errorf("id: %w", err)
	}
	return id, nil
}
