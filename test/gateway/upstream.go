package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	bodyNoHealthyUpstream = "no healthy upstream"
	bodyConnectFailure    = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
	bodyUpstreamTimeout   = "upstream request timeout"
	bodyPayloadTooLarge   = "Payload Too Large"
	// Envoy's local reply when the upstream closes the connection before
	// the response is complete (StreamResetReason ConnectionTermination).
	bodyConnectionTermination = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
)

func newTimer(d time.Duration) *time.Timer { return time.NewTimer(d) }

type upstreamResult struct {
	resp *http.Response
	err  error
}

// bypass forwards the request unprocessed after a processor failure that
// failure_mode_allow tolerates.
func (ex *exchange) bypass() {
	ex.processing = false
	ex.streamCancel()
	<-ex.senderDone
	var body io.Reader
	if ex.hasBody {
		body = io.MultiReader(bytes.NewReader(ex.sentBody.Bytes()), ex.r.Body)
	}
	ex.route(body)
}

// route picks the destination and runs the upstream exchange. direct is the
// request body when the processor is bypassed; otherwise the body is what
// the processor streams back.
func (ex *exchange) route(direct io.Reader) {
	dests := ex.destinations()
	if len(dests) == 0 {
		ex.fail(errors.New("no usable destination from the endpoint picker"), "NR")
		ex.localReply(http.StatusServiceUnavailable, bodyNoHealthyUpstream)
		return
	}
	ex.upstream = strings.Join(dests, ",")
	dest, err := ex.pickDestination(dests)
	if err != nil {
		ex.fail(fmt.Errorf("connecting to %s: %w", ex.upstream, err), "UF")
		ex.localReply(http.StatusServiceUnavailable, bodyConnectFailure)
		return
	}
	ex.upstream = dest

	var body io.Reader = http.NoBody
	var pr *io.PipeReader
	var pw *io.PipeWriter
	sent := &sentBody{}
	if ex.g.cfg.LogUpstreamRequests {
		ex.upBody = &lockedBuffer{}
		sent.copy = ex.upBody
	}
	switch {
	case !ex.hasBody:
	case ex.processing:
		pr, pw = io.Pipe()
		sent.r = pr
		body = sent
	default:
		sent.r = io.NopCloser(direct)
		body = sent
	}
	method, _ := ex.reqHeaders.get(":method")
	path, _ := ex.reqHeaders.get(":path")
	authority, _ := ex.reqHeaders.get(":authority")
	upCtx, upCancel := context.WithCancel(ex.ctx)
	defer upCancel()
	req, err := http.NewRequestWithContext(upCtx, method, "http://"+dest+path, body)
	if err != nil {
		ex.fail(fmt.Errorf("building upstream request: %w", err), "NR")
		ex.localReply(http.StatusServiceUnavailable, bodyNoHealthyUpstream)
		return
	}
	req.Host = authority
	ex.reqHeaders.toHTTP(req.Header)
	if ex.g.cfg.LogUpstreamRequests {
		ex.upHeader = req.Header.Clone()
	}
	if ex.hasBody {
		req.ContentLength = -1 // chunked, as Envoy sends a processed body
		if cl, ok := ex.reqHeaders.get("content-length"); ok && !ex.processing {
			req.ContentLength, _ = strconv.ParseInt(cl, 10, 64)
		}
	}
	upCh := make(chan upstreamResult, 1)
	go func() {
		resp, err := ex.g.transport.RoundTrip(req)
		if err != nil && pr != nil {
			pr.CloseWithError(err)
		}
		upCh <- upstreamResult{resp, err}
	}()

	if pw != nil {
		if err := ex.forwardRequestBody(pw); err != nil {
			upCancel()
			pw.CloseWithError(err)
			if res := <-upCh; res.resp != nil {
				_ = res.resp.Body.Close()
			}
			if !errors.Is(err, errImmediate) {
				ex.failureReply(err)
			}
			return
		}
	}
	res := <-upCh
	if res.err != nil {
		if errors.Is(ex.ctx.Err(), context.DeadlineExceeded) {
			ex.fail(fmt.Errorf("upstream %s: %w", dest, res.err), "UT")
			ex.localReply(http.StatusGatewayTimeout, bodyUpstreamTimeout)
			return
		}
		if ex.r.Context().Err() != nil {
			ex.fail(fmt.Errorf("client went away: %w", ex.r.Context().Err()), "DC")
			return
		}
		if sent.started() {
			// Connected and part of the body went out: a disconnect, not a
			// connect failure.
			ex.fail(fmt.Errorf("upstream %s: %w", dest, res.err), "UC")
			ex.localReply(http.StatusServiceUnavailable, bodyConnectionTermination)
			return
		}
		ex.fail(fmt.Errorf("upstream %s: %w", dest, res.err), "UF")
		ex.localReply(http.StatusServiceUnavailable, bodyConnectFailure)
		return
	}
	defer func() { _ = res.resp.Body.Close() }()
	resp := res.resp
	if pr != nil && !sent.complete() && resp.StatusCode < 300 {
		// The upstream answered a success without reading the whole body
		// and closed (llm-d-inference-sim does this above its body limit):
		// it never processed the request. Envoy sees the connection reset
		// under the request it is still writing and answers 503.
		ex.fail(fmt.Errorf("upstream %s closed the connection before reading the request body (%d bytes read), answering %d", dest, sent.bytes(), resp.StatusCode), "UC")
		ex.localReply(http.StatusServiceUnavailable, bodyConnectionTermination)
		return
	}
	hasBody := resp.ContentLength != 0 && method != http.MethodHead &&
		resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	ex.respond(resp.StatusCode, resp.Header, resp.Body, hasBody, func() http.Header { return resp.Trailer })
}

// forwardRequestBody writes the body chunks the processor streams back to
// the upstream request until the processor ends the stream.
func (ex *exchange) forwardRequestBody(pw *io.PipeWriter) error {
	for {
		m, err := ex.next()
		if err != nil {
			ex.endRequestPath()
			return err
		}
		switch {
		case m.GetImmediateResponse() != nil:
			ex.endRequestPath()
			ex.writeImmediate(m.GetImmediateResponse())
			return errImmediate
		case m.GetRequestBody() != nil:
			bm := m.GetRequestBody().GetResponse().GetBodyMutation()
			if bm != nil && bm.GetStreamedResponse() == nil {
				return fmt.Errorf("body mutation %T is not valid in FULL_DUPLEX_STREAMED mode", bm.GetMutation())
			}
			sr := bm.GetStreamedResponse()
			if len(sr.GetBody()) > 0 {
				// A failed upstream surfaces through RoundTrip's error.
				_, _ = pw.Write(sr.GetBody())
			}
			if sr.GetEndOfStream() {
				ex.endRequestPath()
				return pw.Close()
			}
		case m.GetRequestTrailers() != nil:
			ex.endRequestPath()
			// HTTP/1.1 upstreams get no request trailers; the body ends here.
			return pw.Close()
		default:
			return fmt.Errorf("spurious ext_proc message %T while streaming the request body", m.GetResponse())
		}
	}
}

// localReply answers with a gateway-generated response. Once the request
// was routed, it goes through the processor's response path like Envoy's
// local replies do.
func (ex *exchange) localReply(status int, msg string) {
	if !ex.processing {
		ex.writeLocal(status, msg)
		return
	}
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	ex.respond(status, h, strings.NewReader(msg), true, nil)
}

// writeLocal writes a response without involving the processor.
func (ex *exchange) writeLocal(status int, msg string) {
	h := ex.w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	ex.w.WriteHeader(status)
	_, _ = io.WriteString(ex.w, msg)
	ex.status = status
}

// writeImmediate writes an ext_proc ImmediateResponse to the client.
func (ex *exchange) writeImmediate(ir *extprocv3.ImmediateResponse) {
	status := int(ir.GetStatus().GetCode())
	if status < 200 {
		status = http.StatusOK
	}
	h := headerList{}
	if err := applyMutation(&h, ir.GetHeaders()); err != nil {
		h = headerList{}
	}
	body := ir.GetBody()
	if len(body) > 0 && !h.has("content-type") {
		h.set("content-type", "text/plain")
	}
	h.set("content-length", strconv.Itoa(len(body)))
	h.toHTTP(ex.w.Header())
	ex.w.WriteHeader(status)
	_, _ = ex.w.Write(body)
	ex.status = status
	ex.fail(nil, "IR")
}

func (ex *exchange) servedMetadata() *corev3.Metadata {
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
		LBMetadataNamespace: {Fields: map[string]*structpb.Value{
			DestinationServedKey: structpb.NewStringValue(ex.upstream),
		}},
	}}
}

// sentBody is the processed request body as the upstream transport reads
// it; it tells whether the upstream took all of it.
type sentBody struct {
	r    io.ReadCloser
	n    atomic.Int64
	done atomic.Bool
	copy *lockedBuffer // with Config.LogUpstreamRequests
}

func (s *sentBody) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n.Add(int64(n))
	if s.copy != nil {
		s.copy.write(p[:n])
	}
	if err == io.EOF {
		s.done.Store(true)
	}
	return n, err
}

// Close lets the transport end the pipe when it stops sending, which
// unblocks the writer of the processed body.
func (s *sentBody) Close() error { return s.r.Close() }

func (s *sentBody) started() bool  { return s.n.Load() > 0 }
func (s *sentBody) complete() bool { return s.done.Load() }
func (s *sentBody) bytes() int64   { return s.n.Load() }

// lockedBuffer keeps what the upstream transport read, for the access log;
// the transport may still be reading when the exchange ends.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) write(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
