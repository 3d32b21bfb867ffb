// Package controllers will hold the gate: the controller that holds
// control-plane rollouts until the new load-balancer members serve.
package controllers
