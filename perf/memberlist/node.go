package main

// One memberlist instance of the benchmark and its delegates: the event
// delegate keeps the node's view (who is alive, when it first saw everyone,
// when it declared the killed node dead) and counts deaths of live nodes; the
// delegate carries the timed broadcasts through a TransmitLimitedQueue and
// re-gossips each one once on first receipt (the usual pattern for user
// broadcasts, as serf does: memberlist relays only its own messages).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
)

var bcastMagic = []byte("HSB1")

type node struct {
	h    *harness
	idx  int
	name string
	addr string // 127.0.0.1:port
	ml   *memberlist.Memberlist
	tr   *countingTransport
	cnt  counters
	q    *memberlist.TransmitLimitedQueue

	mu     sync.Mutex
	alive  map[string]bool
	aliveN int64 // atomic: len of the alive set (self included)
	fullAt int64 // atomic: harness time when aliveN first reached N, 0: not yet
	deadAt int64 // atomic: time this node was told the victim is dead/left

	seen []int64 // atomic, per timed broadcast: first receipt (0: never)
}

func newNode(h *harness, idx int) *node {
	n := &node{
		h:     h,
		idx:   idx,
		name:  nodeName(idx),
		alive: make(map[string]bool, h.n),
		seen:  make([]int64, h.broadcasts),
	}
	n.alive[n.name] = true
	n.aliveN = 1
	n.q = &memberlist.TransmitLimitedQueue{
		// the node's own alive count, lock-free: ml.NumMembers() would take
		// the memberlist's node lock and walk every node on each gossip round
		NumNodes:       func() int { return int(atomic.LoadInt64(&n.aliveN)) },
		RetransmitMult: h.cfg.RetransmitMult,
	}
	return n
}

// ---- memberlist.EventDelegate ----

func (n *node) NotifyJoin(m *memberlist.Node) {
	n.mu.Lock()
	if !n.alive[m.Name] {
		n.alive[m.Name] = true
		c := atomic.AddInt64(&n.aliveN, 1)
		if int(c) == n.h.n && atomic.LoadInt64(&n.fullAt) == 0 {
			atomic.StoreInt64(&n.fullAt, n.h.now())
		}
	}
	n.mu.Unlock()
}

func (n *node) NotifyLeave(m *memberlist.Node) {
	t := n.h.now()
	n.mu.Lock()
	if n.alive[m.Name] {
		delete(n.alive, m.Name)
		atomic.AddInt64(&n.aliveN, -1)
	}
	n.mu.Unlock()
	if n.h.isKilled(m.Name) {
		atomic.CompareAndSwapInt64(&n.deadAt, 0, t)
		return
	}
	if n.idx == n.h.victimIdx() || m.Name == n.name {
		return // the victim's own view after its shutdown; never ourselves
	}
	n.h.falseDead(n.name, m.Name)
}

func (n *node) NotifyUpdate(*memberlist.Node) {}

// ---- memberlist.Delegate ----

func (n *node) NodeMeta(limit int) []byte { return nil }

func (n *node) NotifyMsg(b []byte) {
	if len(b) < 8 || !bytes.Equal(b[:4], bcastMagic) {
		return
	}
	id := int(binary.BigEndian.Uint32(b[4:8]))
	if id >= len(n.seen) {
		return
	}
	if !atomic.CompareAndSwapInt64(&n.seen[id], 0, n.h.now()) {
		return // already had it
	}
	// b belongs to memberlist and may be reused after we return: copy it
	msg := make([]byte, len(b))
	copy(msg, b)
	n.q.QueueBroadcast(&bcast{msg: msg})
}

func (n *node) GetBroadcasts(overhead, limit int) [][]byte {
	return n.q.GetBroadcasts(overhead, limit)
}

func (n *node) LocalState(join bool) []byte { return nil }

func (n *node) MergeRemoteState(buf []byte, join bool) {}

// originate injects timed broadcast id at this node, at harness time t0.
func (n *node) originate(id int, payload int) int64 {
	msg := make([]byte, 8+payload)
	copy(msg, bcastMagic)
	binary.BigEndian.PutUint32(msg[4:8], uint32(id))
	for i := 8; i < len(msg); i++ {
		msg[i] = byte(i)
	}
	t0 := n.h.now()
	atomic.StoreInt64(&n.seen[id], t0)
	n.q.QueueBroadcast(&bcast{msg: msg})
	return t0
}

// bcast is one user broadcast; each is unique (no invalidation scan).
type bcast struct{ msg []byte }

func (b *bcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *bcast) Message() []byte                       { return b.msg }
func (b *bcast) Finished()                             {}
func (b *bcast) UniqueBroadcast()                      {}

var _ memberlist.UniqueBroadcast = (*bcast)(nil)

// ---- memberlist's log: counted, shown only with -v ----

// memberlist 0.2.2 has no hook for suspicions, so they are counted from its
// log lines (log.Logger calls Write once per line):
//
//	"Suspect X has failed, no acks received"        a prober suspects X
//	"Marking X as failed, suspect timeout reached"  a node's timer declares X dead
//	"Refuting a suspect message" / "a dead message" a live node refutes
type logSink struct {
	n *node
}

var (
	pSuspect = []byte("memberlist: Suspect ")
	pFailed  = []byte(" has failed, no acks received")
	pMarking = []byte("memberlist: Marking ")
	pAsFail  = []byte(" as failed, suspect timeout reached")
	pRefSusp = []byte("memberlist: Refuting a suspect message")
	pRefDead = []byte("memberlist: Refuting a dead message")
)

func (s logSink) Write(b []byte) (int, error) {
	h := s.n.h
	if i := bytes.Index(b, pSuspect); i >= 0 {
		rest := b[i+len(pSuspect):]
		if j := bytes.Index(rest, pFailed); j >= 0 {
			h.suspected(string(rest[:j]))
		}
	} else if i := bytes.Index(b, pMarking); i >= 0 {
		rest := b[i+len(pMarking):]
		if j := bytes.Index(rest, pAsFail); j >= 0 {
			h.markedDead(string(rest[:j]))
		}
	} else if bytes.Contains(b, pRefSusp) || bytes.Contains(b, pRefDead) {
		h.refuted()
	}
	if h.verbose {
		pre := fmt.Sprintf("%9.3f %s ", float64(h.now())/1e9, s.n.name)
		os.Stderr.Write(append([]byte(pre), b...))
	}
	return len(b), nil
}
