// Package extension is membergate's Cluster API Runtime Extension: lifecycle
// hook handlers that hold ClusterClass upgrades while the API load balancer's
// members do not serve, answering from the gate controller's last observation.
package extension
