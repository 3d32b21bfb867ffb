package resolve

import "fmt"

// NotFoundError reports a load balancer or pool selector that matches no
// object.
type NotFoundError struct {
	Kind     string // "load balancer" or "pool"
	Selector string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.Selector) }

// AmbiguousError reports a load balancer or pool name that more than one
// object has: the caller must select by ID.
type AmbiguousError struct {
	Kind string // "load balancer" or "pool"
	Name string
	IDs  []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s name %q is ambiguous: %d match (%v); select by ID", e.Kind, e.Name, len(e.IDs), e.IDs)
}

// NoMembersError reports that "every member" found none: there is nothing
// to wait for, which for any goal but "gone" is a mistake in the query.
type NoMembersError struct {
	LoadBalancerID, LoadBalancerName string
	// Pool is the pool selector, if the query had one.
	Pool string
}

func (e *NoMembersError) Error() string {
	where := "load balancer " + e.LoadBalancerName + " (" + e.LoadBalancerID + ")"
	if e.LoadBalancerName == "" {
		where = "load balancer " + e.LoadBalancerID
	}
	if e.Pool != "" {
		where = "pool " + e.Pool + " of " + where
	}
	return where + " has no members"
}
