// Package gateway is an Envoy-like HTTP gateway for tests and the local
// sandbox. No Envoy binary can be installed on the project's machines, so
// this package plays Envoy's part in front of the Endpoint Picker: it serves
// an OpenAI-compatible HTTP port, runs each request through an ext_proc
// stream (github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3)
// configured like the Gateway API Inference Extension's test/testdata/envoy.yaml
// (v1.5.0), and forwards it to the endpoint the picker chose.
//
// Behaviour copied from Envoy's ext_proc filter and router:
//   - processing mode: request and response headers SEND, request and response
//     bodies FULL_DUPLEX_STREAMED, request and response trailers SEND (trailers
//     are only sent when the message has them);
//   - request body chunks go to the processor as they arrive, without waiting
//     for the header response; the upstream receives only the body chunks the
//     processor streams back; content-length is removed wherever a body is
//     processed, so bodies travel chunked;
//   - header mutations follow Envoy's rules: set_headers overwrite unless the
//     deprecated append flag or a non-default append_action says otherwise;
//     :method, :scheme, :authority, host and x-envoy-* cannot be set and
//     pseudo-headers and host cannot be removed;
//   - an immediate_response ends the exchange with its status, headers and
//     body (status below 200 becomes 200);
//   - routing is ORIGINAL_DST: the upstream is the x-gateway-destination-endpoint
//     request header after mutation (or the envoy.lb dynamic metadata key of
//     the same name); a comma-separated list is tried in order on connection
//     failure, as the inference extension's gateway protocol describes; a
//     missing or unusable destination gives 503 "no healthy upstream";
//   - failure_mode_allow: a stream that cannot be opened, breaks, times out
//     (message_timeout) or sends a response out of order gives 500 (504 for a
//     timeout) unless FailureModeAllow is set; then the request continues
//     unprocessed. Once the response headers reached the client, a failure
//     resets the client connection, as Envoy resets the stream;
//   - an upstream that closes the connection after taking part of the request
//     body is a reset: 503 "upstream connect error or disconnect/reset before
//     headers. reset reason: connection termination" (flag UC), also when it
//     wrote a 2xx before closing without reading the whole body (as
//     llm-d-inference-sim does above its body limit): such an answer never
//     reaches the client as a success;
//   - MaxRequestBodyBytes plays Envoy's buffer filter: 413 "Payload Too Large";
//   - local replies made after routing (upstream connect failure) pass
//     through the response path of the processor, as Envoy's do.
package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DestinationHeader is the request header (and envoy.lb metadata key) that
// carries the endpoint chosen by the picker.
const DestinationHeader = "x-gateway-destination-endpoint"

// DestinationServedKey is the envoy.lb metadata key through which the gateway
// tells the picker which endpoint actually served the request.
const DestinationServedKey = "x-gateway-destination-endpoint-served"

// LBMetadataNamespace is the dynamic metadata namespace of the destination.
const LBMetadataNamespace = "envoy.lb"

// DestinationSource says where the gateway reads the picked endpoint from.
type DestinationSource string

const (
	// FromHeader routes on the x-gateway-destination-endpoint request header
	// (Envoy's ORIGINAL_DST cluster with use_http_header, as in GIE's
	// envoy.yaml).
	FromHeader DestinationSource = "header"
	// FromMetadata routes on the envoy.lb dynamic metadata of the header
	// response.
	FromMetadata DestinationSource = "metadata"
)

// Config configures a Gateway. Zero durations take the defaults below.
type Config struct {
	// ExtProcAddress is the host:port of the ext_proc (EPP) gRPC server.
	ExtProcAddress string
	// ExtProcTLS connects with TLS without verifying the server certificate,
	// like envoy.yaml's ext_proc cluster with an empty validation_context.
	// The EPP serves TLS with a self-signed certificate by default.
	ExtProcTLS bool
	// FailureModeAllow lets requests continue unprocessed when the ext_proc
	// stream fails (Envoy's failure_mode_allow).
	FailureModeAllow bool
	// MessageTimeout bounds each wait for a processor response (Envoy's
	// message_timeout). Default 30s.
	MessageTimeout time.Duration
	// ConnectTimeout bounds each upstream connection attempt. Default 5s.
	ConnectTimeout time.Duration
	// RouteTimeout bounds the whole upstream exchange, response body
	// included (Envoy's route timeout). Default 10m.
	RouteTimeout time.Duration
	// Destination selects the header or the metadata. Default FromHeader.
	Destination DestinationSource
	// ChunkSize is the largest body chunk sent to the processor. Default 32 KiB
	// (envoy.yaml's per_connection_buffer_limit_bytes).
	ChunkSize int
	// MaxRequestBodyBytes, when positive, refuses larger request bodies with
	// 413 "Payload Too Large" (flag RL) before anything reaches the model
	// server, as Envoy's buffer filter with max_request_bytes does: from the
	// content-length at once, or as soon as a chunked body passes it. Zero
	// leaves bodies unbounded, as an Envoy listener without that filter.
	MaxRequestBodyBytes int64
	// AccessLog, when set, receives one entry per request, like Envoy's
	// access log.
	AccessLog func(AccessLogEntry)
	// LogUpstreamRequests adds the request as the model server received it
	// (headers after the processors' mutations, the body the upstream read)
	// to each access log entry, so tests can see what reached the model
	// server. It keeps a copy of every request body: for tests only.
	LogUpstreamRequests bool
	// FirstHopAddress, when set, is the host:port of a second ext_proc
	// server placed before ExtProcAddress in the filter chain (plaintext),
	// processing request headers and the BUFFERED request body and skipping
	// the response path, like the vLLM semantic router's filter in front of
	// an EPP (the two-hop architecture). It fails closed.
	FirstHopAddress string
}

// AccessLogEntry describes one finished request.
type AccessLogEntry struct {
	Method   string
	Path     string
	Status   int
	Upstream string
	// Flags are Envoy-style response flags: "UF" upstream connection
	// failure, "UC" upstream connection termination, "RL" request body over
	// MaxRequestBodyBytes, "NR" no route/destination, "UAEX" processor failure, "UT"
	// processor timeout, "IR" immediate response from the processor.
	Flags    string
	Duration time.Duration
	// ExtProc is the time the request spent waiting on ext_proc processors
	// (model-server time excluded): the first hop's whole exchange, the
	// picker's request path (stream opened until the processed request body
	// is complete), its response-header round trip and the delay between the
	// last response chunk sent to it and its end of stream.
	ExtProc time.Duration
	// FirstHop is the part of ExtProc spent in the first hop.
	FirstHop time.Duration
	// UpstreamHeader and UpstreamBody are the request sent to Upstream, with
	// Config.LogUpstreamRequests; nil otherwise or when nothing was sent.
	UpstreamHeader http.Header
	UpstreamBody   []byte
	Err            error
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.ExtProcAddress == "" {
		return out, errors.New("gateway: ExtProcAddress is required")
	}
	if _, _, err := net.SplitHostPort(out.ExtProcAddress); err != nil {
		return out, fmt.Errorf("gateway: ExtProcAddress %q: %w", out.ExtProcAddress, err)
	}
	if out.FirstHopAddress != "" {
		if _, _, err := net.SplitHostPort(out.FirstHopAddress); err != nil {
			return out, fmt.Errorf("gateway: FirstHopAddress %q: %w", out.FirstHopAddress, err)
		}
	}
	if out.MessageTimeout == 0 {
		out.MessageTimeout = 30 * time.Second
	}
	if out.ConnectTimeout == 0 {
		out.ConnectTimeout = 5 * time.Second
	}
	if out.RouteTimeout == 0 {
		out.RouteTimeout = 10 * time.Minute
	}
	if out.ChunkSize == 0 {
		out.ChunkSize = 32 << 10
	}
	switch out.Destination {
	case "":
		out.Destination = FromHeader
	case FromHeader, FromMetadata:
	default:
		return out, fmt.Errorf("gateway: unknown destination source %q (want %q or %q)", out.Destination, FromHeader, FromMetadata)
	}
	if out.MessageTimeout < 0 || out.ConnectTimeout < 0 || out.RouteTimeout < 0 || out.ChunkSize < 0 || out.MaxRequestBodyBytes < 0 {
		return out, errors.New("gateway: timeouts, chunk size and body limit must not be negative")
	}
	return out, nil
}
