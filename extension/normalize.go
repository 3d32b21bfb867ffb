package extension

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// maxRequestBytes bounds a request body: a hook request carries one
// Cluster and a few fields, a few kilobytes; 1 MiB is generous and keeps a
// caller from making the extension read megabytes (CAPI's own server
// allows 20 MiB).
const maxRequestBytes = 1 << 20

// clusterV1Beta1 is the API version of the Cluster that CAPI before v1.13
// embeds in hook requests.
const clusterV1Beta1 = "cluster.x-k8s.io/v1beta1"

// tolerantServer is the webhook.Server inside CAPI's runtime extension
// server, with every handler it registers behind NormalizeCluster: CAPI's
// server decodes a request with a plain json.Unmarshal into the v1beta2
// request type, which fails on a v1beta1 Cluster (status.failureDomains is a
// map there, a list in v1beta2), and CAPI v1.11 and v1.12 send v1beta1.
type tolerantServer struct{ webhook.Server }

// Register implements webhook.Server.
func (s tolerantServer) Register(path string, h http.Handler) {
	s.Server.Register(path, NormalizeCluster(h))
}

// NormalizeCluster rewrites a request whose "cluster" is a v1beta1 Cluster,
// or does not decode as a v1beta2 one, to keep only the Cluster's
// apiVersion, kind and metadata — all the handlers need is its namespace and
// name, and metadata is the same in every version. Other bodies pass as
// they are.
func NormalizeCluster(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
		if err != nil {
			http.Error(w, "reading the request: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		body = normalizeBody(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// normalizeBody returns the body with a foreign Cluster cut down to its
// identity, or the body unchanged.
func normalizeBody(body []byte) []byte {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return body
	}
	raw, ok := req["cluster"]
	if !ok {
		return body
	}
	var identity struct {
		APIVersion string          `json:"apiVersion,omitempty"`
		Kind       string          `json:"kind,omitempty"`
		Metadata   json.RawMessage `json:"metadata,omitempty"`
	}
	if err := json.Unmarshal(raw, &identity); err != nil {
		return body
	}
	// CAPI sends the Cluster without TypeMeta at times, so a v1beta1 one
	// is known by failing to decode as v1beta2 as much as by its apiVersion.
	if identity.APIVersion != clusterV1Beta1 && json.Unmarshal(raw, &clusterv1.Cluster{}) == nil {
		return body
	}
	cut, err := json.Marshal(identity)
	if err != nil {
		return body
	}
	req["cluster"] = cut
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}
