// Package openstackauth builds a gophercloud client for the OpenStack
// load-balancer service (Octavia) from the settings operators already have:
// a clouds.yaml entry, OS_* environment variables, or, for an Octavia that
// runs with auth_strategy = noauth, just an endpoint and a project ID.
//
// clouds.yaml is read with gophercloud/utils' clientconfig, so the search
// order ($OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack,
// /etc/openstack), secure.yaml, clouds-public.yaml profiles, per-region
// values, cacert, verify, region_name and interface behave as in the other
// gophercloud-based tools (CAPO, OCCM). On top of it this package adds
// auth_type none/noauth with openstacksdk's load_balancer_endpoint_override,
// and errors that say which file, which cloud and which setting is wrong.
//
// Nothing here logs, and no error carries a password, a token or an
// application-credential secret.
package openstackauth
