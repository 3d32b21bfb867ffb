package resolve

import (
	"testing"

	"github.com/membergate/membergate/pkg/memberwait"
)

func TestParseMember(t *testing.T) {
	for in, want := range map[string]memberwait.Selector{
		"3F2A9C1E-0000-4000-8000-0123456789AB": {ID: "3f2a9c1e-0000-4000-8000-0123456789ab"},
		"10.0.0.5":                             {Address: "10.0.0.5"},
		"10.0.0.5:6443":                        {Address: "10.0.0.5", ProtocolPort: 6443},
		"2001:db8:0::5":                        {Address: "2001:db8::5"},
		"[2001:db8::5]":                        {Address: "2001:db8::5"},
		"[2001:db8::5]:6443":                   {Address: "2001:db8::5", ProtocolPort: 6443},
		"k8s-clusterapi-cluster-default-demo-kubeapi-6443-demo-control-plane-x": {Name: "k8s-clusterapi-cluster-default-demo-kubeapi-6443-demo-control-plane-x"},
		"node-1:web": {Name: "node-1:web"},
	} {
		got, err := ParseMember(in)
		if err != nil || got != want {
			t.Errorf("ParseMember(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.5:0", "10.0.0.5:http", "[2001:db8::5]:70000", "[not-v6]:80", "[2001:db8::5"} {
		if got, err := ParseMember(bad); err == nil {
			t.Errorf("ParseMember(%q) = %+v, want an error", bad, got)
		}
	}
}
