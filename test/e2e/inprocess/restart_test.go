package inprocess

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// minDown is the least time the gate stays down: longer than memberwait's
// longest gap between two observations over which a settle window may run
// on (15 s: one and a half times the backoff's 10 s cap), so that the
// restarted gate must start the replacement's settle window again.
const minDown = 20 * time.Second

// The gate's manager is killed while it holds an old Machine whose
// replacement's member is still PENDING_CREATE, stays down until that member
// serves, and starts again (a brand-new manager and reconciler, as a new
// pod): nothing is released while it is down or early after it, the hold's
// row in the MemberGate status survives, no status or condition claims
// more than was observed, and the rollout completes without ever losing a
// serving member.
func TestGateKilledAndRestartedMidHold(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	gp, err := h.StartGate("restart")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = gp.Kill() })
	c, err := h.CreateCluster(ctx, harness.ClusterSpec{Namespace: "gate-restart", Name: "cp", Replicas: replicas,
		SettleWindow: settleWindow, Gate: gp.Name})
	g.Expect(err).NotTo(HaveOccurred())

	m := startMidHold(ctx, t, g, c)
	m.kill(gp.Kill)
	// Nothing moves while the gate is down: until the replacement's member
	// serves, and for minDown at least.
	g.Consistently(m.down).WithContext(ctx).WithTimeout(time.Until(m.killAt.Add(minDown))).WithPolling(250 * time.Millisecond).
		Should(Succeed())
	g.Eventually(func() (bool, error) {
		if err := m.down(); err != nil {
			return false, StopTrying(err.Error())
		}
		return m.replacementServing(), nil
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(250*time.Millisecond).Should(BeTrue(),
		"%s's member did not serve", m.replacement)
	g.Expect(m.versions.all()).To(BeEmpty(), "the MemberGate was written while the gate was down")

	// Start it again.
	restartAt := time.Now()
	downFor := restartAt.Sub(m.killAt)
	g.Expect(gp.Start()).To(Succeed())
	synced := time.Since(restartAt)
	t.Logf("restarted the gate after %.1fs down (%s's member serving for %.1fs); Start took %s", downFor.Seconds(), m.replacement,
		restartAt.Sub(timeline(m.rec.Recording(), m.replacement).MemberServing).Seconds(), synced.Round(time.Millisecond))

	r := m.resumed(restartAt, "the restart")
	t.Logf("rolled out in %s; killed at +%.1fs, down %.1fs, restart → release of %s %.1fs (settle window %s); "+
		"%s held %.1fs in all; fewest serving members %d (required %d)",
		r.duration.Round(time.Second), m.killAt.Sub(m.start).Seconds(), downFor.Seconds(), m.held.Name,
		r.held.HookReleased.Sub(restartAt).Seconds(), settleWindow, m.held.Name,
		r.held.HookReleased.Sub(r.held.DeletionSeen).Seconds(), r.got.MinServing, r.got.Required)
}

// heldWhilePending finds an old Machine held while its replacement's member
// is PENDING_CREATE, as the gate's status says and as the emulator says.
func heldWhilePending(ctx context.Context, c *harness.Cluster, old []harness.MachineView) (v1alpha1.MachineMembers, string, bool) {
	var mg v1alpha1.MemberGate
	if err := h.Client.Get(ctx, c.Key(), &mg); err != nil {
		return v1alpha1.MachineMembers{}, "", false
	}
	s, err := c.Snapshot(ctx)
	if err != nil {
		return v1alpha1.MachineMembers{}, "", false
	}
	var repl *harness.MachineView
	for i, m := range s.Machines {
		if machineView(old, m.Name) == nil {
			repl = &s.Machines[i]
		}
	}
	row, ok := heldRow(&mg)
	if !ok || repl == nil || repl.Member == nil || repl.Member.Provisioning != memberwait.StatusPendingCreate {
		return v1alpha1.MachineMembers{}, "", false
	}
	r, ok := rowOf(&mg, repl.Name)
	if !ok || len(r.Members) != 1 || r.Members[0].ProvisioningStatus != memberwait.StatusPendingCreate {
		return v1alpha1.MachineMembers{}, "", false
	}
	return row, repl.Name, true
}

// holdState is what a status row says about a hold.
type holdState struct {
	Name              string
	Deleting, Held    bool
	HeldSince         time.Time
	Alerted           bool
	HeldSinceRecorded bool
}

func hold(r v1alpha1.MachineMembers) holdState {
	s := holdState{Name: r.Name, Deleting: r.Deleting, Held: r.Held, Alerted: r.Alerted, HeldSinceRecorded: r.HeldSince != nil}
	if r.HeldSince != nil {
		s.HeldSince = r.HeldSince.Time
	}
	return s
}

// settled is a row's members without what each observation refreshes
// (when it was seen, and the message, which may say for how long).
func settled(r v1alpha1.MachineMembers) []v1alpha1.Member {
	out := make([]v1alpha1.Member, 0, len(r.Members))
	for _, m := range r.Members {
		m.LastSeen, m.Message = nil, ""
		out = append(out, m)
	}
	return out
}

func heldRow(mg *v1alpha1.MemberGate) (v1alpha1.MachineMembers, bool) {
	for _, row := range mg.Status.Machines {
		if row.Held {
			return row, true
		}
	}
	return v1alpha1.MachineMembers{}, false
}

func rowOf(mg *v1alpha1.MemberGate, name string) (v1alpha1.MachineMembers, bool) {
	for _, row := range mg.Status.Machines {
		if row.Name == name {
			return row, true
		}
	}
	return v1alpha1.MachineMembers{}, false
}

// memberReadyCondition reads a Machine's LoadBalancerMemberReady condition
// from the API server.
func memberReadyCondition(ctx context.Context, c *harness.Cluster, machine string) (*metav1.Condition, error) {
	var m clusterv1.Machine
	if err := h.Client.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: machine}, &m); err != nil {
		return nil, err
	}
	return meta.FindStatusCondition(m.Status.Conditions, v1alpha1.MemberReadyCondition), nil
}

// machineView finds a Machine by name; nil when it is not among machines.
func machineView(machines []harness.MachineView, name string) *harness.MachineView {
	for i := range machines {
		if machines[i].Name == name {
			return &machines[i]
		}
	}
	return nil
}

func timeline(rec harness.Recording, name string) harness.Timeline {
	for _, m := range rec.Machines {
		if m.Name == name {
			return m
		}
	}
	return harness.Timeline{Name: name}
}

// sampleLog keeps every sample the recorder takes.
type sampleLog struct {
	mu   sync.Mutex
	list []harness.Snapshot
}

func (l *sampleLog) add(s harness.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, s)
}

// firstReason is the first sample that showed the Machine with the gate's
// condition reason.
func (l *sampleLog) firstReason(machine, reason string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.list {
		if m := machineView(s.Machines, machine); m != nil && m.GateReason == reason {
			return s.At, true
		}
	}
	return time.Time{}, false
}

// memberGateVersion is one MemberGate version a watch delivered, and when.
type memberGateVersion struct {
	at time.Time
	mg *v1alpha1.MemberGate
}

type versionLog struct {
	mu   sync.Mutex
	list []memberGateVersion
	// err is what the watch reported before it was stopped (stopping
	// closes the stream, which it reports too).
	err     error
	stopped bool
}

func (l *versionLog) all() []memberGateVersion {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]memberGateVersion(nil), l.list...)
}

func (l *versionLog) error() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// watchMemberGate collects every version of the cluster's MemberGate
// written after resourceVersion rv, until stop.
func watchMemberGate(ctx context.Context, c *harness.Cluster, rv string) (*versionLog, func(), error) {
	wc, err := client.NewWithWatch(h.Config, client.Options{Scheme: h.Client.Scheme()})
	if err != nil {
		return nil, nil, err
	}
	w, err := wc.Watch(ctx, &v1alpha1.MemberGateList{}, &client.ListOptions{Namespace: c.Namespace,
		Raw: &metav1.ListOptions{ResourceVersion: rv}})
	if err != nil {
		return nil, nil, err
	}
	l := &versionLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			l.mu.Lock()
			switch ev.Type {
			case watch.Added, watch.Modified:
				if mg, ok := ev.Object.(*v1alpha1.MemberGate); ok && mg.Name == c.Name {
					l.list = append(l.list, memberGateVersion{at: time.Now(), mg: mg})
				}
			case watch.Error:
				if !l.stopped {
					l.err = errors.Join(l.err, fmt.Errorf("watch: %v", ev.Object))
				}
			}
			l.mu.Unlock()
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.stopped {
			l.err = errors.Join(l.err, errors.New("the watch ended before it was stopped: versions may be missing"))
		}
	}()
	var once sync.Once
	return l, func() {
		once.Do(func() {
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
			w.Stop()
			<-done
		})
	}, nil
}

// eventsSince counts the events of a reason about an object emitted at or
// after since, a series counting as many as it says.
func eventsSince(ctx context.Context, namespace, name, reason string, since time.Time) int {
	var list eventsv1.EventList
	if err := h.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return -1
	}
	n := 0
	for _, e := range list.Items {
		if e.Reason != reason || e.Regarding.Name != name || e.EventTime.Time.Before(since) {
			continue
		}
		if e.Series != nil && e.Series.Count > 1 {
			n += int(e.Series.Count)
		} else {
			n++
		}
	}
	return n
}
