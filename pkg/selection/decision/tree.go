package decision

import (
	"errors"
	"fmt"
	"strings"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

type nodeKind uint8

const (
	kindLeaf nodeKind = iota
	kindAnd
	kindOr
	kindNot
)

// node is a compiled condition: the operator resolved once so evaluation is
// a switch and a walk, without string comparisons of operators.
type node struct {
	kind   nodeKind
	signal string
	sig    int // index of signal in the set's signal list
	name   string
	kids   []node
}

// resolved is one signal's result, looked up once per Match.
type resolved struct {
	res selection.SignalResult
	ok  bool
}

func (n *node) eval(sigs []resolved) bool {
	switch n.kind {
	case kindLeaf:
		r := &sigs[n.sig]
		return r.ok && r.res.Matched(n.name)
	case kindAnd:
		for i := range n.kids {
			if !n.kids[i].eval(sigs) {
				return false
			}
		}
		return true
	case kindOr:
		for i := range n.kids {
			if n.kids[i].eval(sigs) {
				return true
			}
		}
		return false
	default: // kindNot
		return !n.kids[0].eval(sigs)
	}
}

// compileCondition validates c (operators are case-insensitive) and
// records the signals its leaves reference.
func compileCondition(c *Condition, path string, signals map[string]struct{}) (node, error) {
	if c.Operator == "" {
		if len(c.Conditions) > 0 {
			return node{}, fmt.Errorf("%s.operator: a node with conditions needs an operator (%s, %s or %s)", path, OpAnd, OpOr, OpNot)
		}
		var errs []error
		if strings.TrimSpace(c.Signal) == "" {
			errs = append(errs, fmt.Errorf("%s.signal: a leaf must name a signal", path))
		}
		if strings.TrimSpace(c.Name) == "" {
			errs = append(errs, fmt.Errorf("%s.name: a leaf must name what the signal matches", path))
		}
		if err := errors.Join(errs...); err != nil {
			return node{}, err
		}
		signals[c.Signal] = struct{}{}
		return node{kind: kindLeaf, signal: c.Signal, name: c.Name}, nil
	}
	op := strings.ToUpper(c.Operator)
	var kind nodeKind
	switch op {
	case OpAnd:
		kind = kindAnd
	case OpOr:
		kind = kindOr
	case OpNot:
		kind = kindNot
	default:
		return node{}, fmt.Errorf("%s.operator: %q is not one of %s, %s, %s", path, c.Operator, OpAnd, OpOr, OpNot)
	}
	if c.Signal != "" || c.Name != "" {
		return node{}, fmt.Errorf("%s: a node has either an operator with conditions or a signal and name, not both", path)
	}
	switch {
	case kind == kindNot && len(c.Conditions) != 1:
		return node{}, fmt.Errorf("%s.conditions: %s needs exactly one condition, got %d", path, OpNot, len(c.Conditions))
	case len(c.Conditions) == 0:
		return node{}, fmt.Errorf("%s.conditions: %s needs at least one condition", path, op)
	}
	n := node{kind: kind, kids: make([]node, len(c.Conditions))}
	var errs []error
	for i := range c.Conditions {
		kid, err := compileCondition(&c.Conditions[i], fmt.Sprintf("%s.conditions[%d]", path, i), signals)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n.kids[i] = kid
	}
	return n, errors.Join(errs...)
}

// index sets each leaf's signal index from idx.
func (n *node) index(idx map[string]int) {
	if n.kind == kindLeaf {
		n.sig = idx[n.signal]
		return
	}
	for i := range n.kids {
		n.kids[i].index(idx)
	}
}
