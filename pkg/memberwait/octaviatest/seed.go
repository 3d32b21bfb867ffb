package octaviatest

// LoadBalancerSpec describes a load balancer for Seed.
type LoadBalancerSpec struct {
	Name       string
	VIPAddress string // default "198.51.100.1", the noop network driver's
	Provider   string // default "amphora"
	Listeners  []ListenerSpec
}

// ListenerSpec describes a listener for Seed.
type ListenerSpec struct {
	Name     string
	Protocol string // default "TCP"
	Port     int    // default 6443, the Kubernetes API port CAPO balances
	Pool     *PoolSpec
}

// PoolSpec describes a listener's default pool for Seed.
type PoolSpec struct {
	Name        string
	Protocol    string // default: the listener's protocol
	LBAlgorithm string // default "ROUND_ROBIN"
	Monitor     *MonitorSpec
	Members     []MemberSpec
}

// MonitorSpec describes a health monitor for Seed; zero fields take CAPO's
// defaults (TCP, delay 10, timeout 5, max_retries 5, max_retries_down 3).
type MonitorSpec struct {
	Type                                       string
	Delay, Timeout, MaxRetries, MaxRetriesDown int
}

// MemberSpec describes a pool member for Seed.
type MemberSpec struct {
	Name         string
	Address      string
	ProtocolPort int    // default: the listener's port
	SubnetID     string // default: none (null)
	// OperatingStatus defaults to NO_MONITOR without a pool monitor, else OFFLINE.
	OperatingStatus string
}

// Seeded holds the IDs Seed created, in spec order.
type Seeded struct {
	LoadBalancerID string
	ListenerIDs    []string
	PoolIDs        []string   // one per listener with a pool
	MonitorIDs     []string   // one per pool with a monitor
	MemberIDs      [][]string // per pool, in PoolIDs order
}

// Seed creates a load balancer tree directly in the emulator's database, all
// ACTIVE at once, without requests and without counting any. Operating
// statuses are what noop Octavia reports after creation: OFFLINE for the load
// balancer, listeners and pools, ONLINE for monitors.
func (s *Server) Seed(spec LoadBalancerSpec) Seeded {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	s.st.applyDue(now)
	st := s.st
	obj := func(name, op string) base {
		return base{id: st.newID(), name: name, projectID: s.projectID, prov: StatusActive, op: op,
			adminStateUp: true, createdAt: now, updatedAt: now}
	}
	lb := &loadBalancer{base: obj(spec.Name, StatusOffline), vipAddress: orDefault(spec.VIPAddress, "198.51.100.1"),
		vipPortID: st.newID(), vipSubnetID: st.newID(), vipNetworkID: st.newID(),
		provider: orDefault(spec.Provider, "amphora")}
	st.lbs[lb.id] = lb
	out := Seeded{LoadBalancerID: lb.id}
	for _, ls := range spec.Listeners {
		l := &listener{base: obj(ls.Name, StatusOffline), lbID: lb.id, protocol: orDefault(ls.Protocol, "TCP"),
			port: ls.Port, connLimit: -1, clientAuth: "NONE",
			timeoutClientData: defaultTimeoutClientData, timeoutMemberConnect: defaultTimeoutMemberConnect,
			timeoutMemberData: defaultTimeoutMemberData, timeoutTCPInspect: defaultTimeoutTCPInspect}
		if l.port == 0 {
			l.port = 6443
		}
		st.listeners[l.id] = l
		lb.listeners = append(lb.listeners, l.id)
		out.ListenerIDs = append(out.ListenerIDs, l.id)
		if ls.Pool == nil {
			continue
		}
		ps := ls.Pool
		p := &pool{base: obj(ps.Name, StatusOffline), lbID: lb.id, protocol: orDefault(ps.Protocol, l.protocol),
			lbAlgorithm: orDefault(ps.LBAlgorithm, "ROUND_ROBIN")}
		st.pools[p.id] = p
		lb.pools = append(lb.pools, p.id)
		l.defaultPoolID = p.id
		out.PoolIDs = append(out.PoolIDs, p.id)
		if ms := ps.Monitor; ms != nil {
			hm := &monitor{base: obj("", StatusOnline), poolID: p.id, typ: orDefault(ms.Type, "TCP"),
				delay: orDefaultInt(ms.Delay, 10), timeout: orDefaultInt(ms.Timeout, 5),
				maxRetries: orDefaultInt(ms.MaxRetries, 5), maxRetriesDown: orDefaultInt(ms.MaxRetriesDown, 3)}
			if hm.typ == "HTTP" || hm.typ == "HTTPS" {
				hm.httpMethod, hm.urlPath, hm.expectedCodes = strPtr("GET"), strPtr("/"), strPtr("200")
			}
			st.monitors[hm.id] = hm
			p.monitorID = hm.id
			out.MonitorIDs = append(out.MonitorIDs, hm.id)
		}
		var memberIDs []string
		for _, mspec := range ps.Members {
			op := StatusNoMonitor
			if p.monitorID != "" {
				op = StatusOffline
			}
			m := &member{base: obj(mspec.Name, orDefault(mspec.OperatingStatus, op)), poolID: p.id,
				address: mspec.Address, port: orDefaultInt(mspec.ProtocolPort, l.port), weight: 1,
				subnetID: strPtr(mspec.SubnetID)}
			st.members[m.id] = m
			p.members = append(p.members, m.id)
			memberIDs = append(memberIDs, m.id)
		}
		out.MemberIDs = append(out.MemberIDs, memberIDs)
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orDefaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
