package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http/httpguts"
)

// header is one HTTP header entry with a lower-case key, as Envoy keeps them.
type header struct{ key, value string }

// headerList is an ordered header map that allows repeated keys.
type headerList []header

// hopByHop headers belong to one connection and are never forwarded.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"transfer-encoding": true, "upgrade": true, "trailer": true, "expect": true,
}

func (h headerList) get(key string) (string, bool) {
	for _, e := range h {
		if e.key == key {
			return e.value, true
		}
	}
	return "", false
}

func (h headerList) has(key string) bool { _, ok := h.get(key); return ok }

func (h *headerList) set(key, value string) {
	out := (*h)[:0]
	done := false
	for _, e := range *h {
		if e.key == key {
			if !done {
				out = append(out, header{key, value})
				done = true
			}
			continue
		}
		out = append(out, e)
	}
	if !done {
		out = append(out, header{key, value})
	}
	*h = out
}

func (h *headerList) add(key, value string) { *h = append(*h, header{key, value}) }

func (h *headerList) remove(key string) {
	out := (*h)[:0]
	for _, e := range *h {
		if e.key != key {
			out = append(out, e)
		}
	}
	*h = out
}

// proto converts the list to the ext_proc wire form (values in raw_value).
func (h headerList) proto() *corev3.HeaderMap {
	m := &corev3.HeaderMap{Headers: make([]*corev3.HeaderValue, 0, len(h))}
	for _, e := range h {
		m.Headers = append(m.Headers, &corev3.HeaderValue{Key: e.key, RawValue: []byte(e.value)})
	}
	return m
}

// fromHTTP appends the entries of an http.Header, lower-cased, without
// hop-by-hop headers.
func (h *headerList) fromHTTP(src http.Header) {
	for k, vs := range src {
		lk := strings.ToLower(k)
		if hopByHop[lk] {
			continue
		}
		for _, v := range vs {
			h.add(lk, v)
		}
	}
}

// toHTTP copies regular (non-pseudo) entries into dst.
func (h headerList) toHTTP(dst http.Header) {
	for _, e := range h {
		if strings.HasPrefix(e.key, ":") || hopByHop[e.key] || e.key == "host" {
			continue
		}
		dst.Add(e.key, e.value)
	}
}

// mutationAllowed reports whether a processor may set or remove key under
// Envoy's default HeaderMutationRules.
func mutationAllowed(key string, remove bool) bool {
	if strings.HasPrefix(key, "x-envoy") {
		return false
	}
	switch key {
	case ":method", ":scheme", ":authority", "host":
		return false
	}
	if remove && strings.HasPrefix(key, ":") {
		return false
	}
	return true
}

// applyMutation applies an ext_proc HeaderMutation the way Envoy's ext_proc
// filter does. Disallowed mutations are ignored; malformed ones are errors
// (Envoy fails the stream for them).
func applyMutation(h *headerList, m *extprocv3.HeaderMutation) error {
	if m == nil {
		return nil
	}
	for _, k := range m.GetRemoveHeaders() {
		lk := strings.ToLower(k)
		if !httpguts.ValidHeaderFieldName(strings.TrimPrefix(lk, ":")) {
			return fmt.Errorf("invalid header name %q in remove_headers", k)
		}
		if mutationAllowed(lk, true) {
			h.remove(lk)
		}
	}
	for _, opt := range m.GetSetHeaders() {
		hv := opt.GetHeader()
		if hv == nil {
			continue
		}
		if hv.GetValue() != "" && len(hv.GetRawValue()) > 0 {
			return fmt.Errorf("header %q sets both value and raw_value", hv.GetKey())
		}
		key := strings.ToLower(hv.GetKey())
		value := string(hv.GetRawValue())
		if len(hv.GetRawValue()) == 0 {
			value = hv.GetValue()
		}
		if !httpguts.ValidHeaderFieldName(strings.TrimPrefix(key, ":")) || !httpguts.ValidHeaderFieldValue(value) {
			return fmt.Errorf("invalid header %q in set_headers", hv.GetKey())
		}
		if !mutationAllowed(key, false) {
			continue
		}
		if key == ":status" {
			if code, err := strconv.Atoi(value); err != nil || code < 200 || code > 599 {
				return fmt.Errorf("invalid :status %q in set_headers", value)
			}
		}
		applySet(h, key, value, opt)
	}
	return nil
}

func applySet(h *headerList, key, value string, opt *corev3.HeaderValueOption) {
	// Envoy still honours the deprecated append flag and lets it win.
	if opt.GetAppend() != nil { //nolint:staticcheck // deprecated in the API, still honoured by Envoy
		if opt.GetAppend().GetValue() { //nolint:staticcheck // as above
			h.add(key, value)
		} else {
			h.set(key, value)
		}
		return
	}
	switch opt.GetAppendAction() {
	case corev3.HeaderValueOption_ADD_IF_ABSENT:
		if !h.has(key) {
			h.add(key, value)
		}
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
		if h.has(key) {
			h.set(key, value)
		}
	default:
		// APPEND_IF_EXISTS_OR_ADD is the proto zero value, which Envoy's
		// ext_proc filter cannot tell from "unset": it overwrites.
		h.set(key, value)
	}
}
