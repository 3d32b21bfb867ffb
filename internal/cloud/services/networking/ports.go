package networking

import (
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Port is a Neutron port with the port-security extension's field.
type Port struct {
	ports.Port
	PortSecurity
}

// PortSecurity is the port-security extension's field of a port: a port
// without port security is not filtered at all. The field is a pointer: a
// Neutron without the extension says nothing, which is not "disabled".
type PortSecurity struct {
	PortSecurityEnabled *bool `json:"port_security_enabled"`
}

// Holds reports whether one of the port's fixed IPs is address, however
// either is spelled.
func (p *Port) Holds(address string) bool {
	for _, ip := range p.FixedIPs {
		if memberwait.SameAddress(ip.IPAddress, address) {
			return true
		}
	}
	return false
}

// Filtered reports whether the port's security groups apply: a port with
// port security disabled admits everything.
func (p *Port) Filtered() bool {
	return p.PortSecurityEnabled == nil || *p.PortSecurityEnabled
}

// pick returns the port holding address, preferring one in subnet.
func pick(found []Port, address, subnet string) *Port {
	var first *Port
	for i := range found {
		for _, ip := range found[i].FixedIPs {
			if !memberwait.SameAddress(ip.IPAddress, address) {
				continue
			}
			if subnet == "" || ip.SubnetID == subnet {
				return &found[i]
			}
			if first == nil {
				first = &found[i]
			}
		}
	}
	return first
}
