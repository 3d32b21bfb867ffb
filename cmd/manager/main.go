// Command manager runs membergate's controllers: the gate that holds CAPO
// clusters' control-plane rollouts until the new load-balancer members serve.
package main

import (
	"flag"
	"os"
	"time"

	"golang.org/x/time/rate"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/webhooks"
)

func main() {
	var (
		metricsAddr, probeAddr string
		leaderElect            bool
		budget                 float64
		burst                  int
		syncPeriod             time.Duration
		webhookPort            int
		certDir                string
		enableWebhooks         bool
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of the metrics endpoint (HTTPS, authenticated); 0 disables it")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
	flag.BoolVar(&leaderElect, "leader-elect", true, "elect a leader, so that only one replica acts")
	flag.Float64Var(&budget, "octavia-qps", 5, "Octavia requests per second per cloud, for all clusters together")
	flag.IntVar(&burst, "octavia-burst", 10, "burst of Octavia requests per cloud")
	flag.DurationVar(&syncPeriod, "sync-period", 10*time.Minute, "how often every watched object is reconciled anyway")
	flag.IntVar(&webhookPort, "webhook-port", 9443, "port of the admission webhook server (TLS)")
	flag.StringVar(&certDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory with tls.crt and tls.key for the webhook server (cert-manager mounts them)")
	flag.BoolVar(&enableWebhooks, "enable-webhooks", true, "serve the MemberGate admission webhooks")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	setup := ctrl.Log.WithName("setup")

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsserver.Options{BindAddress: metricsAddr, SecureServing: true},
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "membergate.membergate.io",
		Cache:                  cache.Options{SyncPeriod: &syncPeriod},
		WebhookServer:          webhook.NewServer(webhook.Options{Port: webhookPort, CertDir: certDir}),
	})
	if err != nil {
		setup.Error(err, "creating the manager")
		os.Exit(1)
	}
	r := &controllers.GateReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("membergate"),
		Sources:  &controllers.SecretSources{Client: mgr.GetAPIReader(), Budget: rate.Limit(budget), Burst: burst},
	}
	if err := r.SetupWithManager(mgr); err != nil {
		setup.Error(err, "setting up the gate controller")
		os.Exit(1)
	}
	if enableWebhooks {
		if err := (webhooks.MemberGate{}).SetupWithManager(mgr); err != nil {
			setup.Error(err, "setting up the MemberGate webhooks")
			os.Exit(1)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setup.Error(err, "adding the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setup.Error(err, "adding the readiness check")
		os.Exit(1)
	}
	setup.Info("starting the manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setup.Error(err, "running the manager")
		os.Exit(1)
	}
}
