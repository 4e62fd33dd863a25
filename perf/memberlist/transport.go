package main

// A memberlist.Transport that wraps memberlist's own NetTransport (UDP for
// packets, one TCP connection per stream) and counts what the node sends:
// UDP payload bytes and datagrams, TCP payload bytes written on streams it
// opened (push-pull, TCP fallback pings, reliable sends) and on streams it
// accepted (the answering side of a push-pull or a TCP ping), and the number
// of streams it opened. Nothing about the protocol is changed.

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// counters of one node; all fields are updated atomically.
type counters struct {
	udpBytes int64 // payload bytes of UDP datagrams sent
	udpPkts  int64 // UDP datagrams sent
	tcpBytes int64 // payload bytes written on TCP streams (both ends)
	tcpConns int64 // TCP streams opened (dialled) by this node
}

func (c *counters) snapshot() counters {
	return counters{
		udpBytes: atomic.LoadInt64(&c.udpBytes),
		udpPkts:  atomic.LoadInt64(&c.udpPkts),
		tcpBytes: atomic.LoadInt64(&c.tcpBytes),
		tcpConns: atomic.LoadInt64(&c.tcpConns),
	}
}

func (c counters) sub(o counters) counters {
	return counters{c.udpBytes - o.udpBytes, c.udpPkts - o.udpPkts,
		c.tcpBytes - o.tcpBytes, c.tcpConns - o.tcpConns}
}

func (c counters) add(o counters) counters {
	return counters{c.udpBytes + o.udpBytes, c.udpPkts + o.udpPkts,
		c.tcpBytes + o.tcpBytes, c.tcpConns + o.tcpConns}
}

// countingTransport embeds *memberlist.NetTransport, so IngestPacket and
// IngestStream are promoted and the wrapper is still a NodeAwareTransport
// (memberlist then uses it directly, without its shim).
type countingTransport struct {
	*memberlist.NetTransport
	c        *counters
	streamCh chan net.Conn
	done     chan struct{}
	once     sync.Once
}

var _ memberlist.NodeAwareTransport = (*countingTransport)(nil)

// newCountingTransport binds UDP and TCP on ip, port (0: the kernel picks a
// port, tried a few times as memberlist itself does, since TCP and UDP must
// get the same number).
func newCountingTransport(ip string, port int, c *counters, cfg *memberlist.NetTransportConfig) (*countingTransport, error) {
	var nt *memberlist.NetTransport
	var err error
	tries := 1
	if port == 0 {
		tries = 20
	}
	for i := 0; i < tries; i++ {
		cfg.BindAddrs = []string{ip}
		cfg.BindPort = port
		nt, err = memberlist.NewNetTransport(cfg)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bind %s:%d: %v", ip, port, err)
	}
	t := &countingTransport{
		NetTransport: nt,
		c:            c,
		streamCh:     make(chan net.Conn),
		done:         make(chan struct{}),
	}
	go t.forwardStreams()
	return t, nil
}

// forwardStreams hands accepted (and ingested) streams to memberlist wrapped
// in a counting conn, so the answering side's writes are counted too.
func (t *countingTransport) forwardStreams() {
	in := t.NetTransport.StreamCh()
	for {
		select {
		case conn := <-in:
			select {
			case t.streamCh <- &countConn{Conn: conn, c: t.c}:
			case <-t.done:
				conn.Close()
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *countingTransport) StreamCh() <-chan net.Conn { return t.streamCh }

func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *countingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	ts, err := t.NetTransport.WriteToAddress(b, a)
	if err == nil {
		atomic.AddInt64(&t.c.udpBytes, int64(len(b)))
		atomic.AddInt64(&t.c.udpPkts, 1)
	}
	return ts, err
}

func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *countingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	conn, err := t.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	atomic.AddInt64(&t.c.tcpConns, 1)
	return &countConn{Conn: conn, c: t.c}, nil
}

// Shutdown closes the listeners first (NetTransport.Shutdown waits for its
// accept loop, which may be handing us a stream: keep forwarding meanwhile),
// then stops the forwarder.
func (t *countingTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		err = t.NetTransport.Shutdown()
		close(t.done)
	})
	return err
}

// countConn counts the payload bytes written on a TCP stream.
type countConn struct {
	net.Conn
	c *counters
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		atomic.AddInt64(&c.c.tcpBytes, int64(n))
	}
	return n, err
}
