package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// maxBufferedBody bounds the body the first hop buffers, like Envoy's
// buffer limit for BUFFERED bodies (above it Envoy answers 413).
const maxBufferedBody = 8 << 20

var errBodyTooLarge = errors.New("request body too large for the buffered first hop")

// firstHop runs the request through the first ext_proc filter of the chain
// (Config.FirstHopAddress) before the picker's: request headers SEND, request
// body BUFFERED, response path SKIP — the processing mode of the vLLM
// semantic router's ext_proc filter. Header and body mutations are applied
// to the request the picker then sees. It returns errImmediate after
// writing an immediate response, or an error the caller turns into a reply.
func (ex *exchange) firstHop() error {
	start := time.Now()
	defer func() { ex.addExtProc(time.Since(start), true) }()
	var body []byte
	if ex.hasBody {
		b, err := io.ReadAll(io.LimitReader(ex.r.Body, maxBufferedBody+1))
		if err != nil {
			return fmt.Errorf("first hop: reading the request body: %w", err)
		}
		if len(b) > maxBufferedBody {
			return errBodyTooLarge
		}
		body = b
	}
	stream, err := ex.g.firstClient.Process(ex.streamCtx)
	if err != nil {
		return fmt.Errorf("first hop: opening ext_proc stream: %w", err)
	}
	defer func() { _ = stream.CloseSend() }()
	err = stream.Send(&extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
			Headers: ex.reqHeaders.proto(), EndOfStream: !ex.hasBody,
		}},
		ProtocolConfig: &extprocv3.ProtocolConfiguration{RequestBodyMode: extprocfilterv3.ProcessingMode_BUFFERED},
	})
	if err != nil {
		return fmt.Errorf("first hop: sending request headers: %w", err)
	}
	m, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("first hop: waiting for the header response: %w", err)
	}
	if ir := m.GetImmediateResponse(); ir != nil {
		ex.writeImmediate(ir)
		return errImmediate
	}
	if m.GetRequestHeaders() == nil {
		return fmt.Errorf("first hop: spurious message %T while waiting for the request header response", m.GetResponse())
	}
	if err := applyMutation(&ex.reqHeaders, m.GetRequestHeaders().GetResponse().GetHeaderMutation()); err != nil {
		return fmt.Errorf("first hop: request header mutation: %w", err)
	}
	if !ex.hasBody {
		return nil
	}
	err = stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true},
	}})
	if err != nil {
		return fmt.Errorf("first hop: sending the request body: %w", err)
	}
	if m, err = stream.Recv(); err != nil {
		return fmt.Errorf("first hop: waiting for the body response: %w", err)
	}
	if ir := m.GetImmediateResponse(); ir != nil {
		ex.writeImmediate(ir)
		return errImmediate
	}
	br := m.GetRequestBody()
	if br == nil {
		return fmt.Errorf("first hop: spurious message %T while waiting for the request body response", m.GetResponse())
	}
	if err := applyMutation(&ex.reqHeaders, br.GetResponse().GetHeaderMutation()); err != nil {
		return fmt.Errorf("first hop: request header mutation: %w", err)
	}
	if bm := br.GetResponse().GetBodyMutation(); bm != nil {
		switch {
		case bm.GetClearBody():
			body = nil
		case bm.GetBody() != nil:
			body = bm.GetBody()
		case bm.GetStreamedResponse() != nil:
			return errors.New("first hop: streamed body mutation is not valid in BUFFERED mode")
		}
	}
	// The next filter sees the mutated body with its length, as Envoy
	// recomputes content-length after a buffered body mutation.
	r := ex.r.WithContext(ex.r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	ex.r = r
	ex.hasBody = len(body) > 0
	ex.reqHeaders.set("content-length", strconv.Itoa(len(body)))
	return nil
}

// firstHopFailed answers the client for a first-hop failure (the first
// filter fails closed: 500, or 413 for a body over the buffer limit).
func (ex *exchange) firstHopFailed(err error) {
	if errors.Is(err, errBodyTooLarge) {
		ex.fail(err, "UAEX")
		ex.writeLocal(http.StatusRequestEntityTooLarge, "Payload Too Large")
		return
	}
	ex.failureReply(err)
}

// addExtProc records time spent waiting on a processor.
func (ex *exchange) addExtProc(d time.Duration, first bool) {
	ex.resMu.Lock()
	defer ex.resMu.Unlock()
	ex.extProc += d
	if first {
		ex.firstHopTime += d
	}
}
