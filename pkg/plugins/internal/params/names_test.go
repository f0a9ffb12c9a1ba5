package params

import "testing"

func TestNames(t *testing.T) {
	n := NewNames("routes")
	for i, tc := range []struct{ name, want string }{
		{"billing", ""},
		{"support", ""},
		{" ", `routes[2].name: must not be empty`},
		{"billing", `routes[3].name: "billing" is already the name of routes[0]`},
	} {
		err := n.Check(i, tc.name)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("Check(%d, %q) = %q, want %q", i, tc.name, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("Check(%d, %q) = nil, want %q", i, tc.name, tc.want)
		}
	}
}
