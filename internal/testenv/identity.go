package testenv

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The CAPO identity Secret the suites give their clusters: Secret
// IdentitySecretName, key clouds.yaml, cloud CloudName, user Username with
// Password — the user the emulated Keystone of octaviatest accepts when
// started with Users().
const (
	IdentitySecretName = "cloud-config"
	CloudName          = "openstack"
	Username           = "capo"
	Password           = "s3cret"
)

// Users are the emulated Keystone's users (octaviatest.Options.Users) that
// CloudsYAML authenticates as.
func Users() map[string]string { return map[string]string{Username: Password} }

// CloudsYAML is the clouds.yaml of an identity Secret: cloud CloudName,
// Username and Password at the Keystone keystoneURL (an emulator's
// KeystoneURL), region RegionOne, and Neutron at neutronURL
// (network_endpoint_override, as the emulated catalog has Octavia only)
// unless it is empty.
func CloudsYAML(keystoneURL, neutronURL string) []byte {
	s := fmt.Sprintf(`clouds:
  %s:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: capo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
`, CloudName, keystoneURL, Username, Password)
	if neutronURL != "" {
		s += "    network_endpoint_override: " + neutronURL + "\n"
	}
	return []byte(s)
}

// IdentitySecret is CAPO's identity Secret IdentitySecretName in namespace
// ns holding clouds (CloudsYAML).
func IdentitySecret(ns string, clouds []byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: IdentitySecretName},
		Data: map[string][]byte{"clouds.yaml": clouds}}
}
