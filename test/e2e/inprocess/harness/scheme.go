package harness

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	cloudv1 "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/cloud/api/v1alpha1"

	managerscheme "github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
)

// devInfraCRDs are CAPI's Dev infrastructure CRDs (the in-memory Machines
// the rollouts run on), from the cluster-api/test module this module
// requires.
var devInfraCRDs = testenv.Source{Module: "sigs.k8s.io/cluster-api/test", Dir: "infrastructure/docker/config/crd/bases", Contract: true}

// newScheme is membergate's scheme plus what the CAPI controllers and the
// Dev infrastructure read: kubeadm bootstrap, Dev machines and clusters, CRDs.
func newScheme() *runtime.Scheme {
	s := managerscheme.New()
	for _, add := range []func(*runtime.Scheme) error{bootstrapv1.AddToScheme, devv1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// newInMemoryScheme is the scheme of the in-memory workload clusters: the
// objects a kubeadm control plane has (Nodes, Pods, kubeadm ConfigMaps, …).
func newInMemoryScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{cloudv1.AddToScheme, corev1.AddToScheme, appsv1.AddToScheme,
		rbacv1.AddToScheme, storagev1.AddToScheme, apiextensionsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}
