package main

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// Merge combines router config files the way the router's fragments are
// meant to be composed: mappings merge key by key, lists are concatenated
// in file order, and a scalar in a later file replaces an earlier one.
func Merge(srcs ...[]byte) ([]byte, error) {
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	var merged any
	for i, src := range srcs {
		var doc any
		if err := yaml.Unmarshal(src, &doc); err != nil {
			return nil, fmt.Errorf("file %d: %w", i+1, err)
		}
		merged = mergeValue(merged, doc)
	}
	out, err := yaml.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("merging: %w", err)
	}
	return out, nil
}

func mergeValue(a, b any) any {
	switch bv := b.(type) {
	case map[string]any:
		am, ok := a.(map[string]any)
		if !ok {
			return bv
		}
		for k, v := range bv {
			am[k] = mergeValue(am[k], v)
		}
		return am
	case []any:
		if al, ok := a.([]any); ok {
			return append(al, bv...)
		}
		return bv
	case nil:
		return a
	default:
		return bv
	}
}
