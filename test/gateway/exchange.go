package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/structpb"
)

var (
	errMessageTimeout = errors.New("ext_proc message timeout")
	errStreamClosed   = errors.New("ext_proc stream closed by the server")
)

// exchange is the state of one request: the client side, the ext_proc
// stream and the upstream request.
type exchange struct {
	g      *Gateway
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context // request lifetime, bounded by RouteTimeout
	cancel context.CancelFunc

	streamCtx    context.Context
	streamCancel context.CancelFunc
	stream       extprocv3.ExternalProcessor_ProcessClient
	sendMu       sync.Mutex
	pendingSince atomic.Int64 // unix nanos of the oldest unanswered body message, 0 if none
	msgs         chan *extprocv3.ProcessingResponse
	recvErr      error // valid once msgs is closed
	processing   bool  // false once the processor is bypassed

	hasBody    bool
	reqHeaders headerList
	metadata   *structpb.Struct
	sentBody   bytes.Buffer // client body sent to the processor, for failure_mode_allow
	senderDone chan struct{}

	// results, for the access log (err and flags under resMu: the body
	// senders report failures from their goroutines)
	resMu    sync.Mutex
	status   int
	upstream string
	flags    string
	err      error
	abort    bool
	upHeader http.Header   // with Config.LogUpstreamRequests
	upBody   *lockedBuffer // with Config.LogUpstreamRequests

	// time waiting on processors (under resMu), see AccessLogEntry.ExtProc
	extProc      time.Duration
	firstHopTime time.Duration
	reqStart     time.Time
	reqDone      atomic.Bool  // the picker's request path was timed
	tooLarge     atomic.Bool  // the request body passed MaxRequestBodyBytes
	eosSentAt    atomic.Int64 // unix nanos the response end of stream went to the picker
}

func newExchange(g *Gateway, w http.ResponseWriter, r *http.Request) *exchange {
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RouteTimeout)
	sctx, scancel := context.WithCancel(ctx)
	return &exchange{
		g: g, w: w, r: r, ctx: ctx, cancel: cancel, streamCtx: sctx, streamCancel: scancel,
		msgs:       make(chan *extprocv3.ProcessingResponse, 16),
		hasBody:    r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody,
		senderDone: make(chan struct{}),
	}
}

func (ex *exchange) close() {
	ex.streamCancel()
	ex.cancel()
}

// endRequestPath records the picker's request-path time once.
func (ex *exchange) endRequestPath() {
	if !ex.reqStart.IsZero() && ex.reqDone.CompareAndSwap(false, true) {
		ex.addExtProc(time.Since(ex.reqStart), false)
	}
}

// extProcTimes returns the total processor time and the first hop's part.
func (ex *exchange) extProcTimes() (time.Duration, time.Duration) {
	ex.resMu.Lock()
	defer ex.resMu.Unlock()
	return ex.extProc, ex.firstHopTime
}

func (ex *exchange) fail(err error, flags string) {
	ex.resMu.Lock()
	defer ex.resMu.Unlock()
	if ex.err == nil {
		ex.err = err
	}
	if ex.flags == "" {
		ex.flags = flags
	}
}

// outcome returns the error and flags recorded so far.
func (ex *exchange) outcome() (string, error) {
	ex.resMu.Lock()
	defer ex.resMu.Unlock()
	return ex.flags, ex.err
}

// send writes one message to the processor; the request-body sender and
// the response path may send concurrently.
func (ex *exchange) send(m *extprocv3.ProcessingRequest) error {
	ex.sendMu.Lock()
	defer ex.sendMu.Unlock()
	if err := ex.stream.Send(m); err != nil {
		return fmt.Errorf("sending to ext_proc: %w", err)
	}
	if m.GetResponseBody() != nil {
		ex.pendingSince.CompareAndSwap(0, time.Now().UnixNano())
	}
	return nil
}

// nextStreamed waits for the next processor message while the response
// body streams. Like Envoy's message_timeout, the timeout only runs while a
// chunk sent to the processor is unanswered: a slow upstream (long pauses
// between server-sent events) is not a processor timeout.
func (ex *exchange) nextStreamed() (*extprocv3.ProcessingResponse, error) {
	for {
		m, err := ex.next()
		if errors.Is(err, errMessageTimeout) {
			since := ex.pendingSince.Load()
			if since == 0 || time.Since(time.Unix(0, since)) < ex.g.cfg.MessageTimeout {
				continue
			}
		}
		if err == nil {
			ex.pendingSince.Store(0)
		}
		return m, err
	}
}

// next waits for the processor's next message, at most MessageTimeout.
func (ex *exchange) next() (*extprocv3.ProcessingResponse, error) {
	t := newTimer(ex.g.cfg.MessageTimeout)
	defer t.Stop()
	select {
	case m, ok := <-ex.msgs:
		if !ok {
			if errors.Is(ex.recvErr, io.EOF) {
				return nil, errStreamClosed
			}
			return nil, fmt.Errorf("ext_proc stream: %w", ex.recvErr)
		}
		return m, nil
	case <-t.C:
		return nil, errMessageTimeout
	case <-ex.ctx.Done():
		return nil, fmt.Errorf("request ended: %w", ex.ctx.Err())
	}
}

// failureReply answers the client for a processor failure when failure
// mode does not allow continuing.
func (ex *exchange) failureReply(err error) {
	if ex.tooLarge.Load() {
		ex.payloadTooLarge()
		return
	}
	ex.fail(err, "UAEX")
	if errors.Is(err, errMessageTimeout) {
		ex.writeLocal(http.StatusGatewayTimeout, "ext_proc_error_message_timeout")
		return
	}
	ex.writeLocal(http.StatusInternalServerError, "ext_proc_error_gRPC_error")
}

// processorFailed applies failure_mode_allow to a processor failure before
// the request headers were answered: deny with a local reply, or record the
// failure and forward the request unprocessed.
func (ex *exchange) processorFailed(err error) {
	if !ex.g.cfg.FailureModeAllow {
		ex.failureReply(err)
		return
	}
	ex.fail(err, "UAEX")
	ex.bypass()
}

func (ex *exchange) run() {
	if limit := ex.g.cfg.MaxRequestBodyBytes; limit > 0 && ex.r.ContentLength > limit {
		close(ex.senderDone)
		ex.payloadTooLarge()
		return
	}
	ex.reqHeaders = ex.requestHeaders()
	if ex.g.firstClient != nil {
		if err := ex.firstHop(); err != nil {
			close(ex.senderDone)
			if !errors.Is(err, errImmediate) {
				ex.firstHopFailed(err)
			}
			return
		}
	}
	ex.reqStart = time.Now()
	if err := ex.openStream(); err != nil {
		close(ex.senderDone) // no body was sent to the processor
		ex.processorFailed(err)
		return
	}
	if ex.hasBody {
		go ex.sendRequestBody()
	} else {
		close(ex.senderDone)
	}

	m, err := ex.next()
	if err == nil {
		err = ex.handleHeaderResponse(m)
	}
	if !ex.hasBody || err != nil {
		ex.endRequestPath()
	}
	if errors.Is(err, errImmediate) {
		return
	}
	if err != nil && ex.tooLarge.Load() {
		ex.payloadTooLarge()
		return
	}
	if err != nil {
		ex.processorFailed(err)
		return
	}
	ex.route(nil)
}

// payloadTooLarge answers a body over MaxRequestBodyBytes like Envoy's
// buffer filter.
func (ex *exchange) payloadTooLarge() {
	ex.fail(fmt.Errorf("request body over the %d-byte limit", ex.g.cfg.MaxRequestBodyBytes), "RL")
	ex.writeLocal(http.StatusRequestEntityTooLarge, bodyPayloadTooLarge)
}

var errImmediate = errors.New("immediate response sent")

// requestHeaders builds the header map Envoy would send: pseudo-headers,
// the client headers, and the headers the connection manager adds.
func (ex *exchange) requestHeaders() headerList {
	r := ex.r
	h := headerList{
		{":authority", r.Host}, {":path", r.URL.RequestURI()}, {":method", r.Method}, {":scheme", "http"},
	}
	h.fromHTTP(r.Header)
	if r.ContentLength > 0 {
		h.set("content-length", strconv.FormatInt(r.ContentLength, 10))
	}
	if !h.has("x-request-id") {
		h.add("x-request-id", uuid.NewString())
	}
	h.set("x-forwarded-proto", "http")
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior, ok := h.get("x-forwarded-for"); ok {
			h.set("x-forwarded-for", prior+", "+host)
		} else {
			h.add("x-forwarded-for", host)
		}
	}
	return h
}

func (ex *exchange) openStream() error {
	stream, err := ex.g.client.Process(ex.streamCtx)
	if err != nil {
		return fmt.Errorf("opening ext_proc stream: %w", err)
	}
	ex.stream = stream
	ex.processing = true
	go func() {
		defer close(ex.msgs)
		for {
			m, err := stream.Recv()
			if err != nil {
				ex.recvErr = err
				return
			}
			select {
			case ex.msgs <- m:
			case <-ex.streamCtx.Done():
				ex.recvErr = ex.streamCtx.Err()
				return
			}
		}
	}()
	first := &extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
			Headers: ex.reqHeaders.proto(), EndOfStream: !ex.hasBody,
		}},
		ProtocolConfig: &extprocv3.ProtocolConfiguration{
			RequestBodyMode:  extprocfilterv3.ProcessingMode_FULL_DUPLEX_STREAMED,
			ResponseBodyMode: extprocfilterv3.ProcessingMode_FULL_DUPLEX_STREAMED,
		},
	}
	if err := ex.send(first); err != nil {
		return err
	}
	return nil
}

// sendRequestBody streams the client body to the processor as it arrives
// (full duplex: without waiting for the header response).
func (ex *exchange) sendRequestBody() {
	defer close(ex.senderDone)
	buf := make([]byte, ex.g.cfg.ChunkSize)
	var total int64
	for {
		n, rerr := ex.r.Body.Read(buf)
		total += int64(n)
		if limit := ex.g.cfg.MaxRequestBodyBytes; limit > 0 && total > limit {
			ex.tooLarge.Store(true)
			ex.streamCancel()
			return
		}
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			ex.sentBody.Write(chunk)
			if ex.send(bodyMsg(chunk, false, true)) != nil {
				return
			}
		}
		if errors.Is(rerr, io.EOF) {
			trailers := headerList{}
			trailers.fromHTTP(ex.r.Trailer)
			if len(trailers) == 0 {
				_ = ex.send(bodyMsg(nil, true, true))
				return
			}
			_ = ex.send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{
				RequestTrailers: &extprocv3.HttpTrailers{Trailers: trailers.proto()},
			}})
			return
		}
		if rerr != nil {
			// The client went away mid-body: abandon the stream.
			ex.streamCancel()
			return
		}
	}
}

func bodyMsg(b []byte, eos, request bool) *extprocv3.ProcessingRequest {
	body := &extprocv3.HttpBody{Body: b, EndOfStream: eos}
	if request {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: body}}
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: body}}
}

// handleHeaderResponse applies the processor's answer to the request
// headers. It returns errImmediate after writing an immediate response.
func (ex *exchange) handleHeaderResponse(m *extprocv3.ProcessingResponse) error {
	if ir := m.GetImmediateResponse(); ir != nil {
		ex.writeImmediate(ir)
		return errImmediate
	}
	hr := m.GetRequestHeaders()
	if hr == nil {
		return fmt.Errorf("spurious ext_proc message %T while waiting for the request header response", m.GetResponse())
	}
	if err := applyMutation(&ex.reqHeaders, hr.GetResponse().GetHeaderMutation()); err != nil {
		return fmt.Errorf("request header mutation: %w", err)
	}
	ex.mergeMetadata(m.GetDynamicMetadata())
	if ex.hasBody {
		// FULL_DUPLEX_STREAMED: the processor may resize the body.
		ex.reqHeaders.remove("content-length")
	}
	return nil
}

func (ex *exchange) mergeMetadata(md *structpb.Struct) {
	if md == nil {
		return
	}
	if ex.metadata == nil {
		ex.metadata = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	for k, v := range md.GetFields() {
		ex.metadata.Fields[k] = v
	}
}

// destinations returns the endpoints the processor picked, in order.
func (ex *exchange) destinations() []string {
	var raw string
	if ex.g.cfg.Destination == FromMetadata {
		ns := ex.metadata.GetFields()[LBMetadataNamespace].GetStructValue()
		raw = ns.GetFields()[DestinationHeader].GetStringValue()
	} else {
		raw, _ = ex.reqHeaders.get(DestinationHeader)
	}
	var out []string
	for _, d := range strings.Split(raw, ",") {
		d = strings.TrimSpace(d)
		host, port, err := net.SplitHostPort(d)
		if err != nil || net.ParseIP(host) == nil {
			continue // ORIGINAL_DST needs an IP literal
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			continue
		}
		out = append(out, d)
	}
	return out
}

// pickDestination returns the first destination that accepts a TCP
// connection (the inference extension's fallback order).
func (ex *exchange) pickDestination(dests []string) (string, error) {
	if len(dests) == 1 {
		return dests[0], nil
	}
	var errs []error
	for _, d := range dests {
		conn, err := ex.g.dialer.DialContext(ex.ctx, "tcp", d)
		if err == nil {
			_ = conn.Close()
			return d, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}
