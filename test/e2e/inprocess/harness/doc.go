// Package harness runs a whole CAPI control-plane rollout in one process:
// a real kube-apiserver and etcd (envtest), the real Cluster API
// controllers (Cluster, Machine, MachineSet, KubeadmConfig,
// KubeadmControlPlane, ClusterCache) with the in-memory Dev infrastructure,
// a stand-in controller that runs CAPO's own load-balancer member code
// against the Octavia emulator, and membergate's gate in a manager of its
// own that a test can kill and start again — plus a sampler that watches
// whether the API load balancer keeps serving. The e2e test and
// cmd/rollout-demo share it.
package harness
