package memberwait

import "time"

// Progress is what one evaluation hands to the next: when the current
// statuses were first seen (the settle window, the backoff and the "since"
// in messages) and how long the member has been missing. Controllers
// persist it between reconciles; its zero value starts afresh.
type Progress struct {
	// MemberID is the member's ID once a selector has resolved to it.
	MemberID string `json:"memberID,omitempty"`
	// PoolID is the pool the member was found in.
	PoolID string `json:"poolID,omitempty"`
	// ProvisioningStatus and OperatingStatus as last observed.
	ProvisioningStatus string `json:"provisioningStatus,omitempty"`
	OperatingStatus    string `json:"operatingStatus,omitempty"`
	// Since is when the current pair of statuses was first observed.
	Since time.Time `json:"since,omitempty"`
	// MissingSince is when the member (or its pool or load balancer) was
	// first observed missing, zero while it is present.
	MissingSince time.Time `json:"missingSince,omitempty"`
	// Started is the first evaluation; Polls counts evaluations.
	Started time.Time `json:"started,omitempty"`
	Polls   int       `json:"polls,omitempty"`
	// Failures counts the failed observations in a row.
	Failures int `json:"failures,omitempty"`
	// LastSeen is the last successful observation, and
	// LoadBalancerPending whether the load balancer was PENDING_* in it:
	// a settle window only runs over statuses that were fresh throughout.
	LastSeen            time.Time `json:"lastSeen,omitempty"`
	LoadBalancerPending bool      `json:"loadBalancerPending,omitempty"`
}
