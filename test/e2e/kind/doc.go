// Package kind is membergate's end-to-end suite on a real management
// cluster: kind, clusterctl init with Cluster API, CAPO and membergate, a
// ClusterClass cluster on a real OpenStack cloud, and a control-plane
// upgrade under the gate. It needs Docker and an OpenStack cloud, so its
// tests build only with the e2e tag; see README.md to run it.
package kind
