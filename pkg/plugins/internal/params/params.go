// Package params decodes plugin parameters the way every semantic-epp plugin
// does: strictly (an unknown field is an error that names it), with empty or
// null parameters leaving the defaults in place.
package params

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Decode reads raw into p strictly; empty or null raw leaves p unchanged.
func Decode(raw json.RawMessage, p any) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return fmt.Errorf("invalid parameters: %w", err)
	}
	return nil
}
