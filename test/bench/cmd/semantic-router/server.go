package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/semanticselector"
)

// router is the ext_proc server: it answers the request headers at once and
// rewrites the buffered request body's model with the selector's choice.
type router struct {
	extprocv3.UnimplementedExternalProcessorServer
	sel *semanticselector.Selector
}

// pickerConfig is the part of an EndpointPickerConfig the router reads.
type pickerConfig struct {
	Plugins []struct {
		Name       string          `json:"name"`
		Type       string          `json:"type"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"plugins"`
}

// selectorFromConfig builds the selector from the semantic-model-selector
// plugin of an EndpointPickerConfig file, so both architectures classify
// with the same parameters.
func selectorFromConfig(ctx context.Context, path string) (*semanticselector.Selector, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var cfg pickerConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	for _, p := range cfg.Plugins {
		if p.Type != semanticselector.Type {
			continue
		}
		params, err := semanticselector.DecodeParameters(p.Parameters)
		if err != nil {
			return nil, fmt.Errorf("%s: plugin %q: %w", path, p.Name, err)
		}
		clf, err := loader.Load(ctx, params.Classifier)
		if err != nil {
			return nil, fmt.Errorf("%s: plugin %q: classifier: %w", path, p.Name, err)
		}
		sel, err := semanticselector.New(p.Name, params, clf)
		if err != nil {
			_ = clf.Close()
			return nil, fmt.Errorf("%s: plugin %q: %w", path, p.Name, err)
		}
		return sel, nil
	}
	return nil, fmt.Errorf("%s: no plugin of type %s", path, semanticselector.Type)
}

// Process handles one request's stream: headers, then the buffered body.
func (r *router) Process(srv extprocv3.ExternalProcessor_ProcessServer) error {
	ctx := srv.Context()
	headers := map[string]string{}
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
			return nil
		}
		if err != nil {
			return fmt.Errorf("receiving: %w", err)
		}
		var resp *extprocv3.ProcessingResponse
		switch v := req.GetRequest().(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			for _, h := range v.RequestHeaders.GetHeaders().GetHeaders() {
				val := h.GetValue()
				if val == "" {
					val = string(h.GetRawValue())
				}
				headers[h.GetKey()] = val
			}
			resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
				RequestHeaders: &extprocv3.HeadersResponse{},
			}}
		case *extprocv3.ProcessingRequest_RequestBody:
			resp = r.body(ctx, v.RequestBody.GetBody(), headers)
		default:
			// The filter skips the response path; anything else is answered
			// unchanged so the stream never stalls.
			resp = passThrough(req)
		}
		if err := srv.Send(resp); err != nil {
			return fmt.Errorf("sending: %w", err)
		}
	}
}

// body classifies an `auto` request and rewrites its model; other requests
// pass unchanged. A body the OpenAI parser rejects gets a 400.
func (r *router) body(ctx context.Context, body []byte, headers map[string]string) *extprocv3.ProcessingResponse {
	parsed, err := r.sel.ParseRequest(ctx, body, headers)
	if err != nil {
		log.FromContext(ctx).V(1).Info("rejecting request body", "error", err.Error())
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
			ImmediateResponse: &extprocv3.ImmediateResponse{
				Status: &typev3.HttpStatus{Code: typev3.StatusCode_BadRequest},
				Body:   []byte(fmt.Sprintf("bad request: %v", err)),
			},
		}}
	}
	common := &extprocv3.CommonResponse{}
	if model, ok := headers[semanticselector.HeaderSelectedModel]; ok && headers[semanticselector.HeaderSelectionReason] != semanticselector.SelectExplicit {
		newBody, err := json.Marshal(parsed.Payload)
		if err != nil {
			return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
				ImmediateResponse: &extprocv3.ImmediateResponse{
					Status: &typev3.HttpStatus{Code: typev3.StatusCode_InternalServerError},
					Body:   []byte("re-encoding the request body failed"),
				},
			}}
		}
		set := []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: semanticselector.HeaderSelectedModel, RawValue: []byte(model)}}}
		for _, k := range []string{semanticselector.HeaderCategory, semanticselector.HeaderConfidence} {
			if v, ok := headers[k]; ok {
				set = append(set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}})
			}
		}
		common.HeaderMutation = &extprocv3.HeaderMutation{SetHeaders: set}
		common.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: newBody}}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: common},
	}}
}

func passThrough(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}}
	default:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{}}}
	}
}
