package scope

import "testing"

func TestOperationLabelsHaveNoIDs(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/lbaas/loadbalancers/5d1c1e4a-0000-4000-8000-000000000001/status": "get loadbalancers/status",
		"/v2.0/lbaas/pools/5d1c1e4a-0000-4000-8000-000000000002/members":      "get pools/members",
		"/identity/v3/auth/tokens":                                     "get auth/tokens",
		"/v2/lbaas/loadbalancers/5d1c1e4a-0000-4000-8000-000000000001": "get loadbalancers",
	} {
		if got := operation("GET", path); got != want {
			t.Errorf("operation(%s) = %q, want %q", path, got, want)
		}
	}
}

// A tenant chooses its endpoints, paths included: nothing of a path but
// the names membergate asks for becomes a label value.
func TestOperationLabelsIgnoreATenantsPath(t *testing.T) {
	for path, want := range map[string]string{
		"/lbaas/attacker-chosen-1/v2/lbaas/loadbalancers/x/status": "get loadbalancers/status",
		"/v3/anything-at-all":                     "get other",
		"/v2/lbaas/" + "x-" + "unbounded-name-42": "get other",
	} {
		if got := operation("GET", path); got != want {
			t.Errorf("operation(%s) = %q, want %q", path, got, want)
		}
	}
}
