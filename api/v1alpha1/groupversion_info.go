// Package v1alpha1 is the membergate.io/v1alpha1 API: MemberGate, one per
// gated Cluster, carrying its gating policy and a status table of its
// control-plane Machines' load-balancer members.
//
// +kubebuilder:object:generate=true
// +groupName=membergate.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API's group and version.
	GroupVersion = schema.GroupVersion{Group: "membergate.io", Version: "v1alpha1"}

	// SchemeBuilder registers the API's types. An API package needs only
	// apimachinery: controller-runtime's scheme.Builder is deprecated.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &MemberGate{}, &MemberGateList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
