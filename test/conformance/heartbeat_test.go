package conformance

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/pkg/memberwait"
)

// An amphora's heartbeat, as octavia/amphorae/backends/health_daemon sends
// it (version 3): JSON, zlib-compressed at level 9, followed by the hex
// HMAC-SHA256 of the compressed bytes under the health manager's
// heartbeat_key (status_message.wrap_envelope). The health manager turns
// it into operating statuses: member "UP" → ONLINE, "DOWN" → ERROR, "no
// check" → NO_MONITOR, "DRAIN" → DRAINING, "MAINT" → OFFLINE
// (amphorae/drivers/health/heartbeat_udp.py).
type heartbeat struct {
	ID        string                       `json:"id"`
	Seq       int                          `json:"seq"`
	Listeners map[string]heartbeatListener `json:"listeners"`
	Pools     map[string]heartbeatPool     `json:"pools"` // keyed "<pool id>:<listener id>"
	Ver       int                          `json:"ver"`
}

type heartbeatListener struct {
	Status string         `json:"status"` // OPEN or FULL
	Stats  map[string]int `json:"stats"`
}

type heartbeatPool struct {
	Status  string            `json:"status"` // UP or DOWN
	Members map[string]string `json:"members"`
}

// envelope wraps a heartbeat as the amphora agent does.
func envelope(hb heartbeat, key string) ([]byte, error) {
	js, err := json.Marshal(hb)
	if err != nil {
		return nil, err
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(z.Bytes())
	return append(z.Bytes(), []byte(hex.EncodeToString(mac.Sum(nil)))...), nil
}

func TestHeartbeatEnvelope(t *testing.T) {
	msg, err := envelope(heartbeat{ID: "amp", Seq: 1, Ver: 3}, "key")
	if err != nil {
		t.Fatal(err)
	}
	payload, sum := msg[:len(msg)-64], msg[len(msg)-64:]
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write(payload)
	if string(sum) != hex.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("trailer %s is not the hex HMAC of the payload", sum)
	}
	zr, err := zlib.NewReader(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	var back heartbeat
	if err := json.NewDecoder(zr).Decode(&back); err != nil || back.ID != "amp" || back.Ver != 3 {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}

// amphora plays the amphora of one load balancer: it sends a heartbeat
// every gap, reporting memberStatus for one member, until stopped.
type amphora struct {
	status atomic.Value // string: "UP", "DOWN", …
	sent   atomic.Int64
	stop   context.CancelFunc
	done   chan struct{}
}

func startAmphora(t *testing.T, s *stack, ampID, listenerID, poolID, memberID, status string, gap time.Duration) *amphora {
	t.Helper()
	conn, err := net.Dial("udp", s.get("OS_HM_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	a := &amphora{stop: cancel, done: make(chan struct{})}
	a.status.Store(status)
	go func() {
		defer close(a.done)
		defer conn.Close()
		tick := time.NewTicker(gap)
		defer tick.Stop()
		for seq := 1; ; seq++ {
			hb := heartbeat{ID: ampID, Seq: seq, Ver: 3,
				Listeners: map[string]heartbeatListener{listenerID: {Status: "OPEN",
					Stats: map[string]int{"tx": 0, "rx": 0, "conns": 0, "totconns": 0, "ereq": 0}}},
				Pools: map[string]heartbeatPool{poolID + ":" + listenerID: {Status: "UP",
					Members: map[string]string{memberID: a.status.Load().(string)}}},
			}
			if msg, err := envelope(hb, s.get("OS_HEARTBEAT_KEY")); err == nil {
				if _, err := conn.Write(msg); err == nil {
					a.sent.Add(1)
				}
			}
			select {
			case <-c.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(a.halt)
	return a
}

func (a *amphora) halt() {
	a.stop()
	<-a.done
}

// TestMemberwaitServingWithHeartbeats drives a member's operating status
// through the real health manager with signed heartbeats: while the amphora
// reports it DOWN (ERROR) a Serving wait stays pending; once it reports UP
// (ONLINE) the wait succeeds only after the settle window has passed with
// the member ONLINE throughout.
func TestMemberwaitServingWithHeartbeats(t *testing.T) {
	b := newOctaviaBackend(t)
	s := b.stack
	lbID, poolID := buildTree(t, b, true)
	memberID := addMember(t, b, lbID, poolID, "cp-0", "10.0.1.10")
	p, err := pools.Get(ctx, b.client, poolID).Extract()
	if err != nil || len(p.Listeners) != 1 {
		t.Fatalf("pool: %+v %v", p, err)
	}
	ampID := s.sql(t, "SELECT id FROM amphora WHERE load_balancer_id='%s' AND status <> 'DELETED'", lbID)
	if ampID == "" || strings.Contains(ampID, "\n") {
		t.Fatalf("amphora of %s: %q, want exactly one", lbID, ampID)
	}

	started := time.Now()
	s.ctl(t, "start", "octavia-health-manager")
	report.timing(b.name, "octavia-health-manager start (until it listens)", time.Since(started))
	t.Cleanup(func() {
		// Without heartbeats the health manager would fail the amphora over
		// (after heartbeat_timeout) and rewrite member statuses: stop it,
		// and forget this amphora's health.
		s.ctl(t, "stop", "octavia-health-manager")
		s.sql(t, "DELETE FROM amphora_health WHERE amphora_id='%s'", ampID)
	})

	amp := startAmphora(t, s, ampID, p.Listeners[0].ID, poolID, memberID, "DOWN", 500*time.Millisecond)
	sent := time.Now()
	b.eventually(t, "member ERROR from a DOWN heartbeat", 30*time.Second, func() (bool, string) {
		v := b.tree(t, lbID).get("member cp-0")
		return v == "ACTIVE/ERROR", v
	})
	report.timing(b.name, "heartbeat DOWN → member operating ERROR", time.Since(sent))

	const settle = 10 * time.Second
	opts := quick(memberwait.Serving)
	opts.SettleWindow = settle
	// memberwait starts the settle window again after a gap between looks
	// longer than 1.5 × Backoff.Max; quick's 400 ms leaves a status tree
	// that takes 200 ms to come (Octavia through Keystone on a loaded
	// 2-core machine) restarting it forever. This test is about the
	// heartbeats, not gaps.
	opts.Backoff.Max = 2 * time.Second
	w := startWait(b, lbID, memberwait.Selector{PoolID: poolID, ID: memberID}, opts)
	w.pendingFor(t, 3, "ACTIVE/ERROR", 20*time.Second)

	amp.status.Store("UP")
	up := time.Now()
	b.eventually(t, "member ONLINE from an UP heartbeat", 30*time.Second, func() (bool, string) {
		v := b.tree(t, lbID).get("member cp-0")
		return v == activeOnline, v
	})
	online := time.Since(up)
	report.timing(b.name, "heartbeat UP → member operating ONLINE", online)

	res, err := w.result(t, settle+30*time.Second)
	if err != nil {
		t.Fatalf("Serving wait: %v", err)
	}
	if res.Verdict.Member.OperatingStatus != memberwait.StatusOnline {
		t.Fatalf("result %+v, want the member ONLINE", res.Verdict)
	}
	// ONLINE was first seen no earlier than the UP heartbeat went out, so
	// success before up+settle would mean the settle window was skipped.
	if held := w.ended.Sub(up); held < settle {
		t.Fatalf("Serving after %s of ONLINE, want at least the %s settle window", held, settle)
	}
	report.timing(b.name, "memberwait: heartbeat UP → Serving (settle window 10 s)", w.ended.Sub(up))
	report.note("heartbeats sent in the Serving test: %d (one every 500 ms)", amp.sent.Load())
}
