package sandbox

import (
	"fmt"
	"io"
	"net"
	"sync"
)

// forwarder relays TCP connections from a pod's loopback address to the
// port its simulator listens on (loopback Network): the simulator binds
// every address on its port, so pods that share the root namespace cannot
// all listen on the container port themselves.
type forwarder struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newForwarder(listen, target string) (*forwarder, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("forwarding %s to %s: %w", listen, target, err)
	}
	f := &forwarder{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go f.relay(c)
	}
}

// track records c so that Close can end it; false once closed.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	_ = c.Close()
}

// relay copies both ways; a side that finishes sending half-closes the
// other, as a direct connection would (HTTP keep-alive is unaffected).
func (f *forwarder) relay(c net.Conn) {
	defer f.wg.Done()
	if !f.track(c) {
		_ = c.Close()
		return
	}
	defer f.untrack(c)
	// A simulator that is down refuses the dial: the client sees its
	// connection closed instead of refused.
	u, err := net.Dial("tcp", f.target)
	if err != nil {
		return
	}
	if !f.track(u) {
		_ = u.Close()
		return
	}
	defer f.untrack(u)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(u, c)
	go pipe(c, u)
	<-done
	<-done
}

// Close stops accepting, ends every relayed connection and waits.
func (f *forwarder) Close() {
	_ = f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
