package gateway

import (
	"reflect"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestApplyMutation(t *testing.T) {
	base := func() headerList {
		return headerList{{":method", "POST"}, {":path", "/a"}, {"host", "h"}, {"x-a", "1"}, {"x-a", "2"}}
	}
	opt := func(k, v string, action corev3.HeaderValueOption_HeaderAppendAction, appendFlag *bool) *corev3.HeaderValueOption {
		o := &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}, AppendAction: action}
		if appendFlag != nil {
			o.Append = wrapperspb.Bool(*appendFlag) //nolint:staticcheck // Envoy still honours the deprecated flag
		}
		return o
	}
	yes, no := true, false
	tests := []struct {
		name    string
		m       *extprocv3.HeaderMutation
		want    headerList
		wantErr bool
	}{
		{"default overwrites every value", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt("X-A", "3", 0, nil)}},
			headerList{{":method", "POST"}, {":path", "/a"}, {"host", "h"}, {"x-a", "3"}}, false},
		{"append flag adds", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt("x-a", "3", 0, &yes)}},
			append(base(), header{"x-a", "3"}), false},
		{"append=false overwrites", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt("x-b", "3", 0, &no)}},
			append(base(), header{"x-b", "3"}), false},
		{"add if absent keeps existing", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt("x-a", "9", corev3.HeaderValueOption_ADD_IF_ABSENT, nil)}},
			base(), false},
		{"overwrite if exists skips missing", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt("x-z", "9", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS, nil)}},
			base(), false},
		{"protected headers are ignored", &extprocv3.HeaderMutation{
			SetHeaders:    []*corev3.HeaderValueOption{opt(":method", "GET", 0, nil), opt("host", "evil", 0, nil), opt("x-envoy-foo", "1", 0, nil)},
			RemoveHeaders: []string{":path", "host"}}, base(), false},
		{":path may change", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt(":path", "/b", 0, nil)}},
			headerList{{":method", "POST"}, {":path", "/b"}, {"host", "h"}, {"x-a", "1"}, {"x-a", "2"}}, false},
		{"remove drops all values", &extprocv3.HeaderMutation{RemoveHeaders: []string{"X-A"}},
			headerList{{":method", "POST"}, {":path", "/a"}, {"host", "h"}}, false},
		{"invalid value is an error", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt("x-bad", "a\nb", 0, nil)}}, nil, true},
		{"value and raw_value is an error", &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{
			{Header: &corev3.HeaderValue{Key: "x-c", Value: "v", RawValue: []byte("r")}}}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			err := applyMutation(&h, tc.m)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(h, tc.want) {
				t.Fatalf("got %v, want %v", h, tc.want)
			}
		})
	}
}
