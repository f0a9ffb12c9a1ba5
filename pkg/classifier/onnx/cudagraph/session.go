//go:build cgo

// Package cudagraph runs an ONNX graph on ONNX Runtime's CUDA execution
// provider as captured CUDA graphs. ONNX Runtime captures a graph only when
// every input and output of the run lives in GPU memory bound once
// (IoBinding), which onnxruntime_go cannot express: it creates CPU tensors
// only. This package reaches the same library's C API directly, binds
// buffers of fixed shape per slot, and replays the slot's graph on each
// run, so a small batch costs one graph launch instead of one launch per
// kernel. The buffers ONNX Runtime takes for GPU memory may be pinned host
// memory mapped into the device (Mapped): the graph then reads its inputs
// and writes its outputs over the bus itself, and a run makes no copy.
//
// A Session holds one ONNX Runtime session (enable_cuda_graph); each slot
// is one shape (batch, sequence) with its graph id. The CUDA provider keeps
// its graphs per OS thread, and a capture on one thread breaks the work of
// every other thread on the device, so everything a Session does runs on
// one goroutine locked to its OS thread (a lockedthread pool of one): the
// graphs are captured once, at load, and only replayed after. Runs of one
// session are serialized: a captured graph has one set of buffers.
package cudagraph

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "cudagraph.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx/lockedthread"
)

// APIVersion is the ONNX Runtime C API version requested; the loaded
// library must serve it (onnxruntime_go v1.27 needs the same).
const APIVersion = 24

var (
	openMu   sync.Mutex
	openPath string
)

// cerr turns a message from the C side into an error and frees it.
func cerr(m *C.char, what string) error {
	if m == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(m))
	return fmt.Errorf("%s: %s", what, C.GoString(m))
}

// open resolves the ONNX Runtime library at path and the CUDA runtime, once
// per process.
func open(path string) error {
	openMu.Lock()
	defer openMu.Unlock()
	if openPath != "" {
		if openPath != path {
			return fmt.Errorf("ONNX Runtime is already reached at %s, not %s", openPath, path)
		}
		return nil
	}
	p := C.CString(path)
	defer C.free(unsafe.Pointer(p))
	if err := cerr(C.cg_open(p, C.int(APIVersion)), "CUDA graphs"); err != nil {
		return err
	}
	openPath = path
	return nil
}

// Options configure a Session.
type Options struct {
	// LibraryPath is the libonnxruntime already initialized by onnxruntime_go.
	LibraryPath string
	DeviceID    int
	// Provider holds CUDA provider options (device_id and enable_cuda_graph
	// are set here).
	Provider map[string]string
	Inputs   []string // int64 [batch, seq] each
	Outputs  []string // float32 [batch, width] each
	Widths   []int    // of each output
	// Spin is how long the session's thread, and a run waiting on it, spin
	// before they park (lockedthread).
	Spin time.Duration
	// Memory is where the inputs and outputs live during a run.
	Memory Memory
}

// Memory is where a session's inputs and outputs live during a run. Either
// way they are staged in pinned host memory, one block for the inputs and
// one for the outputs.
type Memory int

const (
	// Mapped has the graph read its inputs from and write its outputs to
	// the host blocks, mapped into the device's address space: a run makes
	// no copy, only the launch and the wait for it.
	Mapped Memory = C.CG_MAPPED
	// Device keeps them in device memory: one synchronous copy of the
	// inputs before the run and one of the outputs after.
	Device Memory = C.CG_DEVICE
)

// Session is one CUDA graph-enabled ONNX Runtime session.
type Session struct {
	mu     sync.RWMutex // Close holds it exclusively; runs share it
	closed bool
	thread *lockedthread.Pool
	// Owned by the session's thread.
	s      *C.cg_session
	o      Options
	slots  map[[2]int]*C.cg_slot
	nextID int
}

// do runs f on the session's thread and waits for it.
func (s *Session) do(f func()) {
	// Without a context to end, Do runs f.
	_ = s.thread.Do(context.Background(), f)
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("cudagraph session closed")

// New creates the session from model.
func New(model []byte, o Options) (*Session, error) {
	if len(model) == 0 {
		return nil, errors.New("empty model")
	}
	if len(o.Outputs) != len(o.Widths) {
		return nil, fmt.Errorf("%d outputs but %d widths", len(o.Outputs), len(o.Widths))
	}
	if len(o.Inputs) == 0 || len(o.Inputs) > C.CG_MAX_IO || len(o.Outputs) == 0 || len(o.Outputs) > C.CG_MAX_IO {
		return nil, fmt.Errorf("need 1 to %d inputs and outputs, have %d and %d", C.CG_MAX_IO, len(o.Inputs), len(o.Outputs))
	}
	if err := open(o.LibraryPath); err != nil {
		return nil, err
	}
	settings := map[string]string{}
	for k, v := range o.Provider {
		settings[k] = v
	}
	settings["device_id"] = strconv.Itoa(o.DeviceID)
	settings["enable_cuda_graph"] = "1"
	keys, vals := cstrings(len(settings)), cstrings(len(settings))
	defer keys.free()
	defer vals.free()
	i := 0
	for k, v := range settings {
		keys.set(i, k)
		vals.set(i, v)
		i++
	}
	thread, err := lockedthread.Start(1, o.Spin, nil)
	if err != nil {
		return nil, err
	}
	sess := &Session{thread: thread, o: o, slots: map[[2]int]*C.cg_slot{}}
	sess.do(func() {
		// A GPU session runs no operator on the host: one intra-op thread.
		m := C.cg_session_new(unsafe.Pointer(&model[0]), C.size_t(len(model)), C.int(o.DeviceID), 1,
			keys.ptr(), vals.ptr(), C.size_t(len(settings)), &sess.s)
		err = cerr(m, "creating the CUDA graph session")
	})
	if err != nil {
		sess.stop()
		return nil, err
	}
	return sess, nil
}

// Run runs one batch of shape (batch, seq): inputs[i] holds batch*seq
// values of input i; it returns each output's batch*width values. ONNX
// Runtime runs a new shape plainly first, then captures it; run every shape
// a few times before serving, since a capture while other sessions use the
// device makes their work fail.
func (s *Session) Run(batch, seq int, inputs [][]int64) (outs [][]float32, err error) {
	if len(inputs) != len(s.o.Inputs) {
		return nil, fmt.Errorf("%d inputs given, the session has %d", len(inputs), len(s.o.Inputs))
	}
	for i, in := range inputs {
		if len(in) != batch*seq {
			return nil, fmt.Errorf("input %s has %d values, want %d×%d", s.o.Inputs[i], len(in), batch, seq)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	outs = make([][]float32, len(s.o.Outputs))
	// The C side reads and writes the buffers for the duration of the call
	// only. The arrays of pointers to them are Go memory holding Go
	// pointers, which may be passed to C once those are pinned.
	var pinner runtime.Pinner
	defer pinner.Unpin()
	inPtrs := make([]*C.int64_t, len(inputs))
	outPtrs := make([]*C.float, len(outs))
	for i, in := range inputs {
		inPtrs[i] = (*C.int64_t)(unsafe.Pointer(&in[0]))
		pinner.Pin(inPtrs[i])
	}
	for i, w := range s.o.Widths {
		outs[i] = make([]float32, batch*w)
		outPtrs[i] = (*C.float)(unsafe.Pointer(&outs[i][0]))
		pinner.Pin(outPtrs[i])
	}
	s.do(func() {
		var slot *C.cg_slot
		if slot, err = s.slot(batch, seq); err != nil {
			return
		}
		err = cerr(C.cg_slot_run(slot, &inPtrs[0], &outPtrs[0]), fmt.Sprintf("CUDA graph run (batch %d, sequence %d)", batch, seq))
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// slot returns the slot of a shape, binding a new one on first use; on the
// session's thread.
func (s *Session) slot(batch, seq int) (*C.cg_slot, error) {
	if sl, ok := s.slots[[2]int{batch, seq}]; ok {
		return sl, nil
	}
	ins, outs := cstrings(len(s.o.Inputs)), cstrings(len(s.o.Outputs))
	defer ins.free()
	defer outs.free()
	for i, n := range s.o.Inputs {
		ins.set(i, n)
	}
	for i, n := range s.o.Outputs {
		outs.set(i, n)
	}
	widths := make([]C.int64_t, len(s.o.Widths))
	for i, w := range s.o.Widths {
		widths[i] = C.int64_t(w)
	}
	var sl *C.cg_slot
	m := C.cg_slot_new(s.s, C.int(s.nextID), C.int64_t(batch), C.int64_t(seq), ins.ptr(), C.size_t(len(s.o.Inputs)),
		outs.ptr(), &widths[0], C.size_t(len(s.o.Outputs)), C.int(s.o.Memory), &sl)
	if err := cerr(m, fmt.Sprintf("binding GPU buffers for batch %d, sequence %d", batch, seq)); err != nil {
		return nil, err
	}
	s.slots[[2]int{batch, seq}] = sl
	s.nextID++
	return sl, nil
}

// Close releases the slots and the session, and ends its thread. Runs after
// Close return ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.do(func() {
		for k, sl := range s.slots {
			C.cg_slot_free(sl)
			delete(s.slots, k)
		}
		C.cg_session_free(s.s)
		s.s = nil
	})
	s.stop()
	return nil
}

// stop ends the session's thread.
func (s *Session) stop() { s.thread.Stop() }

// cstrs is an array of C strings; a Go slice, since it holds no Go pointers.
type cstrs []*C.char

func cstrings(n int) cstrs { return make(cstrs, max(n, 1)) }

func (a cstrs) set(i int, s string) { a[i] = C.CString(s) }

func (a cstrs) ptr() **C.char { return &a[0] }

func (a cstrs) free() {
	for _, p := range a {
		C.free(unsafe.Pointer(p))
	}
}

// apiIndices are the OrtApi table positions the C side calls, by function
// name.
func apiIndices() map[string]int {
	out := map[string]int{}
	for n := 0; ; n++ {
		var name *C.char
		i := C.cg_api_index(C.int(n), &name)
		if i < 0 {
			return out
		}
		out[C.GoString(name)] = int(i)
	}
}
