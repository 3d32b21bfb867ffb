package harness

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// APIServerPort is the port of the emulated API server load balancer's
// listener and pool, and of every member: CAPO's controlPlaneEndpoint port.
const APIServerPort = 6443

// memberFinalizer holds an infrastructure Machine until its member is gone,
// as CAPO's OpenStackMachine finalizer does.
const memberFinalizer = "e2e.membergate.io/capo-load-balancer-member"

// capoBackoff is CAPO's (v0.11–v0.14) shared load-balancer backoff,
// pkg/cloud/services/loadbalancer/loadbalancer.go: ≈274 s in all.
var capoBackoff = wait.Backoff{Steps: 20, Duration: time.Second, Factor: 1.25, Jitter: 0.1}

// LoadBalancerName is CAPO's name for a cluster's API server load balancer:
// k8s-clusterapi-cluster-<namespace>-<cluster>-kubeapi.
func LoadBalancerName(namespace, cluster string) string {
	return fmt.Sprintf("k8s-clusterapi-cluster-%s-%s-kubeapi", namespace, cluster)
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

// capoStandIn does to the emulator what CAPO v0.12/v0.13's OpenStackMachine
// controller does to Octavia for a control-plane machine: once the machine
// is provisioned it adds the member (list pool, list member, wait for the
// load balancer, create, wait for the load balancer — never for the member);
// when the infrastructure machine is deleted, which CAPI does only after the
// pre-drain hooks, the drain and the pre-terminate hooks, it removes the
// member the same way. Waits block the reconcile, as CAPO's do.
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
	cloud := r.clouds.get(types.NamespacedName{Namespace: dm.Namespace, Name: dm.Labels[clusterv1.ClusterNameLabel]})
	if cloud == nil {
		return ctrl.Result{}, nil
	}
	sc := cloud.Server.ServiceClient()
	if !dm.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(&dm, memberFinalizer) {
			return ctrl.Result{}, nil
		}
		if err := deleteLoadBalancerMember(ctx, sc, cloud.LoadBalancerName, dm.Name); err != nil {
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
	return ctrl.Result{}, reconcileLoadBalancerMember(ctx, sc, cloud.LoadBalancerID, cloud.LoadBalancerName, dm.Name, addressOf(&dm))
}

// reconcileLoadBalancerMember is CAPO v0.13's ReconcileLoadBalancerMember
// for one port.
func reconcileLoadBalancerMember(ctx context.Context, sc *gophercloud.ServiceClient, lbID, lbName, infraMachine, ip string) error {
	name := MemberName(lbName, APIServerPort, infraMachine)
	pool, err := poolByName(ctx, sc, poolName(lbName))
	if err != nil {
		return err
	}
	if pool == nil {
		return errors.New("load balancer pool does not exist yet")
	}
	m, err := memberByName(ctx, sc, pool.ID, name)
	if err != nil {
		return err
	}
	if m != nil {
		if m.Address == ip {
			return nil
		}
		if err := waitForLoadBalancerActive(ctx, sc, lbID); err != nil {
			return err
		}
		if err := pools.DeleteMember(ctx, sc, pool.ID, m.ID).ExtractErr(); err != nil {
			return err
		}
		if err := waitForLoadBalancerActive(ctx, sc, lbID); err != nil {
			return err
		}
	}
	log.FromContext(ctx).Info("Creating load balancer member", "name", name)
	if err := waitForLoadBalancerActive(ctx, sc, lbID); err != nil {
		return err
	}
	if _, err := pools.CreateMember(ctx, sc, pool.ID, pools.CreateMemberOpts{Name: name, ProtocolPort: APIServerPort, Address: ip}).Extract(); err != nil {
		return err
	}
	return waitForLoadBalancerActive(ctx, sc, lbID)
}

// deleteLoadBalancerMember is CAPO v0.13's DeleteLoadBalancerMember for one
// port: it finds the load balancer by name, and waits for the load balancer
// only — not for the member to be gone.
func deleteLoadBalancerMember(ctx context.Context, sc *gophercloud.ServiceClient, lbName, infraMachine string) error {
	page, err := loadbalancers.List(sc, loadbalancers.ListOpts{Name: lbName}).AllPages(ctx)
	if err != nil {
		return err
	}
	lbs, err := loadbalancers.ExtractLoadBalancers(page)
	if err != nil || len(lbs) == 0 {
		return err
	}
	pool, err := poolByName(ctx, sc, poolName(lbName))
	if err != nil || pool == nil {
		return err
	}
	m, err := memberByName(ctx, sc, pool.ID, MemberName(lbName, APIServerPort, infraMachine))
	if err != nil || m == nil {
		return err
	}
	if err := waitForLoadBalancerActive(ctx, sc, lbs[0].ID); err != nil {
		return err
	}
	if err := pools.DeleteMember(ctx, sc, pool.ID, m.ID).ExtractErr(); err != nil {
		return err
	}
	return waitForLoadBalancerActive(ctx, sc, lbs[0].ID)
}

// waitForLoadBalancerActive polls the load balancer, and only it, until
// ACTIVE with CAPO's backoff; any GET error ends the wait.
func waitForLoadBalancerActive(ctx context.Context, sc *gophercloud.ServiceClient, id string) error {
	return wait.ExponentialBackoffWithContext(ctx, capoBackoff, func(ctx context.Context) (bool, error) {
		lb, err := loadbalancers.Get(ctx, sc, id).Extract()
		if err != nil {
			return false, err
		}
		return lb.ProvisioningStatus == "ACTIVE", nil
	})
}

func poolByName(ctx context.Context, sc *gophercloud.ServiceClient, name string) (*pools.Pool, error) {
	page, err := pools.List(sc, pools.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := pools.ExtractPools(page)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

func memberByName(ctx context.Context, sc *gophercloud.ServiceClient, poolID, name string) (*pools.Member, error) {
	page, err := pools.ListMembers(sc, poolID, pools.ListMembersOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := pools.ExtractMembers(page)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// addressOf is a stable made-up address for a machine: in-memory machines
// have none, and CAPO re-creates a member whose address changed.
func addressOf(dm *devv1.DevMachine) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(dm.UID))
	v := h.Sum32()
	return fmt.Sprintf("10.%d.%d.%d", 64+(v>>16)&63, (v>>8)&255, 1+(v&255)%254)
}
