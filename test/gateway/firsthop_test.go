package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// routerProcessor plays a first hop in BUFFERED mode, like a semantic
// router: it answers the headers, then rewrites the whole body's model and
// sets x-selected-model; fault injects its failures.
type routerProcessor struct {
	extprocv3.UnimplementedExternalProcessorServer
	fault string // "", "immediate", "grpc-error", "streamed-mutation"
}

func (p *routerProcessor) Process(srv extprocv3.ExternalProcessor_ProcessServer) error {
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var out *extprocv3.ProcessingResponse
		switch v := req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			out = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}
		case *extprocv3.ProcessingRequest_RequestBody:
			if !v.RequestBody.EndOfStream {
				return status.Error(codes.InvalidArgument, "BUFFERED mode must send the whole body at once")
			}
			switch p.fault {
			case "immediate":
				out = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
					Status: &typev3.HttpStatus{Code: typev3.StatusCode_Forbidden}, Body: []byte("blocked by the router"),
				}}}
			case "grpc-error":
				return status.Error(codes.Internal, "injected router failure")
			case "streamed-mutation":
				out = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: streamed([]byte("x"), true)}}}
			default:
				body := bytes.ReplaceAll(v.RequestBody.Body, []byte(`"auto"`), []byte(`"model-long-name"`))
				out = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
					Response: &extprocv3.CommonResponse{
						HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{setHeader("x-selected-model", "model-long-name")}},
						BodyMutation:   &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}},
					},
				}}}
			}
		default:
			return status.Errorf(codes.InvalidArgument, "first hop got %T: the response path is skipped", v)
		}
		if err := srv.Send(out); err != nil {
			return err
		}
	}
}

// startServer serves any ext_proc server on a loopback port.
func startServer(t *testing.T, srv extprocv3.ExternalProcessorServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(s, srv)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func TestGatewayFirstHop(t *testing.T) {
	echo := startEcho(t, nil)
	const in = `{"model":"auto","prompt":"2+2 is"}`
	tests := []struct {
		name       string
		fault      string
		wantStatus int
		wantBody   string // upstream body (200) or reply body prefix
	}{
		{name: "rewrites body and headers before the picker", wantStatus: 200, wantBody: `{"model":"model-long-name","prompt":"2+2 is"}`},
		{name: "immediate response", fault: "immediate", wantStatus: 403, wantBody: "blocked by the router"},
		{name: "router failure fails closed", fault: "grpc-error", wantStatus: 500, wantBody: "ext_proc_error_gRPC_error"},
		{name: "streamed mutation is invalid in BUFFERED mode", fault: "streamed-mutation", wantStatus: 500, wantBody: "ext_proc_error_gRPC_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			picker := &testProcessor{dest: hostOf(echo.URL)}
			url, log := startGateway(t, Config{
				ExtProcAddress:  startProcessor(t, picker),
				FirstHopAddress: startServer(t, &routerProcessor{fault: tc.fault}),
			})
			resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(in))
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer func() { _ = resp.Body.Close() }()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, tc.wantStatus)
			}
			e := log.first(t)
			if tc.wantStatus != 200 {
				if !strings.HasPrefix(string(raw), tc.wantBody) {
					t.Errorf("reply %q, want %q", raw, tc.wantBody)
				}
				if len(picker.requests()) != 0 {
					t.Errorf("the picker was called after the first hop ended the request")
				}
				return
			}
			var got echoed
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("decode %q: %v", raw, err)
			}
			if got.Body != tc.wantBody || got.Header.Get("X-Selected-Model") != "model-long-name" {
				t.Errorf("upstream got body %q, x-selected-model %q", got.Body, got.Header.Get("X-Selected-Model"))
			}
			// The picker sees the first hop's headers and the new length.
			var cl, sel string
			for _, h := range picker.requests()[0].GetRequestHeaders().GetHeaders().GetHeaders() {
				switch h.GetKey() {
				case "content-length":
					cl = string(h.GetRawValue()) + h.GetValue()
				case "x-selected-model":
					sel = string(h.GetRawValue()) + h.GetValue()
				}
			}
			if cl != "45" || sel != "model-long-name" {
				t.Errorf("picker saw content-length %q, x-selected-model %q; want 45, model-long-name", cl, sel)
			}
			if e.FirstHop <= 0 || e.ExtProc <= e.FirstHop {
				t.Errorf("ext_proc time %v, first hop %v: want both recorded, first hop a part", e.ExtProc, e.FirstHop)
			}
		})
	}
}

func TestGatewayRecordsExtProcTime(t *testing.T) {
	echo := startEcho(t, nil)
	url, log := startGateway(t, Config{ExtProcAddress: startProcessor(t, &testProcessor{dest: hostOf(echo.URL)})})
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"model":"auto"}`))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	e := log.first(t)
	if e.ExtProc <= 0 || e.FirstHop != 0 || e.ExtProc > e.Duration {
		t.Errorf("ext_proc %v, first hop %v, duration %v: want 0 < ext_proc ≤ duration and no first hop", e.ExtProc, e.FirstHop, e.Duration)
	}
}
