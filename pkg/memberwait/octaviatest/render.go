package octaviatest

import "time"

// The structs below spell Octavia's response bodies field by field (octavia/api/v2/types
// of Octavia 11). Pointers render as null where Octavia sends null. tenant_id is
// there because Octavia's wsme types add it as an alias of project_id.

// timeFormat is how wsme renders Octavia's naive UTC datetimes.
const timeFormat = "2006-01-02T15:04:05"

type idJSON struct {
	ID string `json:"id"`
}

type linkJSON struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type faultJSON struct {
	Faultcode   string  `json:"faultcode"`
	Faultstring string  `json:"faultstring"`
	Debuginfo   *string `json:"debuginfo"`
}

type additionalVipJSON struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

type lbJSON struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name"`
	Description        string              `json:"description"`
	ProvisioningStatus string              `json:"provisioning_status"`
	OperatingStatus    string              `json:"operating_status"`
	AdminStateUp       bool                `json:"admin_state_up"`
	ProjectID          string              `json:"project_id"`
	TenantID           string              `json:"tenant_id"`
	CreatedAt          string              `json:"created_at"`
	UpdatedAt          *string             `json:"updated_at"`
	VipAddress         string              `json:"vip_address"`
	VipPortID          string              `json:"vip_port_id"`
	VipSubnetID        string              `json:"vip_subnet_id"`
	VipNetworkID       string              `json:"vip_network_id"`
	AdditionalVips     []additionalVipJSON `json:"additional_vips"`
	Listeners          []idJSON            `json:"listeners"`
	Pools              []idJSON            `json:"pools"`
	Provider           string              `json:"provider"`
	FlavorID           *string             `json:"flavor_id"`
	VipQosPolicyID     *string             `json:"vip_qos_policy_id"`
	Tags               []string            `json:"tags"`
	AvailabilityZone   *string             `json:"availability_zone"`
}

type listenerJSON struct {
	ID                      string            `json:"id"`
	Name                    string            `json:"name"`
	Description             string            `json:"description"`
	ProvisioningStatus      string            `json:"provisioning_status"`
	OperatingStatus         string            `json:"operating_status"`
	AdminStateUp            bool              `json:"admin_state_up"`
	Protocol                string            `json:"protocol"`
	ProtocolPort            int               `json:"protocol_port"`
	ConnectionLimit         int               `json:"connection_limit"`
	DefaultTLSContainerRef  *string           `json:"default_tls_container_ref"`
	SniContainerRefs        []string          `json:"sni_container_refs"`
	ProjectID               string            `json:"project_id"`
	TenantID                string            `json:"tenant_id"`
	DefaultPoolID           *string           `json:"default_pool_id"`
	L7Policies              []idJSON          `json:"l7policies"`
	InsertHeaders           map[string]string `json:"insert_headers"`
	CreatedAt               string            `json:"created_at"`
	UpdatedAt               *string           `json:"updated_at"`
	Loadbalancers           []idJSON          `json:"loadbalancers"`
	TimeoutClientData       int               `json:"timeout_client_data"`
	TimeoutMemberConnect    int               `json:"timeout_member_connect"`
	TimeoutMemberData       int               `json:"timeout_member_data"`
	TimeoutTCPInspect       int               `json:"timeout_tcp_inspect"`
	Tags                    []string          `json:"tags"`
	ClientCATLSContainerRef *string           `json:"client_ca_tls_container_ref"`
	ClientAuthentication    string            `json:"client_authentication"`
	ClientCRLContainerRef   *string           `json:"client_crl_container_ref"`
	AllowedCIDRs            []string          `json:"allowed_cidrs"`
	TLSCiphers              *string           `json:"tls_ciphers"`
	TLSVersions             []string          `json:"tls_versions"`
	ALPNProtocols           []string          `json:"alpn_protocols"`
}

type persistenceJSON struct {
	Type                   string  `json:"type"`
	CookieName             *string `json:"cookie_name"`
	PersistenceTimeout     *int    `json:"persistence_timeout"`
	PersistenceGranularity *string `json:"persistence_granularity"`
}

type poolJSON struct {
	ID                 string           `json:"id"`
	Name               string           `json:"name"`
	Description        string           `json:"description"`
	ProvisioningStatus string           `json:"provisioning_status"`
	OperatingStatus    string           `json:"operating_status"`
	AdminStateUp       bool             `json:"admin_state_up"`
	Protocol           string           `json:"protocol"`
	LBAlgorithm        string           `json:"lb_algorithm"`
	SessionPersistence *persistenceJSON `json:"session_persistence"`
	ProjectID          string           `json:"project_id"`
	TenantID           string           `json:"tenant_id"`
	Loadbalancers      []idJSON         `json:"loadbalancers"`
	Listeners          []idJSON         `json:"listeners"`
	CreatedAt          string           `json:"created_at"`
	UpdatedAt          *string          `json:"updated_at"`
	HealthmonitorID    *string          `json:"healthmonitor_id"`
	Members            []idJSON         `json:"members"`
	Tags               []string         `json:"tags"`
	TLSContainerRef    *string          `json:"tls_container_ref"`
	CATLSContainerRef  *string          `json:"ca_tls_container_ref"`
	CRLContainerRef    *string          `json:"crl_container_ref"`
	TLSEnabled         bool             `json:"tls_enabled"`
	TLSCiphers         *string          `json:"tls_ciphers"`
	TLSVersions        []string         `json:"tls_versions"`
	ALPNProtocols      []string         `json:"alpn_protocols"`
}

type memberJSON struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	OperatingStatus    string   `json:"operating_status"`
	ProvisioningStatus string   `json:"provisioning_status"`
	AdminStateUp       bool     `json:"admin_state_up"`
	Address            string   `json:"address"`
	ProtocolPort       int      `json:"protocol_port"`
	Weight             int      `json:"weight"`
	Backup             bool     `json:"backup"`
	SubnetID           *string  `json:"subnet_id"`
	ProjectID          string   `json:"project_id"`
	TenantID           string   `json:"tenant_id"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          *string  `json:"updated_at"`
	MonitorAddress     *string  `json:"monitor_address"`
	MonitorPort        *int     `json:"monitor_port"`
	Tags               []string `json:"tags"`
}

type monitorJSON struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Type               string   `json:"type"`
	Delay              int      `json:"delay"`
	Timeout            int      `json:"timeout"`
	MaxRetries         int      `json:"max_retries"`
	MaxRetriesDown     int      `json:"max_retries_down"`
	HTTPMethod         *string  `json:"http_method"`
	URLPath            *string  `json:"url_path"`
	ExpectedCodes      *string  `json:"expected_codes"`
	AdminStateUp       bool     `json:"admin_state_up"`
	ProjectID          string   `json:"project_id"`
	TenantID           string   `json:"tenant_id"`
	Pools              []idJSON `json:"pools"`
	ProvisioningStatus string   `json:"provisioning_status"`
	OperatingStatus    string   `json:"operating_status"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          *string  `json:"updated_at"`
	Tags               []string `json:"tags"`
	HTTPVersion        *float64 `json:"http_version"`
	DomainName         *string  `json:"domain_name"`
}

// Status tree (GET /v2/lbaas/loadbalancers/{id}/status).

type statusRootJSON struct {
	Statuses struct {
		Loadbalancer lbStatusJSON `json:"loadbalancer"`
	} `json:"statuses"`
}

type lbStatusJSON struct {
	ID                 string               `json:"id"`
	Name               string               `json:"name"`
	OperatingStatus    string               `json:"operating_status"`
	ProvisioningStatus string               `json:"provisioning_status"`
	Listeners          []listenerStatusJSON `json:"listeners"`
}

type listenerStatusJSON struct {
	ID                 string           `json:"id"`
	Name               string           `json:"name"`
	OperatingStatus    string           `json:"operating_status"`
	ProvisioningStatus string           `json:"provisioning_status"`
	Pools              []poolStatusJSON `json:"pools"`
}

type poolStatusJSON struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	ProvisioningStatus string             `json:"provisioning_status"`
	OperatingStatus    string             `json:"operating_status"`
	HealthMonitor      *monitorStatusJSON `json:"health_monitor,omitempty"` // wsme leaves Unset attributes out
	Members            []memberStatusJSON `json:"members"`
}

type monitorStatusJSON struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Type               string `json:"type"`
	ProvisioningStatus string `json:"provisioning_status"`
	OperatingStatus    string `json:"operating_status"`
}

type memberStatusJSON struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	OperatingStatus    string `json:"operating_status"`
	ProvisioningStatus string `json:"provisioning_status"`
	Address            string `json:"address"`
	ProtocolPort       int    `json:"protocol_port"`
}

type statsJSON struct {
	ActiveConnections int `json:"active_connections"`
	BytesIn           int `json:"bytes_in"`
	BytesOut          int `json:"bytes_out"`
	RequestErrors     int `json:"request_errors"`
	TotalConnections  int `json:"total_connections"`
}

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func fmtTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := fmtTime(t)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ids(list []string) []idJSON {
	out := make([]idJSON, 0, len(list))
	for _, id := range list {
		out = append(out, idJSON{ID: id})
	}
	return out
}

func tagsOf(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func (st *store) renderLB(lb *loadBalancer) lbJSON {
	vips := make([]additionalVipJSON, 0, len(lb.additionalVips))
	for _, v := range lb.additionalVips {
		vips = append(vips, additionalVipJSON{SubnetID: v.subnetID, IPAddress: v.ipAddress})
	}
	return lbJSON{
		ID: lb.id, Name: lb.name, Description: lb.description,
		ProvisioningStatus: lb.prov, OperatingStatus: lb.op, AdminStateUp: lb.adminStateUp,
		ProjectID: lb.projectID, TenantID: lb.projectID,
		CreatedAt: fmtTime(lb.createdAt), UpdatedAt: fmtTimePtr(lb.updatedAt),
		VipAddress: lb.vipAddress, VipPortID: lb.vipPortID, VipSubnetID: lb.vipSubnetID,
		VipNetworkID: lb.vipNetworkID, AdditionalVips: vips,
		Listeners: ids(lb.listeners), Pools: ids(lb.pools), Provider: lb.provider,
		FlavorID: lb.flavorID, VipQosPolicyID: lb.vipQosPolicyID,
		Tags: tagsOf(lb.tags), AvailabilityZone: lb.availabilityZone,
	}
}

func (st *store) renderListener(l *listener) listenerJSON {
	headers := l.insertHeaders
	if headers == nil {
		headers = map[string]string{}
	}
	sni := l.sniRefs
	if sni == nil {
		sni = []string{}
	}
	return listenerJSON{
		ID: l.id, Name: l.name, Description: l.description,
		ProvisioningStatus: l.prov, OperatingStatus: l.op, AdminStateUp: l.adminStateUp,
		Protocol: l.protocol, ProtocolPort: l.port, ConnectionLimit: l.connLimit,
		DefaultTLSContainerRef: l.defaultTLSRef, SniContainerRefs: sni,
		ProjectID: l.projectID, TenantID: l.projectID, DefaultPoolID: strPtr(l.defaultPoolID),
		L7Policies: []idJSON{}, InsertHeaders: headers,
		CreatedAt: fmtTime(l.createdAt), UpdatedAt: fmtTimePtr(l.updatedAt),
		Loadbalancers:     []idJSON{{ID: l.lbID}},
		TimeoutClientData: l.timeoutClientData, TimeoutMemberConnect: l.timeoutMemberConnect,
		TimeoutMemberData: l.timeoutMemberData, TimeoutTCPInspect: l.timeoutTCPInspect,
		Tags: tagsOf(l.tags), ClientAuthentication: l.clientAuth, AllowedCIDRs: l.allowedCIDRs,
	}
}

func (st *store) renderPool(p *pool) poolJSON {
	var sp *persistenceJSON
	if p.persistence != nil {
		sp = &persistenceJSON{Type: p.persistence.typ, CookieName: p.persistence.cookieName,
			PersistenceTimeout: p.persistence.timeout, PersistenceGranularity: p.persistence.granularity}
	}
	return poolJSON{
		ID: p.id, Name: p.name, Description: p.description,
		ProvisioningStatus: p.prov, OperatingStatus: p.op, AdminStateUp: p.adminStateUp,
		Protocol: p.protocol, LBAlgorithm: p.lbAlgorithm, SessionPersistence: sp,
		ProjectID: p.projectID, TenantID: p.projectID,
		Loadbalancers: []idJSON{{ID: p.lbID}}, Listeners: ids(st.poolListeners(p)),
		CreatedAt: fmtTime(p.createdAt), UpdatedAt: fmtTimePtr(p.updatedAt),
		HealthmonitorID: strPtr(p.monitorID), Members: ids(p.members), Tags: tagsOf(p.tags),
		TLSEnabled: p.tlsEnabled,
	}
}

func (st *store) renderMember(m *member) memberJSON {
	return memberJSON{
		ID: m.id, Name: m.name, OperatingStatus: m.op, ProvisioningStatus: m.prov,
		AdminStateUp: m.adminStateUp, Address: m.address, ProtocolPort: m.port,
		Weight: m.weight, Backup: m.backup, SubnetID: m.subnetID,
		ProjectID: m.projectID, TenantID: m.projectID,
		CreatedAt: fmtTime(m.createdAt), UpdatedAt: fmtTimePtr(m.updatedAt),
		MonitorAddress: m.monitorAddress, MonitorPort: m.monitorPort, Tags: tagsOf(m.tags),
	}
}

func (st *store) renderMonitor(m *monitor) monitorJSON {
	return monitorJSON{
		ID: m.id, Name: m.name, Type: m.typ, Delay: m.delay, Timeout: m.timeout,
		MaxRetries: m.maxRetries, MaxRetriesDown: m.maxRetriesDown,
		HTTPMethod: m.httpMethod, URLPath: m.urlPath, ExpectedCodes: m.expectedCodes,
		AdminStateUp: m.adminStateUp, ProjectID: m.projectID, TenantID: m.projectID,
		Pools:              []idJSON{{ID: m.poolID}},
		ProvisioningStatus: m.prov, OperatingStatus: m.op,
		CreatedAt: fmtTime(m.createdAt), UpdatedAt: fmtTimePtr(m.updatedAt),
		Tags: tagsOf(m.tags), HTTPVersion: m.httpVersion, DomainName: m.domainName,
	}
}

func (st *store) renderStatusTree(lb *loadBalancer) statusRootJSON {
	var root statusRootJSON
	out := lbStatusJSON{ID: lb.id, Name: lb.name, OperatingStatus: lb.op,
		ProvisioningStatus: lb.prov, Listeners: []listenerStatusJSON{}}
	for _, lid := range lb.listeners {
		l := st.listeners[lid]
		if l == nil {
			continue
		}
		ls := listenerStatusJSON{ID: l.id, Name: l.name, OperatingStatus: l.op,
			ProvisioningStatus: l.prov, Pools: []poolStatusJSON{}}
		if p := st.pools[l.defaultPoolID]; p != nil {
			ps := poolStatusJSON{ID: p.id, Name: p.name, ProvisioningStatus: p.prov,
				OperatingStatus: p.op, Members: make([]memberStatusJSON, 0, len(p.members))}
			if hm := st.monitors[p.monitorID]; hm != nil {
				ps.HealthMonitor = &monitorStatusJSON{ID: hm.id, Name: hm.name, Type: hm.typ,
					ProvisioningStatus: hm.prov, OperatingStatus: hm.op}
			}
			for _, mid := range p.members {
				if m := st.members[mid]; m != nil {
					ps.Members = append(ps.Members, memberStatusJSON{ID: m.id, Name: m.name,
						OperatingStatus: m.op, ProvisioningStatus: m.prov,
						Address: m.address, ProtocolPort: m.port})
				}
			}
			ls.Pools = append(ls.Pools, ps)
		}
		out.Listeners = append(out.Listeners, ls)
	}
	root.Statuses.Loadbalancer = out
	return root
}
