package conformance

import (
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// The gate's Keystone drills: the controller against real Octavia behind
// real Keystone, where credentials stop working mid-hold. Tokens expire in
// real time (the testbed's last OS_TOKEN_EXPIRATION seconds), so these
// drills pace their reconciles on the wall clock (realPace between them)
// while the gate's own clock stays fake.

// realPace is the wall-clock gap between reconciles while a drill waits
// for Keystone's clock: tokens expire, revocations reach
// keystonemiddleware.
const realPace = 2 * time.Second

func (s *stack) tokenLifetime(t testing.TB) time.Duration {
	n, err := strconv.Atoi(s.get("OS_TOKEN_EXPIRATION"))
	if err != nil || n <= 0 {
		t.Fatalf("OS_TOKEN_EXPIRATION %q in the env file: want seconds", s.get("OS_TOKEN_EXPIRATION"))
	}
	return time.Duration(n) * time.Second
}

// readyCondition is the MemberGate's Ready condition, or an empty one.
func (d *drill) readyCondition() metav1.Condition {
	if c := meta.FindStatusCondition(d.memberGate().Status.Conditions, v1alpha1.ReadyCondition); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// everything is every message the gate wrote: its log lines, the
// MemberGate's conditions, every Machine's, and the events recorded so far
// (log lines and events drained).
func (d *drill) everything() []string {
	out := d.logs.take()
	for _, c := range d.memberGate().Status.Conditions {
		out = append(out, c.Message)
	}
	for i := 0; i <= drillMachines; i++ {
		m := d.machine(i)
		for _, c := range m.Status.Conditions {
			out = append(out, c.Message)
		}
	}
	for {
		select {
		case e := <-d.recorder.Events:
			out = append(out, e)
			d.events = append(d.events, e)
		default:
			return out
		}
	}
}

// stuckHold starts the rollout with cp-2's member stuck PENDING_CREATE
// and cp-0 deleted: a hold that lasts until the drill says otherwise.
func (d *drill) stuckHold() {
	d.startRollout()
	d.serving(d.members[drillMachines])
	d.b.setMemberStatus(d.t, d.members[drillMachines], memberwait.StatusPendingCreate, memberwait.StatusOffline)
	d.deleteMachine(0)
	d.run("the hold", time.Minute, func() bool { return d.row(0).Held })
}

// TestGateDrillKeystoneTokenExpiry: the gate holds across more than two
// token lifetimes of real time. Each expired token is replaced by one new
// login (gophercloud logs in again on Octavia's 401), the hold and its
// record never change, Octavia is never reported unavailable, and the
// logins stay bounded: at most one per token lifetime, plus the first.
func TestGateDrillKeystoneTokenExpiry(t *testing.T) {
	s := realStack(t)
	lifetime := s.tokenLifetime(t)
	tc := newTokenCounter(t, s.get("OS_AUTH_URL"))
	d := newDrillAs(t, s.cloudsVia(tc.authURL(), s.get("OS_APPCRED_ID"), s.get("OS_APPCRED_SECRET")), cloudAppCred)
	d.stuckHold()
	heldSince := d.row(0).HeldSince
	first := tc.logins.Load()
	start := time.Now()
	reconciles := 0
	for time.Since(start) < 2*lifetime+lifetime/2 {
		res := d.reconcile()
		reconciles++
		d.g.Expect(d.hooked(0)).To(BeTrue(), "cp-0 released after %s: %s", time.Since(start), d.describe())
		row := d.row(0)
		d.g.Expect(row.Held).To(BeTrue())
		d.g.Expect(row.HeldSince).To(Equal(heldSince), "the hold's start changed")
		d.g.Expect(d.readyCondition().Reason).NotTo(Equal(gate.ReasonOctaviaUnavailable), "after %s: %s", time.Since(start), d.readyCondition().Message)
		d.g.Expect(d.condition(drillMachines).Reason).To(Equal(gate.ReasonMemberPending))
		d.clk.Step(res.RequeueAfter)
		time.Sleep(realPace)
	}
	elapsed := time.Since(start)
	relogins := tc.logins.Load() - first
	perLifetime := float64(relogins) / (float64(elapsed) / float64(lifetime))
	t.Logf("%d reconciles over %s of real time (token lifetime %s): %d logins before the hold, %d during it (%.2f per token lifetime)",
		reconciles, elapsed.Round(time.Second), lifetime, first, relogins, perLifetime)
	// Tokens did expire during the hold (else the drill proved nothing),
	// and no more logins than expiries happened.
	d.g.Expect(relogins).To(BeNumerically(">=", 2), "no login again over %s: the token never expired", elapsed)
	d.g.Expect(relogins).To(BeNumerically("<=", int64(elapsed/lifetime)+1), "logins not bounded by the token lifetime")
	report.note("Keystone drill, token expiry: %d reconciles over %s (token lifetime %s): %d logins again, %.2f per token lifetime",
		reconciles, elapsed.Round(time.Second), lifetime, relogins, perLifetime)
	all := d.everything()
	logged := 0
	for _, m := range all {
		assertNoSecret(t, "a condition, event or log line", m, s.secretsOf())
		if strings.Contains(m, "holding the control-plane rollout") {
			logged++
		}
	}
	// The gate logs every held reconcile: without those lines the check
	// above would have looked at no log at all.
	d.g.Expect(logged).To(BeNumerically(">", 0), "no log line of the gate was gathered")
	d.finish("release after the member flips, tokens renewed")
}

// TestGateDrillKeystoneAppCredDeleted: the identity Secret's application
// credential is deleted mid-hold. Once its token is refused (Keystone
// revokes a deleted credential's tokens; keystonemiddleware notices within
// its cache time), logging in again fails: the gate keeps holding, says on
// the MemberGate and in the held-too-long alert that the credential was
// refused and what to do, and never shows a secret. A Secret with a new
// application credential brings it back and the rollout finishes.
func TestGateDrillKeystoneAppCredDeleted(t *testing.T) {
	s := realStack(t)
	lifetime := s.tokenLifetime(t)
	id, secret := s.newAppCred(t, "drill")
	d := newDrillAs(t, s.cloudsYAML(id, secret), cloudAppCred)
	d.stuckHold()
	heldSince := d.row(0).HeldSince
	for _, m := range d.everything() { // the events so far
		assertNoSecret(t, "a condition, event or log line", m, s.secretsOf(secret))
	}

	s.deleteAppCred(t, id)
	deleted := time.Now()
	// The gate's clock moves in small steps while Keystone's catches up
	// (enough for it to poll Octavia, at most a few minutes in all), so
	// the held-too-long alert (15 min) fires only once the refusal is what
	// holds.
	for {
		res := d.reconcile()
		d.clk.Step(min(res.RequeueAfter, 5*time.Second))
		d.g.Expect(d.hooked(0)).To(BeTrue(), "cp-0 released with its credential deleted: %s", d.describe())
		c := d.readyCondition()
		if c.Reason == gate.ReasonOctaviaUnavailable && strings.Contains(c.Message, "was refused") {
			break
		}
		if time.Since(deleted) > 2*lifetime+time.Minute {
			t.Fatalf("the deleted credential not noticed after %s: %s; %s", time.Since(deleted), c.Message, d.describe())
		}
		time.Sleep(realPace)
	}
	noticed := time.Since(deleted)
	msg := d.readyCondition().Message
	for _, want := range []string{"application credential " + id + " was refused", "create a new one", "Secret " + d.ns + "/cloud-config", "logging in again"} {
		d.g.Expect(msg).To(ContainSubstring(want))
	}
	t.Logf("deleted credential noticed after %s: %s", noticed.Round(time.Second), msg)
	report.note("Keystone drill, application credential deleted: noticed after %s; MemberGate Ready: `%s`", noticed.Round(time.Second), msg)

	// Held long enough to alert: the alert names the refusal.
	d.hold(0, 45*time.Minute, func() {
		d.g.Expect(d.row(0).HeldSince).To(Equal(heldSince))
	})
	all := d.everything()
	var alert string
	for _, e := range d.events {
		if strings.HasPrefix(e, corev1.EventTypeWarning+" "+gate.EventHeldTooLong) {
			alert = e
		}
	}
	d.g.Expect(alert).To(ContainSubstring("was refused"), "events: %q", d.events)
	for _, m := range all {
		assertNoSecret(t, "a condition, event or log line", m, s.secretsOf(secret))
	}

	// The fix: a new application credential in the Secret.
	id2, secret2 := s.newAppCred(t, "drill-fixed")
	sec := &corev1.Secret{}
	d.g.Expect(d.kc.Get(ctx, types.NamespacedName{Namespace: d.ns, Name: "cloud-config"}, sec)).To(Succeed())
	sec.Data["clouds.yaml"] = []byte(s.cloudsYAML(id2, secret2))
	d.g.Expect(d.kc.Update(ctx, sec)).To(Succeed())
	d.run("Octavia read again with the new credential", 10*time.Minute, func() bool {
		return d.readyCondition().Reason != gate.ReasonOctaviaUnavailable
	})
	d.g.Expect(d.row(0).HeldSince).To(Equal(heldSince), "the hold's record changed across the outage")
	for _, m := range d.everything() {
		assertNoSecret(t, "a condition, event or log line", m, s.secretsOf(secret, secret2))
	}
	d.finish("release after the Secret is fixed")
}
