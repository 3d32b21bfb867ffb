package webhooks

// FuzzValidate checks MemberGate admission against an independent reading
// of its rules. Run with hack/fuzz.sh, or
//
//	go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 30s ./webhooks/
//
// The seed corpus is under testdata/fuzz/FuzzValidate.

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
)

// FuzzValidate: validate accepts exactly the MemberGates the rules allow,
// names every field it refuses, warns about a settle window shorter than a
// heartbeat and about an old MemberGate not named after its Cluster;
// defaulting keeps a valid MemberGate valid, changes nothing the
// user set, and is idempotent.
func FuzzValidate(f *testing.F) {
	f.Add("prod", "prod", "prod", "Enforce", "Fail", true, int64(45*time.Second), true, int64(15*time.Minute), false, int32(0), false)
	f.Add("prod", "prod", "other", "Audit", "Serving", true, int64(0), false, int64(0), true, int32(2), true)
	f.Add("", "", "", "Enforcing", "Ignore", true, int64(-1), true, int64(time.Second), true, int32(0), true)
	f.Add("prod", "prod", "", "", "", true, int64(5*time.Second), true, int64(8*24*time.Hour), true, int32(-7), false)
	f.Add("prod-policy", "prod", "", "Enforce", "Fail", false, int64(0), false, int64(0), false, int32(0), false)
	f.Add("prod-policy", "prod", "prod", "Enforce", "Fail", false, int64(0), false, int64(0), false, int32(0), true)
	f.Fuzz(func(t *testing.T, name, cluster, oldCluster, mode, noMonitor string, hasSettle bool, settle int64, hasAlert bool, alert int64,
		hasMin bool, minServing int32, update bool) {
		mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.MemberGateSpec{ClusterName: cluster,
			Mode: v1alpha1.GateMode(mode), NoMonitorPolicy: v1alpha1.NoMonitorPolicy(noMonitor)}}
		if hasSettle {
			mg.Spec.SettleWindow = &metav1.Duration{Duration: time.Duration(settle)}
		}
		if hasAlert {
			mg.Spec.AlertAfter = &metav1.Duration{Duration: time.Duration(alert)}
		}
		if hasMin {
			mg.Spec.MinServingMembers = &minServing
		}
		var old *v1alpha1.MemberGate
		if update {
			old = mg.DeepCopy()
			old.Spec.ClusterName = oldCluster
		}

		// The rules, read independently of validate.
		var bad []string
		if cluster == "" {
			bad = append(bad, "spec.clusterName")
		}
		if update && oldCluster != cluster {
			bad = append(bad, "spec.clusterName")
		}
		misnamed := cluster != "" && name != cluster
		if misnamed && !update {
			bad = append(bad, "metadata.name")
		}
		if !slices.Contains([]string{"", "Enforce", "Audit", "Disabled"}, mode) {
			bad = append(bad, "spec.mode")
		}
		if !slices.Contains([]string{"", "Provisioned", "Fail", "Serving", "Wait"}, noMonitor) {
			bad = append(bad, "spec.noMonitorPolicy")
		}
		if hasSettle && (settle < 0 || time.Duration(settle) > MaxSettleWindow) {
			bad = append(bad, "spec.settleWindow")
		}
		if hasAlert && (time.Duration(alert) < MinAlertAfter || time.Duration(alert) > MaxAlertAfter) {
			bad = append(bad, "spec.alertAfter")
		}
		if hasMin && minServing < 1 {
			bad = append(bad, "spec.minServingMembers")
		}
		shortSettle := hasSettle && settle >= 0 && time.Duration(settle) < 10*time.Second

		warnings, err := validate(mg, old)
		if update && oldCluster == cluster {
			// The spec unchanged: never refused, whatever it holds.
			if err != nil {
				t.Fatalf("a spec-preserving update refused: %v", err)
			}
			if len(bad) > 0 {
				if !strings.Contains(strings.Join(warnings, "\n"), "not valid today") {
					t.Fatalf("a spec-preserving update of an invalid spec without a warning: %v", warnings)
				}
				return
			}
		}
		if (err == nil) != (len(bad) == 0) {
			t.Fatalf("validate = %v, want errors on %v", err, bad)
		}
		for _, field := range bad {
			if !strings.Contains(err.Error(), field) {
				t.Fatalf("the error does not name %s: %v", field, err)
			}
		}
		if shortSettle != strings.Contains(strings.Join(warnings, "\n"), "spec.settleWindow") {
			t.Fatalf("warnings %v for a settle window of %s", warnings, time.Duration(settle))
		}
		if want := misnamed && update; want != strings.Contains(strings.Join(warnings, "\n"), "applies to the Cluster named") {
			t.Fatalf("warnings %v for a MemberGate %q of cluster %q (update: %v)", warnings, name, cluster, update)
		}

		defaulted := mg.DeepCopy()
		if err := (MemberGate{}).Default(context.Background(), defaulted); err != nil {
			t.Fatal(err)
		}
		again := defaulted.DeepCopy()
		_ = (MemberGate{}).Default(context.Background(), again)
		if !reflect.DeepEqual(defaulted, again) {
			t.Fatal("defaulting twice changed the MemberGate again")
		}
		if hasSettle && defaulted.Spec.SettleWindow.Duration != time.Duration(settle) || mode != "" && string(defaulted.Spec.Mode) != mode ||
			!reflect.DeepEqual(defaulted.Spec.MinServingMembers, mg.Spec.MinServingMembers) {
			t.Fatalf("defaulting changed what the user set: %+v → %+v", mg.Spec, defaulted.Spec)
		}
		if len(bad) == 0 {
			if _, err := validate(defaulted, old); err != nil {
				t.Fatalf("a valid MemberGate is invalid once defaulted: %v", err)
			}
		}
	})
}
