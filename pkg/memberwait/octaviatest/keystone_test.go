package octaviatest

import (
	"context"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
)

func TestKeystoneAuthThenOctavia(t *testing.T) {
	e := newEnv(t, Options{ProjectID: "proj-k"})
	seeded := e.srv.Seed(LoadBalancerSpec{Name: "lb"})
	for _, endpoint := range []string{e.srv.KeystoneURL(), e.srv.URL + "/identity"} {
		t.Run(endpoint, func(t *testing.T) {
			ctx := context.Background()
			provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
				IdentityEndpoint: endpoint, Username: "admin", Password: "secret",
				DomainName: "Default", TenantName: "admin",
			})
			if err != nil {
				t.Fatalf("authenticate: %v", err)
			}
			if provider.TokenID == "" {
				t.Fatal("no token")
			}
			lbc, err := openstack.NewLoadBalancerV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
			if err != nil {
				t.Fatal(err)
			}
			lb, err := loadbalancers.Get(ctx, lbc, seeded.LoadBalancerID).Extract()
			if err != nil {
				t.Fatalf("GET through the catalog endpoint %s: %v", lbc.ResourceBaseURL(), err)
			}
			if lb.Name != "lb" {
				t.Fatalf("load balancer = %+v", lb)
			}
			// A create with only the token (no X-Project-Id) lands in the token's project.
			created, err := loadbalancers.Create(ctx, lbc, loadbalancers.CreateOpts{VipSubnetID: subnetID}).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if created.ProjectID != "proj-k" {
				t.Fatalf("project = %q, want proj-k", created.ProjectID)
			}
		})
	}
	if e.srv.RequestCount(OpCreateToken) != 2 || e.srv.RequestCount(OpKeystoneVersions) != 1 {
		t.Fatalf("keystone counters = %v", e.srv.Requests())
	}
}

func TestKeystoneUsers(t *testing.T) {
	e := newEnv(t, Options{Users: map[string]string{"alice": "right"}})
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"right password", "alice", "right", true},
		{"wrong password", "alice", "wrong", false},
		{"unknown user", "bob", "right", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
				IdentityEndpoint: e.srv.KeystoneURL(), Username: tt.user, Password: tt.password,
				DomainID: "default", TenantID: "p",
			})
			if tt.ok && err != nil {
				t.Fatalf("auth failed: %v", err)
			}
			if !tt.ok && !gophercloud.ResponseCodeIs(err, 401) {
				t.Fatalf("err = %v, want 401", err)
			}
		})
	}
}
