// Package v1alpha1 is the membergate.io/v1alpha1 API: MemberGate, one per
// gated Cluster, carrying its gating policy and a status table of its
// control-plane Machines' load-balancer members.
//
// +kubebuilder:object:generate=true
// +groupName=membergate.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API's group and version.
	GroupVersion = schema.GroupVersion{Group: "membergate.io", Version: "v1alpha1"}

	// SchemeBuilder registers the API's types.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
