package extensiontest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
)

// Client calls one Runtime Extension as CAPI's runtime client does: the URL
// from an ExtensionConfig's clientConfig, TLS verified against its
// caBundle, a JSON POST per hook to <base>/<group>/<version>/<hook>/<name>.
type Client struct {
	Catalog *runtimecatalog.Catalog
	HTTP    *http.Client
	Base    *url.URL
}

// NewClient builds a client for a clientConfig. Outside a cluster a
// Service's DNS name does not resolve, so when dialAddr is set every
// connection goes there while TLS still verifies the Service's name.
func NewClient(cfg runtimev1.ClientConfig, dialAddr string) (*Client, error) {
	catalog := runtimecatalog.New()
	if err := runtimehooksv1.AddToCatalog(catalog); err != nil {
		return nil, err
	}
	base, err := baseURL(cfg)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if len(cfg.CABundle) == 0 || !pool.AppendCertsFromPEM(cfg.CABundle) {
		return nil, errors.New("clientConfig.caBundle holds no certificate: the CA was not injected")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	if dialAddr != "" {
		d := &net.Dialer{Timeout: 5 * time.Second}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, dialAddr)
		}
	}
	return &Client{Catalog: catalog, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}, Base: base}, nil
}

// baseURL is CAPI's: https://<service>.<namespace>.svc[:port][/path], or the url.
func baseURL(cfg runtimev1.ClientConfig) (*url.URL, error) {
	if svc := cfg.Service; svc.IsDefined() {
		host := svc.Name + "." + svc.Namespace + ".svc"
		if svc.Port != nil {
			host = net.JoinHostPort(host, strconv.Itoa(int(*svc.Port)))
		}
		return &url.URL{Scheme: "https", Host: host, Path: svc.Path}, nil
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("expected an https URL, got %q", cfg.URL)
	}
	return u, nil
}

// Discover calls the discovery hook and validates the answer as CAPI does:
// unique DNS-1123 names, timeouts within 0–30 s, a failure policy of Fail
// or Ignore, and hooks that are in the catalog.
func (c *Client) Discover(ctx context.Context) (*runtimehooksv1.DiscoveryResponse, error) {
	resp := &runtimehooksv1.DiscoveryResponse{}
	if err := c.Call(ctx, runtimehooksv1.Discovery, "", &runtimehooksv1.DiscoveryRequest{}, resp); err != nil {
		return nil, err
	}
	var errs []error
	names := map[string]bool{}
	for _, h := range resp.Handlers {
		if names[h.Name] {
			errs = append(errs, fmt.Errorf("duplicate handler name %s", h.Name))
		}
		names[h.Name] = true
		if e := validation.IsDNS1123Label(h.Name); len(e) > 0 {
			errs = append(errs, fmt.Errorf("handler name %s: %v", h.Name, e))
		}
		if t := h.TimeoutSeconds; t != nil && (*t < 0 || *t > 30) {
			errs = append(errs, fmt.Errorf("handler %s: timeoutSeconds %d not within 0–30", h.Name, *t))
		}
		if p := h.FailurePolicy; p != nil && *p != runtimehooksv1.FailurePolicyFail && *p != runtimehooksv1.FailurePolicyIgnore {
			errs = append(errs, fmt.Errorf("handler %s: failurePolicy %s", h.Name, *p))
		}
		gvh, err := c.handlerGVH(h)
		if err != nil || !c.Catalog.IsHookRegistered(gvh) {
			errs = append(errs, fmt.Errorf("handler %s: hook %s/%s is not in the Runtime SDK catalog", h.Name, h.RequestHook.APIVersion, h.RequestHook.Hook))
		}
	}
	return resp, kerrors.NewAggregate(errs)
}

func (c *Client) handlerGVH(h runtimehooksv1.ExtensionHandler) (runtimecatalog.GroupVersionHook, error) {
	gv, err := schema.ParseGroupVersion(h.RequestHook.APIVersion)
	if err != nil {
		return runtimecatalog.GroupVersionHook{}, err
	}
	return runtimecatalog.GroupVersionHook{Group: gv.Group, Version: gv.Version, Hook: h.RequestHook.Hook}, nil
}

// Call sends a typed request to the handler name of hook (name "" for
// discovery) and decodes the typed response. A response whose status is not
// Success is returned as an error, with its message.
func (c *Client) Call(ctx context.Context, hook runtimecatalog.Hook, name string, req runtime.Object, resp runtimehooksv1.ResponseObject) error {
	gvh, err := c.Catalog.GroupVersionHook(hook)
	if err != nil {
		return err
	}
	gvk, err := c.Catalog.Request(gvh)
	if err != nil {
		return err
	}
	req.GetObjectKind().SetGroupVersionKind(gvk)
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	out, err := c.Post(ctx, runtimecatalog.GVHToPath(gvh, name), body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, resp); err != nil {
		return fmt.Errorf("decoding the %s response: %w", gvh.Hook, err)
	}
	if resp.GetStatus() != runtimehooksv1.ResponseStatusSuccess {
		return fmt.Errorf("%s answered %s: %s", gvh.Hook, resp.GetStatus(), resp.GetMessage())
	}
	return nil
}

// Post sends a raw body to a path under the base URL and returns the body
// of a 200 answer.
func (c *Client) Post(ctx context.Context, p string, body []byte) ([]byte, error) {
	u := *c.Base
	u.Path = path.Join(u.Path, p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	out, err := io.ReadAll(io.LimitReader(res.Body, 20<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %s", u.String(), res.Status, out)
	}
	return out, nil
}
