package params

import (
	"fmt"
	"strings"
)

// Names checks the names of a list field's elements (rules, routes): each
// one set and unique, with errors that name the element, e.g.
// `routes[2].name: "billing" is already the name of routes[0]`.
type Names struct {
	field string
	seen  map[string]int
}

// NewNames returns a checker for the list field named field.
func NewNames(field string) *Names { return &Names{field: field, seen: map[string]int{}} }

// Check returns the error for element i's name, or nil.
func (n *Names) Check(i int, name string) error {
	path := fmt.Sprintf("%s[%d]", n.field, i)
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%s.name: must not be empty", path)
	}
	if j, dup := n.seen[name]; dup {
		return fmt.Errorf("%s.name: %q is already the name of %s[%d]", path, name, n.field, j)
	}
	n.seen[name] = i
	return nil
}
