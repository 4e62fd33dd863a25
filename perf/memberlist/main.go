// memberlist-bench: HashiCorp memberlist measured the way hearsay-bench
// measures hearsay (issue #7): N memberlist instances in one process on
// 127.0.0.1, each on its own UDP+TCP port, and four timed phases:
//
//	join-all   nodes 1..N-1 Join() node 0 (by default one at a time, one
//	           started every 50 ms); until every node lists N members
//	idle       S seconds of steady state: bytes and messages sent per node,
//	           CPU; plus one push-pull exchange measured and amortized
//	broadcast  K timed user broadcasts from random nodes; time-avg,
//	           time-last, residue
//	detect     one node shut down without Leave(); until every other node
//	           declares it dead; false suspicions and deaths over the run
//
// Built in GOPATH mode from Debian's packages only (see build.sh); the
// figures, the configs and how to read them are in docs/MEMBERLIST.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// set by build.sh from the Debian package (-ldflags -X)
var memberlistVersion = "unknown"

const pollEvery = 5 * time.Millisecond

// ---------------------------------------------------------------- config

// params are the memberlist knobs this benchmark sets; everything else is
// memberlist.DefaultLANConfig() as shipped.
type params struct {
	GossipInterval          time.Duration
	GossipNodes             int
	ProbeInterval           time.Duration
	ProbeTimeout            time.Duration
	SuspicionMult           int
	SuspicionMaxTimeoutMult int
	RetransmitMult          int
	PushPullInterval        time.Duration
	GossipToTheDeadTime     time.Duration
	IndirectChecks          int
	AwarenessMaxMultiplier  int
	TCPTimeout              time.Duration
	DisableTcpPings         bool
	EnableCompression       bool
	UDPBufferSize           int
}

func paramsOf(c *memberlist.Config) params {
	return params{
		GossipInterval:          c.GossipInterval,
		GossipNodes:             c.GossipNodes,
		ProbeInterval:           c.ProbeInterval,
		ProbeTimeout:            c.ProbeTimeout,
		SuspicionMult:           c.SuspicionMult,
		SuspicionMaxTimeoutMult: c.SuspicionMaxTimeoutMult,
		RetransmitMult:          c.RetransmitMult,
		PushPullInterval:        c.PushPullInterval,
		GossipToTheDeadTime:     c.GossipToTheDeadTime,
		IndirectChecks:          c.IndirectChecks,
		AwarenessMaxMultiplier:  c.AwarenessMaxMultiplier,
		TCPTimeout:              c.TCPTimeout,
		DisableTcpPings:         c.DisableTcpPings,
		EnableCompression:       c.EnableCompression,
		UDPBufferSize:           c.UDPBufferSize,
	}
}

func (p params) apply(c *memberlist.Config) {
	c.GossipInterval = p.GossipInterval
	c.GossipNodes = p.GossipNodes
	c.ProbeInterval = p.ProbeInterval
	c.ProbeTimeout = p.ProbeTimeout
	c.SuspicionMult = p.SuspicionMult
	c.SuspicionMaxTimeoutMult = p.SuspicionMaxTimeoutMult
	c.RetransmitMult = p.RetransmitMult
	c.PushPullInterval = p.PushPullInterval
	c.GossipToTheDeadTime = p.GossipToTheDeadTime
	c.IndirectChecks = p.IndirectChecks
	c.AwarenessMaxMultiplier = p.AwarenessMaxMultiplier
	c.TCPTimeout = p.TCPTimeout
	c.DisableTcpPings = p.DisableTcpPings
	c.EnableCompression = p.EnableCompression
	c.UDPBufferSize = p.UDPBufferSize
}

// The "fast" config is the LAN config with gossip every 10 ms (hearsay's
// round) and probes every 100 ms: GossipInterval 200 ms -> 10 ms (/20),
// ProbeInterval 1 s -> 100 ms and ProbeTimeout 500 ms -> 50 ms (/10, keeping
// the LAN ratio timeout = interval / 2; suspicion, counted in probe
// intervals, shrinks with them). Everything else stays as shipped.
//
// "fast20" divides every LAN period by 20 (gossip 10 ms, probe 50 ms, probe
// timeout 25 ms, push-pull 1.5 s, gossip-to-the-dead 1.5 s): the strictly
// proportional config. On the 2-core machine it falls into a storm of false
// suspicions and deaths already at N = 32 (docs/MEMBERLIST.md), so it is kept
// for the record and not used as the comparison.
func baseParams(name string) (params, error) {
	p := paramsOf(memberlist.DefaultLANConfig())
	switch name {
	case "lan":
	case "fast":
		p.GossipInterval = 10 * time.Millisecond
		p.ProbeInterval = 100 * time.Millisecond
		p.ProbeTimeout = 50 * time.Millisecond
	case "fast20":
		p.GossipInterval /= 20      // 200 ms -> 10 ms
		p.ProbeInterval /= 20       // 1 s -> 50 ms
		p.ProbeTimeout /= 20        // 500 ms -> 25 ms
		p.PushPullInterval /= 20    // 30 s -> 1.5 s (memberlist scales it up with N)
		p.GossipToTheDeadTime /= 20 // 30 s -> 1.5 s
	default:
		return p, fmt.Errorf("-config %q: want lan, fast or fast20", name)
	}
	return p, nil
}

// memberlist 0.2.2's formulas (util.go), evaluated for the report
func suspicionTimeout(mult, n int, interval time.Duration) time.Duration {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	return time.Duration(mult) * time.Duration(scale*1000) * interval / 1000
}

func retransmitLimit(mult, n int) int {
	return mult * int(math.Ceil(math.Log10(float64(n+1))))
}

func pushPullScale(interval time.Duration, n int) time.Duration {
	if n <= 32 {
		return interval
	}
	return time.Duration(math.Ceil(math.Log2(float64(n))-math.Log2(32))+1) * interval
}

// settleFor estimates how long the join's gossip takes to drain: every node
// may hold the alive messages of all N nodes (about 60 bytes each), each to
// be sent retransmitLimit times, GossipNodes packets of UDPBufferSize bytes
// per GossipInterval; half as much again for margin, and at least 3 s.
// (lan: 6.6 s at N = 128, 13 s at N = 256; fast: 3 s.)
func settleFor(p params, n int) time.Duration {
	perTick := float64(p.GossipNodes * p.UDPBufferSize)
	ticks := math.Ceil(float64(n*retransmitLimit(p.RetransmitMult, n)*60) / perTick)
	d := time.Duration(1.5 * ticks * float64(p.GossipInterval))
	if d < 3*time.Second {
		d = 3 * time.Second
	}
	return d
}

// ---------------------------------------------------------------- harness

type harness struct {
	n          int
	broadcasts int
	payload    int
	cfg        params
	verbose    bool
	base       time.Time
	deadline   time.Time // -duration
	nodes      []*node

	victim     int64 // atomic: index of the killed node, -1 before the kill
	victimName atomic.Value
	counting   int32 // atomic: 1 while false deaths and suspicions are counted

	mu            sync.Mutex
	falseDeadEvts int            // NotifyLeave of a live node, summed over observers
	falseDeadSubj map[string]int // which live nodes were declared dead
	falseSuspects int            // "Suspect X has failed" for a live X
	falseMarked   int            // "Marking X as failed" for a live X
	refutations   int            // a live node refuted a suspicion or death of itself
	suspectFirst  int64          // first suspicion of the victim after the kill
}

func nodeName(i int) string { return fmt.Sprintf("n%04d", i) }

// now is the harness clock: nanoseconds on Go's monotonic clock since start,
// plus one so that 0 can mean "never".
func (h *harness) now() int64 { return int64(time.Since(h.base)) + 1 }

func (h *harness) victimIdx() int { return int(atomic.LoadInt64(&h.victim)) }

func (h *harness) isKilled(name string) bool {
	v, _ := h.victimName.Load().(string)
	return v != "" && v == name
}

func (h *harness) falseDead(observer, subject string) {
	if atomic.LoadInt32(&h.counting) == 0 {
		return
	}
	h.mu.Lock()
	h.falseDeadEvts++
	h.falseDeadSubj[subject]++
	h.mu.Unlock()
}

func (h *harness) suspected(subject string) {
	if atomic.LoadInt32(&h.counting) == 0 {
		return
	}
	t := h.now()
	h.mu.Lock()
	if h.isKilled(subject) {
		if h.suspectFirst == 0 {
			h.suspectFirst = t
		}
	} else {
		h.falseSuspects++
	}
	h.mu.Unlock()
}

func (h *harness) markedDead(subject string) {
	if atomic.LoadInt32(&h.counting) == 0 || h.isKilled(subject) {
		return
	}
	h.mu.Lock()
	h.falseMarked++
	h.mu.Unlock()
}

func (h *harness) refuted() {
	if atomic.LoadInt32(&h.counting) == 0 {
		return
	}
	h.mu.Lock()
	h.refutations++
	h.mu.Unlock()
}

// waitFor polls cond every pollEvery until it holds; an error names the
// phase and which deadline (the phase's or -duration) ran out.
func (h *harness) waitFor(phase string, phaseDeadline time.Time, cond func() bool) error {
	for {
		if cond() {
			return nil
		}
		now := time.Now()
		if now.After(h.deadline) {
			return fmt.Errorf("%s: -duration cap reached before completion", phase)
		}
		if now.After(phaseDeadline) {
			return fmt.Errorf("%s: not complete within its deadline", phase)
		}
		time.Sleep(pollEvery)
	}
}

// sleep that respects -duration
func (h *harness) sleep(phase string, d time.Duration) error {
	if time.Now().Add(d).After(h.deadline) {
		return fmt.Errorf("%s: -duration cap too short for this phase", phase)
	}
	time.Sleep(d)
	return nil
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (h *harness) traffic() counters {
	var t counters
	for _, n := range h.nodes {
		t = t.add(n.cnt.snapshot())
	}
	return t
}

func ms(d int64) float64 { return math.Round(float64(d)/1e3) / 1e3 } // ns -> ms, 3 decimals

func durMs(d time.Duration) float64 { return ms(int64(d)) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// nearest-rank percentile of sorted values
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// ---------------------------------------------------------------- results

type updateRes struct {
	Origin    int     `json:"origin"`
	TAvgMs    float64 `json:"t_avg_ms"`
	TLastMs   float64 `json:"t_last_ms"`
	Residue   int     `json:"residue"`
	Receivers int     `json:"receivers"`
}

type idleRes struct {
	Seconds             float64 `json:"seconds"`
	BytesPerNodePerS    float64 `json:"bytes_per_node_per_s"`
	UDPBytesPerNodePerS float64 `json:"udp_bytes_per_node_per_s"`
	TCPBytesPerNodePerS float64 `json:"tcp_bytes_per_node_per_s"`
	MaxNodeBytesPerS    float64 `json:"max_node_bytes_per_s"`
	MsgsPerNodePerS     float64 `json:"msgs_per_node_per_s"`
	UDPPktsPerNodePerS  float64 `json:"udp_pkts_per_node_per_s"`
	TCPConnsPerNodePerS float64 `json:"tcp_conns_per_node_per_s"`
	CPUPctPerNode       float64 `json:"cpu_pct_per_node"`
	CPUPctTotal         float64 `json:"cpu_pct_total"`
	// a push-pull (full state exchange over TCP; mean of up to 5) measured
	// after the window, both directions, and its cost spread over memberlist's
	// (size-scaled) push-pull interval: each node starts one per interval
	// and answers one on average
	PushPullBytes          int64   `json:"pushpull_exchange_bytes"`
	PushPullBytesPerNodeS  float64 `json:"pushpull_amortized_bytes_per_node_per_s"`
	SteadyBytesPerNodePerS float64 `json:"steady_bytes_per_node_per_s"`
}

type bcastRes struct {
	Count            int         `json:"count"`
	GapMs            float64     `json:"gap_ms"`
	PayloadBytes     int         `json:"payload_bytes"`
	TAvgMsP50        float64     `json:"t_avg_ms_p50"`
	TLastMsP50       float64     `json:"t_last_ms_p50"`
	TLastMsP99       float64     `json:"t_last_ms_p99"`
	TLastMsMax       float64     `json:"t_last_ms_max"`
	Residue          int         `json:"residue"`
	Complete         int         `json:"complete"`
	BytesPerNodePerS float64     `json:"bytes_per_node_per_s"`
	CPUPctTotal      float64     `json:"cpu_pct_total"`
	Updates          []updateRes `json:"updates"`
}

type detectRes struct {
	Victim         string  `json:"victim"`
	SuspectFirstMs float64 `json:"suspect_first_ms"`
	FirstMs        float64 `json:"first_ms"`
	P50Ms          float64 `json:"p50_ms"`
	AllMs          float64 `json:"all_ms"`
	Observers      int     `json:"observers"`
}

type result struct {
	System    string `json:"system"`
	Version   string `json:"version"`
	Go        string `json:"go"`
	Config    string `json:"config"`
	N         int    `json:"n"`
	Seed      int64  `json:"seed"`
	Date      string `json:"date"`
	Clock     string `json:"clock"`
	GoMaxProc int    `json:"gomaxprocs"`
	GC        string `json:"gc"`

	HeapPerNodeMB int     `json:"heap_per_node_mb"`
	MaxRSSMB      float64 `json:"max_rss_mb"`
	JoinParallel  int     `json:"join_parallel"`

	GossipIntervalMs         float64 `json:"gossip_interval_ms"`
	GossipNodes              int     `json:"gossip_nodes"`
	ProbeIntervalMs          float64 `json:"probe_interval_ms"`
	ProbeTimeoutMs           float64 `json:"probe_timeout_ms"`
	IndirectChecks           int     `json:"indirect_checks"`
	SuspicionMult            int     `json:"suspicion_mult"`
	SuspicionMaxTimeoutMult  int     `json:"suspicion_max_timeout_mult"`
	SuspicionTimeoutMs       float64 `json:"suspicion_timeout_ms"`
	SuspicionMaxTimeoutMs    float64 `json:"suspicion_max_timeout_ms"`
	RetransmitMult           int     `json:"retransmit_mult"`
	RetransmitLimit          int     `json:"retransmit_limit"`
	PushPullIntervalMs       float64 `json:"push_pull_interval_ms"`
	PushPullIntervalScaledMs float64 `json:"push_pull_interval_scaled_ms"`
	GossipToTheDeadMs        float64 `json:"gossip_to_the_dead_ms"`
	AwarenessMaxMultiplier   int     `json:"awareness_max_multiplier"`
	TCPTimeoutMs             float64 `json:"tcp_timeout_ms"`
	DisableTCPPings          bool    `json:"disable_tcp_pings"`
	Compression              bool    `json:"compression"`
	UDPBufferSize            int     `json:"udp_buffer_size"`

	CreateMs    *float64   `json:"create_ms"`
	JoinAllMs   *float64   `json:"join_all_ms"`
	JoinP50Ms   *float64   `json:"join_node_p50_ms"`
	JoinLagMs   *float64   `json:"join_lag_ms"`
	JoinGapMs   float64    `json:"join_gap_ms"`
	SettleMs    float64    `json:"settle_ms"`
	JoinCPUPct  *float64   `json:"join_cpu_pct_total"`
	Idle        *idleRes   `json:"idle"`
	Broadcast   *bcastRes  `json:"broadcast"`
	Detect      *detectRes `json:"detect"`
	FalseDead   int        `json:"false_dead"`
	FalseDeadOf []string   `json:"false_dead_nodes"`
	FalseSusp   int        `json:"false_suspicions"`
	FalseMarked int        `json:"false_marked_dead"`
	Refutations int        `json:"refutations"`
	RunS        float64    `json:"run_s"`
	Error       string     `json:"error,omitempty"`
}

func fptr(x float64) *float64 { return &x }

// ---------------------------------------------------------------- main

func main() {
	var (
		n          = flag.Int("n", 32, "number of memberlist nodes in this process")
		config     = flag.String("config", "lan", "lan (memberlist.DefaultLANConfig), fast (LAN with gossip 10 ms, probe 100 ms, probe timeout 50 ms) or fast20 (every LAN period / 20)")
		seed       = flag.Int64("seed", 1, "seed of the harness's choices (broadcast origins, killed node)")
		asJSON     = flag.Bool("json", false, "print one JSON object on stdout (progress goes to stderr)")
		broadcasts = flag.Int("broadcasts", 20, "number of timed broadcasts (0: skip the phase)")
		gap        = flag.Duration("broadcast-gap", 200*time.Millisecond, "time between two timed broadcasts")
		payload    = flag.Int("payload", 32, "bytes of a timed broadcast after its 8-byte header")
		bTimeout   = flag.Duration("broadcast-timeout", 20*time.Second, "after the last injection, how long to wait for every node to have every broadcast (the rest is residue)")
		kill       = flag.Bool("kill", true, "kill one node without Leave() and time its detection (-kill=false: skip)")
		dTimeout   = flag.Duration("detect-timeout", 0, "bound of the detection phase (0: max suspicion timeout + 20 probe intervals + 10 s)")
		jTimeout   = flag.Duration("join-timeout", 60*time.Second, "bound of the join-all phase")
		idleS      = flag.Float64("idle-seconds", 10, "length of the idle measurement (0: skip)")
		settle     = flag.Duration("settle", 0, "wait after join-all before measuring idle, while the join's gossip drains (0: auto, see settleFor)")
		duration   = flag.Duration("duration", 180*time.Second, "cap on the whole run; a phase still waiting then fails")
		joinPar    = flag.Int("join-parallel", 1, "at most this many Join() calls in flight (0: all N-1 at once; 1: one after another)")
		joinGap    = flag.Duration("join-gap", 50*time.Millisecond, "start one Join() every this long (0: as fast as -join-parallel allows)")
		basePort   = flag.Int("base-port", 0, "node i binds 127.0.0.1:base-port+i (0: ports chosen by the kernel)")
		verbose    = flag.Bool("v", false, "show memberlist's log on stderr")
		heapMB     = flag.Int("heap-per-node-mb", 4, "Go GC: collect when the heap reaches N x this many MiB, GOGC off (emulates N separate processes, each with Go's 4 MiB minimum heap goal); 0: Go's default GOGC=100 for the one shared heap")
		cpuProf    = flag.String("cpuprofile", "", "write a Go CPU profile of the whole run to this file")

		oGossip   = flag.Duration("gossip-interval", 0, "override GossipInterval (config name gets +custom)")
		oNodes    = flag.Int("gossip-nodes", 0, "override GossipNodes")
		oProbe    = flag.Duration("probe-interval", 0, "override ProbeInterval")
		oProbeTO  = flag.Duration("probe-timeout", 0, "override ProbeTimeout")
		oSuspMult = flag.Int("suspicion-mult", 0, "override SuspicionMult")
		oRetrans  = flag.Int("retransmit-mult", 0, "override RetransmitMult")
		oPushPull = flag.Duration("pushpull-interval", 0, "override PushPullInterval")
	)
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: memberlist-bench [flags]\n\nHashiCorp memberlist %s, N nodes in one process on 127.0.0.1; see docs/MEMBERLIST.md.\n\n", memberlistVersion)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fatalUsage("unexpected argument %q", flag.Arg(0))
	}
	if *n < 2 || *n > 4096 {
		fatalUsage("-n %d: want 2..4096", *n)
	}
	if *kill && *n < 3 {
		fatalUsage("-kill needs -n >= 3")
	}
	if *broadcasts < 0 || *payload < 0 || *idleS < 0 {
		fatalUsage("-broadcasts, -payload and -idle-seconds must be >= 0")
	}
	p, err := baseParams(*config)
	if err != nil {
		fatalUsage("%v", err)
	}
	cfgName := *config
	custom := false
	if *oGossip > 0 {
		p.GossipInterval, custom = *oGossip, true
	}
	if *oNodes > 0 {
		p.GossipNodes, custom = *oNodes, true
	}
	if *oProbe > 0 {
		p.ProbeInterval, custom = *oProbe, true
	}
	if *oProbeTO > 0 {
		p.ProbeTimeout, custom = *oProbeTO, true
	}
	if *oSuspMult > 0 {
		p.SuspicionMult, custom = *oSuspMult, true
	}
	if *oRetrans > 0 {
		p.RetransmitMult, custom = *oRetrans, true
	}
	if *oPushPull > 0 {
		p.PushPullInterval, custom = *oPushPull, true
	}
	if custom {
		cfgName += "+custom"
	}
	if *joinPar < 0 || *heapMB < 0 {
		fatalUsage("-join-parallel and -heap-per-node-mb must be >= 0")
	}
	if p.ProbeTimeout >= p.ProbeInterval {
		fatalUsage("probe timeout %v must be shorter than the probe interval %v", p.ProbeTimeout, p.ProbeInterval)
	}

	h := &harness{
		n:             *n,
		broadcasts:    *broadcasts,
		payload:       *payload,
		cfg:           p,
		verbose:       *verbose,
		base:          time.Now(),
		victim:        -1,
		falseDeadSubj: map[string]int{},
	}
	h.deadline = h.base.Add(*duration)
	h.victimName.Store("")
	rng := rand.New(rand.NewSource(*seed))

	r := &result{
		System:    "memberlist",
		Version:   memberlistVersion,
		Go:        runtime.Version(),
		Config:    cfgName,
		N:         *n,
		Seed:      *seed,
		Date:      time.Now().UTC().Format(time.RFC3339),
		Clock:     "Go monotonic clock (CLOCK_MONOTONIC), one process: exact one-way times",
		GoMaxProc: runtime.GOMAXPROCS(0),

		GossipIntervalMs:         durMs(p.GossipInterval),
		GossipNodes:              p.GossipNodes,
		ProbeIntervalMs:          durMs(p.ProbeInterval),
		ProbeTimeoutMs:           durMs(p.ProbeTimeout),
		IndirectChecks:           p.IndirectChecks,
		SuspicionMult:            p.SuspicionMult,
		SuspicionMaxTimeoutMult:  p.SuspicionMaxTimeoutMult,
		SuspicionTimeoutMs:       durMs(suspicionTimeout(p.SuspicionMult, *n, p.ProbeInterval)),
		SuspicionMaxTimeoutMs:    durMs(time.Duration(p.SuspicionMaxTimeoutMult) * suspicionTimeout(p.SuspicionMult, *n, p.ProbeInterval)),
		RetransmitMult:           p.RetransmitMult,
		RetransmitLimit:          retransmitLimit(p.RetransmitMult, *n),
		PushPullIntervalMs:       durMs(p.PushPullInterval),
		PushPullIntervalScaledMs: durMs(pushPullScale(p.PushPullInterval, *n)),
		GossipToTheDeadMs:        durMs(p.GossipToTheDeadTime),
		AwarenessMaxMultiplier:   p.AwarenessMaxMultiplier,
		TCPTimeoutMs:             durMs(p.TCPTimeout),
		DisableTCPPings:          p.DisableTcpPings,
		Compression:              p.EnableCompression,
		UDPBufferSize:            p.UDPBufferSize,
	}

	r.GC = "GOGC=100 (Go default, one heap for all nodes)"
	if *heapMB > 0 {
		limit := int64(*n)*int64(*heapMB)<<20 + 64<<20
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(limit)
		r.GC = fmt.Sprintf("GOGC=off, memory limit %d MiB (N x %d MiB + 64 MiB)", limit>>20, *heapMB)
	}
	r.HeapPerNodeMB = *heapMB
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fatalUsage("-cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatalUsage("-cpuprofile: %v", err)
		}
		defer f.Close()
	}
	runErr := run(h, r, rng, runOpts{
		gap: *gap, bTimeout: *bTimeout, kill: *kill, dTimeout: *dTimeout,
		jTimeout: *jTimeout, idle: *idleS, settle: *settle, basePort: *basePort, joinPar: *joinPar, joinGap: *joinGap,
	})
	atomic.StoreInt32(&h.counting, 0)
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}
	h.mu.Lock()
	r.FalseDead = h.falseDeadEvts
	r.FalseDeadOf = []string{}
	for s := range h.falseDeadSubj {
		r.FalseDeadOf = append(r.FalseDeadOf, s)
	}
	sort.Strings(r.FalseDeadOf)
	r.FalseSusp = h.falseSuspects
	r.FalseMarked = h.falseMarked
	r.Refutations = h.refutations
	h.mu.Unlock()
	r.RunS = round(time.Since(h.base).Seconds(), 2)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		r.MaxRSSMB = round(float64(ru.Maxrss)/1024, 1)
	}
	if runErr != nil {
		r.Error = runErr.Error()
	}

	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(os.Stderr, "memberlist-bench: %v\n", err)
			os.Exit(1)
		}
	} else {
		printTable(os.Stdout, r)
	}

	shutdownAll(h, 10*time.Second)
	if runErr != nil {
		fmt.Fprintf(os.Stderr, "memberlist-bench: FAILED: %v\n", runErr)
		os.Exit(1)
	}
}

func fatalUsage(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "memberlist-bench: "+format+"\n", a...)
	os.Exit(2)
}

func progress(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "[memberlist-bench] "+format+"\n", a...)
}

type runOpts struct {
	gap, bTimeout, dTimeout, jTimeout, settle time.Duration
	idle                                      float64
	kill                                      bool
	basePort                                  int
	joinPar                                   int
	joinGap                                   time.Duration
}

func run(h *harness, r *result, rng *rand.Rand, o runOpts) error {
	n := h.n

	// ---- create: N memberlists, each on its own port, none joined yet
	progress("config %s: gossip %v x%d, probe %v (timeout %v), suspicion x%d, push-pull %v; N=%d",
		r.Config, h.cfg.GossipInterval, h.cfg.GossipNodes, h.cfg.ProbeInterval, h.cfg.ProbeTimeout,
		h.cfg.SuspicionMult, h.cfg.PushPullInterval, n)
	cpu0 := cpuNow()
	t0 := h.now()
	h.nodes = make([]*node, 0, n)
	for i := 0; i < n; i++ {
		nd := newNode(h, i)
		logger := log.New(logSink{nd}, "", 0)
		port := 0
		if o.basePort > 0 {
			port = o.basePort + i
		}
		tr, err := newCountingTransport("127.0.0.1", port, &nd.cnt,
			&memberlist.NetTransportConfig{Logger: logger})
		if err != nil {
			return fmt.Errorf("create node %d: %v", i, err)
		}
		nd.tr = tr
		nd.addr = fmt.Sprintf("127.0.0.1:%d", tr.GetAutoBindPort())

		c := memberlist.DefaultLANConfig()
		h.cfg.apply(c)
		c.Name = nd.name
		c.BindAddr = "127.0.0.1"
		c.BindPort = tr.GetAutoBindPort()
		c.AdvertiseAddr = ""
		c.AdvertisePort = tr.GetAutoBindPort()
		c.Transport = tr
		c.Delegate = nd
		c.Events = nd
		c.LogOutput = nil
		c.Logger = logger
		ml, err := memberlist.Create(c)
		if err != nil {
			tr.Shutdown()
			return fmt.Errorf("create node %d: %v", i, err)
		}
		nd.ml = ml
		h.nodes = append(h.nodes, nd)
	}
	tCreated := h.now()
	r.CreateMs = fptr(ms(tCreated - t0))
	progress("created %d nodes in %.0f ms", n, ms(tCreated-t0))
	atomic.StoreInt32(&h.counting, 1)

	// ---- join-all: every node joins node 0 at once
	tJoin := h.now()
	seedAddr := []string{h.nodes[0].addr}
	var joinMu sync.Mutex
	var joinErr error
	var joining int64 = int64(n - 1)
	par := o.joinPar
	if par <= 0 || par > n-1 {
		par = n - 1
	}
	r.JoinParallel = par
	slots := make(chan struct{}, par)
	r.JoinGapMs = durMs(o.joinGap)
	var lastJoinDone int64 // atomic: when the last Join() returned
	go func() {
		for i := 1; i < n; i++ {
			if i > 1 && o.joinGap > 0 {
				time.Sleep(o.joinGap)
			}
			slots <- struct{}{}
			go func(nd *node) {
				defer func() { <-slots }()
				if _, err := nd.ml.Join(seedAddr); err != nil {
					joinMu.Lock()
					if joinErr == nil {
						joinErr = fmt.Errorf("join-all: node %s: Join(%s): %v", nd.name, seedAddr[0], err)
					}
					joinMu.Unlock()
				}
				t := h.now()
				for {
					old := atomic.LoadInt64(&lastJoinDone)
					if t <= old || atomic.CompareAndSwapInt64(&lastJoinDone, old, t) {
						break
					}
				}
				atomic.AddInt64(&joining, -1)
			}(h.nodes[i])
		}
	}()
	failed := func() error {
		joinMu.Lock()
		defer joinMu.Unlock()
		return joinErr
	}
	err := h.waitFor("join-all", time.Now().Add(o.jTimeout), func() bool {
		if failed() != nil {
			return true
		}
		if atomic.LoadInt64(&joining) > 0 {
			return false
		}
		for _, nd := range h.nodes {
			if atomic.LoadInt64(&nd.fullAt) == 0 {
				return false
			}
		}
		return true
	})
	if e := failed(); e != nil {
		return e
	}
	if err != nil {
		missing := 0
		var sample []string
		for _, nd := range h.nodes {
			if atomic.LoadInt64(&nd.fullAt) == 0 {
				missing++
				if len(sample) < 5 {
					sample = append(sample, fmt.Sprintf("%s sees %d (memberlist: %d)",
						nd.name, atomic.LoadInt64(&nd.aliveN), nd.ml.NumMembers()))
				}
			}
		}
		return fmt.Errorf("%v (%d of %d nodes without a full view, e.g. %s; %d joins pending)",
			err, missing, n, strings.Join(sample, ", "), atomic.LoadInt64(&joining))
	}
	var last int64
	var each []float64
	for _, nd := range h.nodes {
		f := atomic.LoadInt64(&nd.fullAt)
		if f > last {
			last = f
		}
		each = append(each, ms(f-tJoin))
	}
	sort.Float64s(each)
	r.JoinAllMs = fptr(ms(last - tJoin))
	r.JoinLagMs = fptr(ms(last - atomic.LoadInt64(&lastJoinDone)))
	r.JoinP50Ms = fptr(pct(each, 0.5))
	for _, nd := range h.nodes {
		if got := nd.ml.NumMembers(); got != n {
			return fmt.Errorf("join-all: node %s lists %d members after converging (want %d)", nd.name, got, n)
		}
	}
	joinCPU := cpuNow() - cpu0
	wall := time.Duration(h.now() - t0)
	r.JoinCPUPct = fptr(round(100*joinCPU.Seconds()/wall.Seconds(), 1))
	progress("join-all %.1f ms (node p50 %.1f ms)", *r.JoinAllMs, *r.JoinP50Ms)

	// ---- idle
	settle := o.settle
	if settle <= 0 {
		settle = settleFor(h.cfg, n)
	}
	r.SettleMs = durMs(settle)
	if err := h.sleep("settle", settle); err != nil {
		return err
	}
	if o.idle > 0 {
		progress("idle: measuring %.0f s", o.idle)
		before := make([]counters, n)
		for i, nd := range h.nodes {
			before[i] = nd.cnt.snapshot()
		}
		c0 := cpuNow()
		w0 := time.Now()
		if err := h.sleep("idle", time.Duration(o.idle*float64(time.Second))); err != nil {
			return err
		}
		secs := time.Since(w0).Seconds()
		cpu := (cpuNow() - c0).Seconds()
		var tot counters
		maxNode := int64(0)
		for i, nd := range h.nodes {
			d := nd.cnt.snapshot().sub(before[i])
			tot = tot.add(d)
			if b := d.udpBytes + d.tcpBytes; b > maxNode {
				maxNode = b
			}
		}
		per := func(x int64) float64 { return round(float64(x)/float64(n)/secs, 1) }
		r.Idle = &idleRes{
			Seconds:             round(secs, 3),
			BytesPerNodePerS:    per(tot.udpBytes + tot.tcpBytes),
			UDPBytesPerNodePerS: per(tot.udpBytes),
			TCPBytesPerNodePerS: per(tot.tcpBytes),
			MaxNodeBytesPerS:    round(float64(maxNode)/secs, 1),
			MsgsPerNodePerS:     per(tot.udpPkts + tot.tcpConns),
			UDPPktsPerNodePerS:  per(tot.udpPkts),
			TCPConnsPerNodePerS: round(float64(tot.tcpConns)/float64(n)/secs, 3),
			CPUPctPerNode:       round(100*cpu/secs/float64(n), 3),
			CPUPctTotal:         round(100*cpu/secs, 1),
		}
		// push-pull exchanges between a few pairs of nodes (Join() of one
		// to the other is one full push-pull), counted on both; mean size
		var ppSum int64
		pairs := 0
		for i := 1; i+1 < n && pairs < 5; i += 2 {
			a, b := h.nodes[i], h.nodes[i+1]
			ca, cb := a.cnt.snapshot(), b.cnt.snapshot()
			if _, err := a.ml.Join([]string{b.addr}); err != nil {
				return fmt.Errorf("idle: push-pull %s -> %s: %v", a.name, b.name, err)
			}
			ppSum += a.cnt.snapshot().sub(ca).tcpBytes + b.cnt.snapshot().sub(cb).tcpBytes
			pairs++
		}
		var ppBytes int64
		if pairs > 0 {
			ppBytes = ppSum / int64(pairs)
		}
		r.Idle.PushPullBytes = ppBytes
		if pp := pushPullScale(h.cfg.PushPullInterval, n); pp > 0 {
			r.Idle.PushPullBytesPerNodeS = round(float64(ppBytes)/pp.Seconds(), 1)
		}
		r.Idle.SteadyBytesPerNodePerS = round(r.Idle.UDPBytesPerNodePerS+r.Idle.PushPullBytesPerNodeS, 1)
		progress("idle: %.0f B/s and %.1f msgs/s per node, CPU %.1f%% total; steady with push-pull %.0f B/s",
			r.Idle.BytesPerNodePerS, r.Idle.MsgsPerNodePerS, r.Idle.CPUPctTotal, r.Idle.SteadyBytesPerNodePerS)
	}

	// ---- broadcast
	if h.broadcasts > 0 {
		k := h.broadcasts
		progress("broadcast: %d updates, %v apart", k, o.gap)
		origins := make([]int, k)
		starts := make([]int64, k)
		tr0 := h.traffic()
		c0 := cpuNow()
		w0 := time.Now()
		for id := 0; id < k; id++ {
			if id > 0 {
				if err := h.sleep("broadcast", o.gap); err != nil {
					return err
				}
			}
			origins[id] = rng.Intn(n)
			starts[id] = h.nodes[origins[id]].originate(id, h.payload)
		}
		complete := func() bool {
			for _, nd := range h.nodes {
				for id := 0; id < k; id++ {
					if atomic.LoadInt64(&nd.seen[id]) == 0 {
						return false
					}
				}
			}
			return true
		}
		werr := h.waitFor("broadcast", time.Now().Add(o.bTimeout), complete)
		if werr != nil && strings.Contains(werr.Error(), "-duration") {
			return werr
		}
		secs := time.Since(w0).Seconds()
		cpu := (cpuNow() - c0).Seconds()
		trd := h.traffic().sub(tr0)
		b := &bcastRes{
			Count:            k,
			GapMs:            durMs(o.gap),
			PayloadBytes:     8 + h.payload,
			BytesPerNodePerS: round(float64(trd.udpBytes+trd.tcpBytes)/float64(n)/secs, 1),
			CPUPctTotal:      round(100*cpu/secs, 1),
		}
		var avgs, lasts []float64
		for id := 0; id < k; id++ {
			u := updateRes{Origin: origins[id]}
			var sum, mx int64
			for i, nd := range h.nodes {
				if i == origins[id] {
					continue
				}
				s := atomic.LoadInt64(&nd.seen[id])
				if s == 0 {
					u.Residue++
					continue
				}
				d := s - starts[id]
				sum += d
				if d > mx {
					mx = d
				}
				u.Receivers++
			}
			if u.Receivers > 0 {
				u.TAvgMs = ms(sum / int64(u.Receivers))
				u.TLastMs = ms(mx)
			}
			if u.Residue == 0 {
				b.Complete++
			}
			b.Residue += u.Residue
			avgs = append(avgs, u.TAvgMs)
			lasts = append(lasts, u.TLastMs)
			b.Updates = append(b.Updates, u)
		}
		sort.Float64s(avgs)
		sort.Float64s(lasts)
		b.TAvgMsP50 = pct(avgs, 0.5)
		b.TLastMsP50 = pct(lasts, 0.5)
		b.TLastMsP99 = pct(lasts, 0.99)
		b.TLastMsMax = pct(lasts, 1)
		r.Broadcast = b
		progress("broadcast: time-last p50 %.1f ms, max %.1f ms, residue %d", b.TLastMsP50, b.TLastMsMax, b.Residue)
	}

	// ---- failure detection
	if o.kill {
		v := 1 + rng.Intn(n-1) // never node 0, the seed
		victim := h.nodes[v]
		dl := o.dTimeout
		if dl <= 0 {
			maxSusp := time.Duration(h.cfg.SuspicionMaxTimeoutMult) * suspicionTimeout(h.cfg.SuspicionMult, n, h.cfg.ProbeInterval)
			dl = maxSusp + 20*h.cfg.ProbeInterval + 10*time.Second
		}
		progress("detect: killing %s without leave (bound %v)", victim.name, dl)
		h.victimName.Store(victim.name)
		atomic.StoreInt64(&h.victim, int64(v))
		tKill := h.now()
		if err := victim.ml.Shutdown(); err != nil {
			return fmt.Errorf("detect: shutdown of %s: %v", victim.name, err)
		}
		err := h.waitFor("detect", time.Now().Add(dl), func() bool {
			for i, nd := range h.nodes {
				if i != v && atomic.LoadInt64(&nd.deadAt) == 0 {
					return false
				}
			}
			return true
		})
		d := &detectRes{Victim: victim.name}
		var times []float64
		for i, nd := range h.nodes {
			if i == v {
				continue
			}
			if t := atomic.LoadInt64(&nd.deadAt); t != 0 {
				times = append(times, ms(t-tKill))
			}
		}
		sort.Float64s(times)
		d.Observers = len(times)
		if len(times) > 0 {
			d.FirstMs = times[0]
			d.P50Ms = pct(times, 0.5)
			d.AllMs = times[len(times)-1]
		}
		h.mu.Lock()
		if h.suspectFirst > 0 {
			d.SuspectFirstMs = ms(h.suspectFirst - tKill)
		}
		h.mu.Unlock()
		r.Detect = d
		if err != nil {
			return fmt.Errorf("%v (%d of %d nodes declared %s dead)", err, d.Observers, n-1, victim.name)
		}
		progress("detect: first %.0f ms, all %.0f ms", d.FirstMs, d.AllMs)
	}
	return nil
}

// shutdownAll stops every node (no Leave: nobody is left to tell), bounded.
func shutdownAll(h *harness, bound time.Duration) {
	var wg sync.WaitGroup
	for _, nd := range h.nodes {
		if nd.ml == nil {
			continue
		}
		wg.Add(1)
		go func(nd *node) {
			defer wg.Done()
			nd.ml.Shutdown()
		}(nd)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(bound):
		progress("shutdown of the nodes took longer than %v; exiting anyway", bound)
	}
}

// ---------------------------------------------------------------- table

func printTable(w io.Writer, r *result) {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f ms", *p)
	}
	fmt.Fprintf(w, "memberlist %s (%s), config %s, N=%d, seed %d, %s\n", r.Version, r.Go, r.Config, r.N, r.Seed, r.Date)
	fmt.Fprintf(w, "  gossip %g ms to %d nodes; probe %g ms, timeout %g ms, %d indirect; suspicion x%d = %g ms at N (max x%d = %g ms)\n",
		r.GossipIntervalMs, r.GossipNodes, r.ProbeIntervalMs, r.ProbeTimeoutMs, r.IndirectChecks,
		r.SuspicionMult, r.SuspicionTimeoutMs, r.SuspicionMaxTimeoutMult, r.SuspicionMaxTimeoutMs)
	fmt.Fprintf(w, "  retransmit x%d = %d sends; push-pull %g ms (%g ms at N); compression %v; clock: %s\n",
		r.RetransmitMult, r.RetransmitLimit, r.PushPullIntervalMs, r.PushPullIntervalScaledMs, r.Compression, r.Clock)
	fmt.Fprintf(w, "  Go GC: %s; joins in flight at most %d, one started every %g ms; max RSS %.0f MiB\n", r.GC, r.JoinParallel, r.JoinGapMs, r.MaxRSSMB)
	fmt.Fprintf(w, "\n%-22s %s\n", "figure", "value")
	row := func(k, v string) { fmt.Fprintf(w, "%-22s %s\n", k, v) }
	row("create", f(r.CreateMs))
	row("join-all", f(r.JoinAllMs))
	row("join, node p50", f(r.JoinP50Ms))
	row("join lag", f(r.JoinLagMs)+" (after the last Join() returned)")
	if r.Idle != nil {
		i := r.Idle
		row("idle window", fmt.Sprintf("%.1f s, after %.1f s of settling", i.Seconds, r.SettleMs/1000))
		row("idle B/node/s", fmt.Sprintf("%.0f (UDP %.0f, TCP %.0f; busiest node %.0f)", i.BytesPerNodePerS, i.UDPBytesPerNodePerS, i.TCPBytesPerNodePerS, i.MaxNodeBytesPerS))
		row("idle msgs/node/s", fmt.Sprintf("%.1f (UDP datagrams %.1f, TCP streams %.3f)", i.MsgsPerNodePerS, i.UDPPktsPerNodePerS, i.TCPConnsPerNodePerS))
		row("idle push-pull", fmt.Sprintf("%d B per exchange = %.0f B/node/s over %g ms; steady %.0f B/node/s (UDP + push-pull)", i.PushPullBytes, i.PushPullBytesPerNodeS, r.PushPullIntervalScaledMs, i.SteadyBytesPerNodePerS))
		row("idle CPU/node", fmt.Sprintf("%.3f %% of a core (process %.1f %%)", i.CPUPctPerNode, i.CPUPctTotal))
	}
	if b := r.Broadcast; b != nil {
		row("broadcasts", fmt.Sprintf("%d x %d B, %g ms apart; %d complete, residue %d", b.Count, b.PayloadBytes, b.GapMs, b.Complete, b.Residue))
		row("time-avg p50", fmt.Sprintf("%.1f ms", b.TAvgMsP50))
		row("time-last p50/p99/max", fmt.Sprintf("%.1f / %.1f / %.1f ms", b.TLastMsP50, b.TLastMsP99, b.TLastMsMax))
		row("bcast B/node/s", fmt.Sprintf("%.0f (process CPU %.1f %%)", b.BytesPerNodePerS, b.CPUPctTotal))
	}
	if d := r.Detect; d != nil {
		row("detect victim", fmt.Sprintf("%s (%d observers declared it dead)", d.Victim, d.Observers))
		row("detect suspect-first", fmt.Sprintf("%.1f ms", d.SuspectFirstMs))
		row("detect first/p50/all", fmt.Sprintf("%.1f / %.1f / %.1f ms", d.FirstMs, d.P50Ms, d.AllMs))
	}
	row("false dead", fmt.Sprintf("%d %v", r.FalseDead, r.FalseDeadOf))
	row("false suspicions", fmt.Sprintf("%d (false marked dead %d, refutations %d)", r.FalseSusp, r.FalseMarked, r.Refutations))
	row("run", fmt.Sprintf("%.1f s", r.RunS))
	if r.Error != "" {
		row("ERROR", r.Error)
	}
	if b := r.Broadcast; b != nil && len(b.Updates) > 0 {
		fmt.Fprintf(w, "\n%-4s %-8s %10s %10s %8s\n", "id", "origin", "t_avg_ms", "t_last_ms", "residue")
		for id, u := range b.Updates {
			fmt.Fprintf(w, "%-4d %-8s %10.1f %10.1f %8d\n", id, nodeName(u.Origin), u.TAvgMs, u.TLastMs, u.Residue)
		}
	}
}
