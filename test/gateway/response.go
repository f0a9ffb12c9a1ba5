package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// respond runs the response path: headers and then the streamed body go
// through the processor and on to the client, chunk by chunk.
func (ex *exchange) respond(status int, hdr http.Header, body io.Reader, hasBody bool, trailers func() http.Header) {
	h := headerList{{":status", strconv.Itoa(status)}}
	h.fromHTTP(hdr)
	if !ex.processing {
		ex.passThrough(h, body, hasBody, trailers)
		return
	}
	hdrStart := time.Now()
	err := ex.send(&extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
			Headers: h.proto(), EndOfStream: !hasBody,
		}},
		MetadataContext: ex.servedMetadata(),
	})
	var m *extprocv3.ProcessingResponse
	if err == nil {
		m, err = ex.nextResponseMessage()
	}
	ex.addExtProc(time.Since(hdrStart), false)
	if err == nil {
		if ir := m.GetImmediateResponse(); ir != nil {
			ex.writeImmediate(ir)
			return
		}
		if m.GetResponseHeaders() == nil {
			err = fmt.Errorf("spurious ext_proc message %T while waiting for the response header response", m.GetResponse())
		} else {
			err = applyMutation(&h, m.GetResponseHeaders().GetResponse().GetHeaderMutation())
		}
	}
	if err != nil {
		if !ex.g.cfg.FailureModeAllow {
			ex.failureReply(err)
			return
		}
		ex.fail(err, "UAEX")
		ex.processing = false
		ex.streamCancel()
		ex.passThrough(headerListFrom(status, hdr), body, hasBody, trailers)
		return
	}
	if hasBody {
		h.remove("content-length") // FULL_DUPLEX_STREAMED: the body may change size
	}
	ex.writeHeaders(h)
	if !hasBody {
		ex.finishStream()
		return
	}
	go ex.sendResponseBody(body, trailers)
	ex.receiveResponseBody()
}

func headerListFrom(status int, hdr http.Header) headerList {
	h := headerList{{":status", strconv.Itoa(status)}}
	h.fromHTTP(hdr)
	return h
}

// nextResponseMessage returns the next processor message, skipping answers
// to request-body chunks that a local reply made irrelevant.
func (ex *exchange) nextResponseMessage() (*extprocv3.ProcessingResponse, error) {
	for {
		m, err := ex.next()
		if err != nil {
			return nil, err
		}
		if m.GetRequestBody() != nil || m.GetRequestTrailers() != nil {
			continue
		}
		return m, nil
	}
}

func (ex *exchange) writeHeaders(h headerList) {
	status := http.StatusOK
	if s, ok := h.get(":status"); ok {
		if v, err := strconv.Atoi(s); err == nil {
			status = v
		}
	}
	h.toHTTP(ex.w.Header())
	ex.w.WriteHeader(status)
	ex.status = status
}

// sendResponseBody streams the upstream body to the processor as it
// arrives, then the trailers if the upstream sent any.
func (ex *exchange) sendResponseBody(body io.Reader, trailers func() http.Header) {
	buf := make([]byte, ex.g.cfg.ChunkSize)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if ex.send(bodyMsg(append([]byte(nil), buf[:n]...), false, false)) != nil {
				return
			}
		}
		if errors.Is(rerr, io.EOF) {
			t := headerList{}
			if trailers != nil {
				t.fromHTTP(trailers())
			}
			ex.eosSentAt.Store(time.Now().UnixNano())
			if len(t) == 0 {
				_ = ex.send(bodyMsg(nil, true, false))
				return
			}
			_ = ex.send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseTrailers{
				ResponseTrailers: &extprocv3.HttpTrailers{Trailers: t.proto()},
			}})
			return
		}
		if rerr != nil {
			ex.fail(fmt.Errorf("reading upstream response body: %w", rerr), "UR")
			ex.streamCancel()
			return
		}
	}
}

// receiveResponseBody writes the body chunks the processor streams back to
// the client, flushing each one (server-sent events arrive as sent).
func (ex *exchange) receiveResponseBody() {
	rc := http.NewResponseController(ex.w)
	_ = rc.Flush() // headers go out now, as Envoy sends them downstream
	for {
		m, err := ex.nextStreamed()
		if err != nil {
			ex.fail(fmt.Errorf("response body: %w", err), "UAEX")
			ex.abort = true
			return
		}
		switch {
		case m.GetRequestBody() != nil || m.GetRequestTrailers() != nil:
			continue
		case m.GetResponseBody() != nil:
			bm := m.GetResponseBody().GetResponse().GetBodyMutation()
			if bm != nil && bm.GetStreamedResponse() == nil {
				ex.fail(fmt.Errorf("body mutation %T is not valid in FULL_DUPLEX_STREAMED mode", bm.GetMutation()), "UAEX")
				ex.abort = true
				return
			}
			sr := bm.GetStreamedResponse()
			if len(sr.GetBody()) > 0 {
				if _, err := ex.w.Write(sr.GetBody()); err != nil {
					ex.fail(fmt.Errorf("writing to client: %w", err), "DC")
					return
				}
				_ = rc.Flush()
			}
			if sr.GetEndOfStream() {
				ex.endResponseBody()
				ex.finishStream()
				return
			}
		case m.GetResponseTrailers() != nil:
			ex.endResponseBody()
			t := headerList{}
			if err := applyMutation(&t, m.GetResponseTrailers().GetHeaderMutation()); err != nil {
				ex.fail(fmt.Errorf("response trailer mutation: %w", err), "UAEX")
				ex.abort = true
				return
			}
			for _, e := range t {
				ex.w.Header().Add(http.TrailerPrefix+e.key, e.value)
			}
			ex.finishStream()
			return
		default:
			ex.fail(fmt.Errorf("spurious ext_proc message %T while streaming the response body", m.GetResponse()), "UAEX")
			ex.abort = true
			return
		}
	}
}

// endResponseBody records the delay between the response's end of stream
// going to the processor and the processor's end of stream.
func (ex *exchange) endResponseBody() {
	if sent := ex.eosSentAt.Load(); sent != 0 {
		ex.addExtProc(time.Since(time.Unix(0, sent)), false)
	}
}

// passThrough writes the response unprocessed.
func (ex *exchange) passThrough(h headerList, body io.Reader, hasBody bool, trailers func() http.Header) {
	ex.writeHeaders(h)
	if !hasBody {
		return
	}
	rc := http.NewResponseController(ex.w)
	buf := make([]byte, ex.g.cfg.ChunkSize)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := ex.w.Write(buf[:n]); err != nil {
				ex.fail(fmt.Errorf("writing to client: %w", err), "DC")
				return
			}
			_ = rc.Flush()
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			ex.fail(fmt.Errorf("reading upstream response body: %w", rerr), "UR")
			ex.abort = true
			return
		}
	}
	if trailers != nil {
		for k, vs := range trailers() {
			for _, v := range vs {
				ex.w.Header().Add(http.TrailerPrefix+k, v)
			}
		}
	}
}

// finishStream half-closes the ext_proc stream: the exchange is complete.
func (ex *exchange) finishStream() {
	ex.sendMu.Lock()
	defer ex.sendMu.Unlock()
	if ex.stream != nil {
		_ = ex.stream.CloseSend()
	}
}
