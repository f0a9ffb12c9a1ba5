package gateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// testProcessor is an in-process ext_proc server that behaves like the
// Endpoint Picker in FULL_DUPLEX_STREAMED mode (buffer the request body,
// then answer headers and body; stream response chunks back one by one),
// with switches that inject the failures the gateway must handle.
type testProcessor struct {
	extprocv3.UnimplementedExternalProcessorServer
	dest        string // destination to pick
	viaMetadata bool   // announce it in envoy.lb metadata instead of a header
	fault       string // "", "immediate", "hang", "spurious", "grpc-error", "close", "break-response-body"

	mu   sync.Mutex
	seen []*extprocv3.ProcessingRequest
}

func (p *testProcessor) requests() []*extprocv3.ProcessingRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*extprocv3.ProcessingRequest(nil), p.seen...)
}

func setHeader(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}}
}

func streamed(b []byte, eos bool) *extprocv3.CommonResponse {
	return &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{
		Mutation: &extprocv3.BodyMutation_StreamedResponse{StreamedResponse: &extprocv3.StreamedBodyResponse{Body: b, EndOfStream: eos}},
	}}
}

func (p *testProcessor) headersResponse() *extprocv3.ProcessingResponse {
	set := []*corev3.HeaderValueOption{setHeader("x-picked-by", "test-processor")}
	resp := &extprocv3.ProcessingResponse{}
	if p.viaMetadata {
		resp.DynamicMetadata = &structpb.Struct{Fields: map[string]*structpb.Value{
			LBMetadataNamespace: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
				DestinationHeader: structpb.NewStringValue(p.dest),
			}}),
		}}
	} else {
		set = append(set, setHeader(DestinationHeader, p.dest))
	}
	resp.Response = &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
		Response: &extprocv3.CommonResponse{ClearRouteCache: true, HeaderMutation: &extprocv3.HeaderMutation{
			SetHeaders: set, RemoveHeaders: []string{"x-drop-me"},
		}},
	}}
	return resp
}

func (p *testProcessor) Process(srv extprocv3.ExternalProcessor_ProcessServer) error {
	var body []byte
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.seen = append(p.seen, req)
		p.mu.Unlock()
		var out []*extprocv3.ProcessingResponse
		switch v := req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			switch p.fault {
			case "immediate":
				return srv.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
					ImmediateResponse: &extprocv3.ImmediateResponse{
						Status:  &typev3.HttpStatus{Code: typev3.StatusCode_BadRequest},
						Body:    []byte("inference error: BadRequest - bad body"),
						Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{setHeader("x-why", "test")}},
					}}})
			case "hang":
				<-srv.Context().Done()
				return nil
			case "spurious":
				return srv.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{}})
			case "grpc-error":
				return status.Error(codes.Internal, "injected failure")
			case "close":
				return nil
			}
			if v.RequestHeaders.EndOfStream {
				out = append(out, p.headersResponse())
			}
		case *extprocv3.ProcessingRequest_RequestBody:
			body = append(body, v.RequestBody.Body...)
			if v.RequestBody.EndOfStream {
				mutated := bytes.ReplaceAll(body, []byte(`"auto"`), []byte(`"model-a"`))
				half := len(mutated) / 2
				out = append(out, p.headersResponse(),
					&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: streamed(mutated[:half], false)}}},
					&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: streamed(mutated[half:], true)}}})
			}
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			out = append(out, &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{
				Response: &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{setHeader("x-went-into-resp-headers", "true")}}},
			}}})
		case *extprocv3.ProcessingRequest_ResponseBody:
			if p.fault == "break-response-body" {
				return status.Error(codes.Internal, "injected body failure")
			}
			chunk := bytes.ReplaceAll(v.ResponseBody.Body, []byte(`"model-a"`), []byte(`"auto"`))
			out = append(out, &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{
				Response: streamed(chunk, v.ResponseBody.EndOfStream),
			}}})
		case *extprocv3.ProcessingRequest_ResponseTrailers:
			out = append(out, &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{}}})
		}
		for _, m := range out {
			if err := srv.Send(m); err != nil {
				return err
			}
		}
	}
}

// startProcessor serves p on a loopback port and returns its address.
func startProcessor(t testing.TB, p *testProcessor) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(s, p)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { s.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			s.Stop()
		}
	})
	return ln.Addr().String()
}
