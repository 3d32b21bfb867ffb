package extensiontest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"k8s.io/utils/ptr"
	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	runtimeclient "sigs.k8s.io/cluster-api/exp/runtime/client"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RuntimeClient is enough of CAPI's runtime client (an internal package of
// CAPI) for CAPI's own ExtensionConfig reconciler to run in a test: it
// discovers and calls extensions over TLS from their ExtensionConfig (the
// caBundle the reconciler injected), dialing DialAddr.
type RuntimeClient struct {
	DialAddr string

	mu         sync.Mutex
	registered map[string]*runtimev1.ExtensionConfig
}

var _ runtimeclient.Client = &RuntimeClient{}

// WarmUp implements runtimeclient.Client.
func (r *RuntimeClient) WarmUp(list *runtimev1.ExtensionConfigList) error {
	for i := range list.Items {
		if err := r.Register(&list.Items[i]); err != nil {
			return err
		}
	}
	return nil
}

// IsReady implements runtimeclient.Client: always warm.
func (r *RuntimeClient) IsReady() bool { return true }

// Discover implements runtimeclient.Client as CAPI does: the handlers go to
// the status, named "<handler>.<ExtensionConfig>", with CAPI's defaults.
func (r *RuntimeClient) Discover(ctx context.Context, ec *runtimev1.ExtensionConfig) (*runtimev1.ExtensionConfig, error) {
	c, err := NewClient(ec.Spec.ClientConfig, r.DialAddr)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", ec.Name, err)
	}
	resp, err := c.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", ec.Name, err)
	}
	out := ec.DeepCopy()
	out.Status.Handlers = []runtimev1.ExtensionHandler{}
	for _, h := range resp.Handlers {
		out.Status.Handlers = append(out.Status.Handlers, runtimev1.ExtensionHandler{
			Name:           h.Name + "." + ec.Name,
			RequestHook:    runtimev1.GroupVersionHook{APIVersion: h.RequestHook.APIVersion, Hook: h.RequestHook.Hook},
			TimeoutSeconds: ptr.Deref(h.TimeoutSeconds, runtimehooksv1.DefaultHandlersTimeoutSeconds),
			FailurePolicy:  runtimev1.FailurePolicy(ptr.Deref(h.FailurePolicy, runtimehooksv1.FailurePolicyFail)),
		})
	}
	return out, nil
}

// Register implements runtimeclient.Client.
func (r *RuntimeClient) Register(ec *runtimev1.ExtensionConfig) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.registered == nil {
		r.registered = map[string]*runtimev1.ExtensionConfig{}
	}
	r.registered[ec.Name] = ec.DeepCopy()
	return nil
}

// Unregister implements runtimeclient.Client.
func (r *RuntimeClient) Unregister(ec *runtimev1.ExtensionConfig) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.registered, ec.Name)
	return nil
}

// GetAllExtensions implements runtimeclient.Client: the registered handlers
// of the hook (namespace selectors are not evaluated).
func (r *RuntimeClient) GetAllExtensions(_ context.Context, hook runtimecatalog.Hook, _ client.Object) ([]string, error) {
	name := runtimecatalog.HookName(hook)
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ec := range r.registered {
		for _, h := range ec.Status.Handlers {
			if h.RequestHook.Hook == name {
				out = append(out, h.Name)
			}
		}
	}
	return out, nil
}

// CallAllExtensions implements runtimeclient.Client by calling each
// registered handler in turn; the last answer wins.
func (r *RuntimeClient) CallAllExtensions(ctx context.Context, hook runtimecatalog.Hook, forObject client.Object, req runtimehooksv1.RequestObject, resp runtimehooksv1.ResponseObject) error {
	names, err := r.GetAllExtensions(ctx, hook, forObject)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := r.CallExtension(ctx, hook, forObject, n, req, resp); err != nil {
			return err
		}
	}
	return nil
}

// CallExtension implements runtimeclient.Client: name is the registered
// "<handler>.<ExtensionConfig>".
func (r *RuntimeClient) CallExtension(ctx context.Context, hook runtimecatalog.Hook, _ client.Object, name string, req runtimehooksv1.RequestObject, resp runtimehooksv1.ResponseObject, _ ...runtimeclient.CallExtensionOption) error {
	handler, ecName, ok := strings.Cut(name, ".")
	if !ok {
		return fmt.Errorf("handler name %q is not <handler>.<ExtensionConfig>", name)
	}
	r.mu.Lock()
	ec := r.registered[ecName]
	r.mu.Unlock()
	if ec == nil {
		return fmt.Errorf("ExtensionConfig %s is not registered", ecName)
	}
	c, err := NewClient(ec.Spec.ClientConfig, r.DialAddr)
	if err != nil {
		return err
	}
	return c.Call(ctx, hook, handler, req, resp)
}
