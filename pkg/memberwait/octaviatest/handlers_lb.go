package octaviatest

import (
	"fmt"
	"net/http"
	"strings"
)

func (s *Server) handleListLBs(rq *request) response {
	entries := make([]listEntry, 0, len(s.st.lbs))
	for _, lb := range s.st.lbs {
		entries = append(entries, listEntry{id: lb.id, created: lb.createdAt, v: s.st.renderLB(lb)})
	}
	return listResponse(rq, "loadbalancers", entries, lbFilters)
}

func (s *Server) handleGetLB(rq *request) response {
	lb := s.st.lbs[rq.params["id"]]
	if lb == nil {
		return faultResponse(errNotFound("Load Balancer", rq.params["id"]))
	}
	return objectResponse(rq, "loadbalancer", s.st.renderLB(lb))
}

func (s *Server) handleLBStatus(rq *request) response {
	lb := s.st.lbs[rq.params["id"]]
	if lb == nil {
		return faultResponse(errNotFound("Load Balancer", rq.params["id"]))
	}
	return jsonResponse(http.StatusOK, s.st.renderStatusTree(lb))
}

func (s *Server) handleCreateLB(rq *request) response {
	f, apiErr := parseRoot(rq.body, "loadbalancer", "load_balancer")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow("name", "description", "admin_state_up", "vip_address", "vip_port_id", "vip_subnet_id",
		"vip_network_id", "vip_qos_policy_id", "additional_vips", "project_id", "listeners", "pools",
		"provider", "tags", "flavor_id", "availability_zone")
	name, _ := f.str("name", 255)
	desc, _ := f.str("description", 255)
	admin, adminP := f.boolean("admin_state_up")
	vipAddr, _ := f.ip("vip_address")
	vipPort, _ := f.uuid("vip_port_id")
	vipSubnet, _ := f.uuid("vip_subnet_id")
	vipNet, _ := f.uuid("vip_network_id")
	qos, _ := f.uuid("vip_qos_policy_id")
	project, _ := f.str("project_id", 36)
	if project == "" {
		project, _ = f.str("tenant_id", 36)
	}
	provider, _ := f.str("provider", 64)
	tags, _ := f.strList("tags", 255)
	flavor, _ := f.uuid("flavor_id")
	az, _ := f.str("availability_zone", 255)
	addVips, _ := f.list("additional_vips")
	var extra []additionalVip
	for _, av := range addVips {
		av.allow("subnet_id", "ip_address")
		av.mandatory("subnet_id")
		sub, _ := av.uuid("subnet_id")
		addr, _ := av.ip("ip_address")
		if av.err != nil {
			return faultResponse(av.err)
		}
		extra = append(extra, additionalVip{subnetID: sub, ipAddress: addr})
	}
	listenersIn, _ := f.list("listeners")
	poolsIn, _ := f.list("pools")
	children := len(listenersIn) > 0 || len(poolsIn) > 0
	if f.err != nil {
		return faultResponse(f.err)
	}

	// The order of these checks is LoadBalancersController.post's.
	if project == "" {
		project = s.projectOf(rq)
	}
	if project == "" {
		return faultResponse(errValidation("Missing project ID in request where one is required. " +
			"An administrator should check the keystone settings in the Octavia configuration."))
	}
	if vipPort == "" && vipNet == "" && vipSubnet == "" {
		return faultResponse(errValidation("VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."))
	}
	if flavor != "" {
		return faultResponse(errValidation("Invalid flavor_id."))
	}
	if az != "" {
		return faultResponse(errValidation("Invalid availability zone name."))
	}
	if provider == "" {
		provider = "amphora"
	}
	if !contains(providers, provider) {
		return faultResponse(errBadRequest(fmt.Sprintf("Provider '%s' is not enabled.", provider)))
	}
	if children {
		return faultResponse(errBadRequest("octaviatest: creating listeners or pools inside a load balancer POST is not emulated"))
	}

	// The noop network driver fills in whatever the request left out.
	if vipSubnet == "" {
		vipSubnet = s.st.newID()
	}
	if vipNet == "" {
		vipNet = s.st.newID()
	}
	if vipPort == "" {
		vipPort = s.st.newID()
	}
	if vipAddr == "" {
		vipAddr = "198.51.100.1"
	}
	lb := &loadBalancer{
		base: base{id: s.st.newID(), name: name, description: desc, projectID: project,
			prov: StatusPendingCreate, op: StatusOffline, adminStateUp: adminP != set || admin,
			tags: tags, createdAt: rq.now},
		vipAddress: vipAddr, vipPortID: vipPort, vipSubnetID: vipSubnet, vipNetworkID: vipNet,
		vipQosPolicyID: strPtr(qos), provider: provider, additionalVips: extra,
	}
	s.st.lbs[lb.id] = lb
	s.st.begin(rq.now, s.delays.LoadBalancer, kindLB, lb.id, StatusPendingCreate)
	return jsonResponse(http.StatusCreated, map[string]lbJSON{"loadbalancer": s.st.renderLB(lb)})
}

func (s *Server) handleUpdateLB(rq *request) response {
	id := rq.params["id"]
	f, apiErr := parseRoot(rq.body, "loadbalancer", "load_balancer")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow("name", "description", "vip_qos_policy_id", "admin_state_up", "tags")
	name, nameP := f.str("name", 255)
	desc, descP := f.str("description", 255)
	qos, qosP := f.uuid("vip_qos_policy_id")
	admin, adminP := f.boolean("admin_state_up")
	tags, tagsP := f.strList("tags", 255)
	if f.err != nil {
		return faultResponse(f.err)
	}
	lb := s.st.lbs[id]
	if lb == nil {
		return faultResponse(errNotFound("Load Balancer", id))
	}
	if lb.prov != StatusActive {
		return faultResponse(errLBPendingState(lb.prov, id))
	}
	if nameP != absent {
		lb.name = name
	}
	if descP != absent {
		lb.description = desc
	}
	if qosP != absent {
		lb.vipQosPolicyID = strPtr(qos)
	}
	if adminP != absent {
		lb.adminStateUp = admin
	}
	if tagsP != absent {
		lb.tags = tags
	}
	s.st.begin(rq.now, s.delays.LoadBalancer, kindLB, id, StatusPendingUpdate)
	return jsonResponse(http.StatusOK, map[string]lbJSON{"loadbalancer": s.st.renderLB(lb)})
}

func (s *Server) handleDeleteLB(rq *request) response {
	id := rq.params["id"]
	lb := s.st.lbs[id]
	if lb == nil {
		return faultResponse(errNotFound("Load Balancer", id))
	}
	if (len(lb.listeners) > 0 || len(lb.pools) > 0) && !boolFromString(rq.query.Get("cascade")) {
		return faultResponse(errValidation(fmt.Sprintf("Cannot delete Load Balancer %s - it has children", id)))
	}
	// DELETABLE_STATUSES: a load balancer in ERROR can be deleted.
	if lb.prov != StatusActive && lb.prov != StatusError {
		return faultResponse(errLBPendingState(lb.prov, id))
	}
	s.st.begin(rq.now, s.delays.Delete, kindLB, id, StatusPendingDelete)
	return emptyResponse(http.StatusNoContent)
}

// boolFromString is oslo's strutils.bool_from_string.
func boolFromString(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "on", "y", "yes":
		return true
	}
	return false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
