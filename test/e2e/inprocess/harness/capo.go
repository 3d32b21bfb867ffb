package harness

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/cloud/services/loadbalancer"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/utils/names"
	capiv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1" //nolint:staticcheck // CAPO v0.13's OpenStackCluster holds its APIEndpoint
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/membergate/membergate/test/capo/caposcope"
)

// APIServerPort is the port of the emulated API server load balancer's
// listener and pool, and of every member: CAPO's controlPlaneEndpoint port.
const APIServerPort = 6443

// memberFinalizer holds an infrastructure Machine until its member is gone,
// as CAPO's OpenStackMachine finalizer does.
const memberFinalizer = "e2e.membergate.io/capo-load-balancer-member"

// machineSubnetCIDR holds every address addressOf makes up; it is the
// subnet the OpenStackCluster reports, as CAPO's cluster network would.
const machineSubnetCIDR = "10.64.0.0/10"

// LoadBalancerName is CAPO's name for a cluster's API server load balancer:
// k8s-clusterapi-cluster-<namespace>-<cluster>-kubeapi. The emulator's load
// balancer is seeded under it, and CAPO's own code (which derives it from
// clusterResourceName) must find it there.
func LoadBalancerName(namespace, cluster string) string {
	return fmt.Sprintf("k8s-clusterapi-cluster-%s-kubeapi", clusterResourceName(namespace, cluster))
}

// clusterResourceName is what CAPO's OpenStackMachine controller passes its
// load-balancer service for a cluster, <namespace>-<cluster>, from CAPO's
// own function so that the names cannot drift apart.
func clusterResourceName(namespace, cluster string) string {
	return names.ClusterResourceName(&clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: cluster}})
}

// poolName is CAPO's name for the API server's listener and pool:
// <lbName>-<port>.
func poolName(lbName string) string {
	return fmt.Sprintf("%s-%d", lbName, APIServerPort)
}

// MemberName is CAPO's member name: <lbName>-<port>-<infraMachineName>.
func MemberName(lbName string, port int, infraMachine string) string {
	return fmt.Sprintf("%s-%d-%s", lbName, port, infraMachine)
}

// capoStandIn takes the place of CAPO's OpenStackMachine controller for the
// control-plane machines' load-balancer members, the part of it whose timing
// the gate guards against; the machines themselves are CAPI's in-memory ones
// (there is no Nova here: test/e2e/inprocess/README.md says why). It calls
// CAPO v0.13's own loadbalancer.Service, unpatched, against the cluster's
// emulator: once the machine is provisioned, ReconcileLoadBalancerMember
// (list pool, list member, wait for the load balancer, create, wait for the
// load balancer — never for the member); when the infrastructure machine is
// deleted, which CAPI does only after the pre-drain hooks, the drain and the
// pre-terminate hooks, DeleteLoadBalancerMember. CAPO's waits sleep with its
// own backoff inside the reconcile, as they do in CAPO.
type capoStandIn struct {
	client client.Client
	clouds *clouds
}

func (r *capoStandIn) setupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("capo-standin").
		For(&devv1.DevMachine{}).
		// CAPO's default --openstackmachine-concurrency.
		WithOptions(controller.Options{MaxConcurrentReconciles: 10}).
		Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *capoStandIn) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var dm devv1.DevMachine
	if err := r.client.Get(ctx, req.NamespacedName, &dm); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if _, cp := dm.Labels[clusterv1.MachineControlPlaneLabel]; !cp {
		return ctrl.Result{}, nil
	}
	key := types.NamespacedName{Namespace: dm.Namespace, Name: dm.Labels[clusterv1.ClusterNameLabel]}
	cloud := r.clouds.get(key)
	if cloud == nil {
		return ctrl.Result{}, nil
	}
	// As CAPO: nothing while the Cluster is paused. clusterctl move pauses
	// it, then deletes the moved objects from the source; acting on that
	// deletion would remove the members the target still serves from.
	// A Cluster already gone pauses nothing: its machines' members must
	// still go.
	var cluster clusterv1.Cluster
	switch err := r.client.Get(ctx, key, &cluster); {
	case err == nil && annotations.IsPaused(&cluster, &dm):
		return ctrl.Result{}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return ctrl.Result{}, err
	}
	if !dm.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(&dm, memberFinalizer) {
			return ctrl.Result{}, nil
		}
		svc, err := cloud.capoService(ctx, log.FromContext(ctx))
		if err != nil {
			return ctrl.Result{}, err
		}
		if err := svc.DeleteLoadBalancerMember(cloud.openStackCluster(key), openStackMachine(&dm), clusterResourceName(key.Namespace, key.Name)); err != nil {
			return ctrl.Result{}, err
		}
		orig := dm.DeepCopy()
		controllerutil.RemoveFinalizer(&dm, memberFinalizer)
		return ctrl.Result{}, client.IgnoreNotFound(r.client.Patch(ctx, &dm, client.MergeFrom(orig)))
	}
	if !controllerutil.ContainsFinalizer(&dm, memberFinalizer) {
		orig := dm.DeepCopy()
		controllerutil.AddFinalizer(&dm, memberFinalizer)
		return ctrl.Result{}, r.client.Patch(ctx, &dm, client.MergeFrom(orig))
	}
	if !ptr.Deref(dm.Status.Initialization.Provisioned, false) {
		return ctrl.Result{}, nil
	}
	svc, err := cloud.capoService(ctx, log.FromContext(ctx))
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, svc.ReconcileLoadBalancerMember(cloud.openStackCluster(key), openStackMachine(&dm), clusterResourceName(key.Namespace, key.Name), addressOf(&dm))
}

// capoService is CAPO's load-balancer service, built as its controllers
// build it (loadbalancer.NewService on a scope), with clients that reach
// this cloud's emulator without Keystone. Its requests are bound to ctx:
// CAPO's clients send theirs with context.TODO(), and a reconcile blocked in
// CAPO's backoff must still let the manager stop — once ctx ends, CAPO's
// next poll fails and its wait returns the error.
func (c *Cloud) capoService(ctx context.Context, l logr.Logger) (*loadbalancer.Service, error) {
	hc := c.Server.ServiceClient().HTTPClient
	hc.Transport = contextTransport{ctx: ctx, next: hc.Transport}
	return loadbalancer.NewService((&caposcope.Scope{OctaviaURL: c.Server.URL, HTTPClient: &hc}).WithLogger(l))
}

// contextTransport sends every request with ctx.
type contextTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t contextTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r.WithContext(t.ctx))
}

// openStackCluster is the OpenStackCluster CAPO's cluster controller would
// have written for the emulator's load balancer, reduced to what CAPO's
// member code reads: the network's subnet and the load balancer's ID in the
// status, the API server endpoint (the VIP, port 6443) and the enabled load
// balancer in the spec.
func (c *Cloud) openStackCluster(key types.NamespacedName) *infrav1.OpenStackCluster {
	lb, _ := c.Server.LoadBalancer(c.LoadBalancerID)
	return &infrav1.OpenStackCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Spec: infrav1.OpenStackClusterSpec{
			APIServerLoadBalancer: &infrav1.APIServerLoadBalancer{Enabled: ptr.To(true)},
			ControlPlaneEndpoint:  &capiv1beta1.APIEndpoint{Host: lb.VipAddress, Port: APIServerPort},
		},
		Status: infrav1.OpenStackClusterStatus{
			Ready: true,
			Network: &infrav1.NetworkStatusWithSubnets{
				NetworkStatus: infrav1.NetworkStatus{ID: lb.VipNetworkID, Name: "k8s-clusterapi-cluster-" + clusterResourceName(key.Namespace, key.Name)},
				Subnets:       []infrav1.Subnet{{ID: lb.VipSubnetID, Name: "k8s-clusterapi-cluster-" + clusterResourceName(key.Namespace, key.Name), CIDR: machineSubnetCIDR}},
			},
			APIServerLoadBalancer: &infrav1.LoadBalancer{ID: c.LoadBalancerID, Name: c.LoadBalancerName, IP: lb.VipAddress, InternalIP: lb.VipAddress},
		},
	}
}

// openStackMachine is the OpenStackMachine CAPO would hold for an
// infrastructure machine: CAPO names the member after it.
func openStackMachine(dm *devv1.DevMachine) *infrav1.OpenStackMachine {
	return &infrav1.OpenStackMachine{ObjectMeta: metav1.ObjectMeta{Namespace: dm.Namespace, Name: dm.Name}}
}

// addressOf is a stable made-up address for a machine: in-memory machines
// have none, and CAPO re-creates a member whose address changed.
func addressOf(dm *devv1.DevMachine) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(dm.UID))
	v := h.Sum32()
	return fmt.Sprintf("10.%d.%d.%d", 64+(v>>16)&63, (v>>8)&255, 1+(v&255)%254)
}
