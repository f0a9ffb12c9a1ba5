// Package sandbox runs the whole semantic-epp system on one machine: a real
// kube-apiserver and etcd (controller-runtime envtest) with the Gateway API
// Inference Extension CRDs, the InferencePool and model-server Deployments
// from deploy/ applied unchanged, each model-server replica as a Pod whose
// simulator (llm-d-inference-sim) runs in its own network namespace at its
// own pod IP, bin/epp as a separate process watching the pool, and the
// Envoy-like gateway of test/gateway in front. `make run` and the e2e tests
// (test/e2e) both use it.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/semantic-epp/semantic-epp/test/gateway"
)

// ModelLabel is the pod label naming the model a pod serves.
const ModelLabel = "semantic-epp.io/model"

// Options configure a sandbox. Empty fields take the defaults of
// DefaultOptions.
type Options struct {
	RepoRoot      string   // repository root; other paths are relative to it
	EPPBinary     string   // default bin/epp
	EPPConfig     string   // default config/semantic-epp.yaml
	EPPArgs       []string // extra EPP flags
	SimBinary     string   // default $INFERENCE_SIM_BIN or .cache/tools/bin/llm-d-inference-sim
	AssetsDir     string   // kube-apiserver + etcd; default $KUBEBUILDER_ASSETS or .cache/tools/bin
	ManifestDirs  []string // default deploy/inferencepool, deploy/model-servers
	Namespace     string   // default "default"
	PoolName      string   // default: the InferencePool found in the manifests
	GatewayListen string   // default 127.0.0.1:0
	LogDir        string   // default: a fresh directory under .cache/sandbox
	ProbePeriod   time.Duration
	Replicas      int      // pods per model-server Deployment; default 2
	SimArgs       []string // extra simulator flags; default --mode echo --max-num-seqs 8
	// ModelReplicas and ModelSimArgs override Replicas and add simulator
	// flags (after SimArgs) for the pods of one model (the pod's
	// semantic-epp.io/model label): pools of unequal capacity.
	ModelReplicas map[string]int
	ModelSimArgs  map[string][]string
	Out           io.Writer      // progress notes (skipped manifest kinds); default os.Stdout
	Gateway       gateway.Config // ExtProcAddress is filled in
	// Network is how pods get their own addresses: NetworkNetns (default:
	// a network namespace each, needs root), NetworkLoopback (loopback
	// addresses in the root namespace, each pod's container port forwarded
	// to its simulator: no privileges, one more local TCP hop in front of
	// every model server) or NetworkAuto (netns when this machine can
	// create namespaces, else loopback, with a note on Out).
	Network string
}

// Network modes of Options.Network.
const (
	NetworkNetns    = "netns"
	NetworkLoopback = "loopback"
	NetworkAuto     = "auto"
)

// Sandbox is a running system. Stop it to release everything.
type Sandbox struct {
	opts       Options
	Env        *envtest.Environment
	Client     client.Client
	Kubeconfig string
	EPP        *EPP
	GatewayURL string

	net       *Network
	gw        *gateway.Gateway
	gwCancel  context.CancelFunc
	gwDone    chan struct{}
	nextIndex int
	mu        sync.Mutex
	pods      map[string]*SimPod
	pool      string
	extraEPPs []*EPP
	apiServer *exec.Cmd // set once RestartAPIServer replaced envtest's process
}

func (o *Options) defaults() error {
	if o.RepoRoot == "" {
		return errors.New("sandbox: RepoRoot is required")
	}
	root, err := filepath.Abs(o.RepoRoot)
	if err != nil {
		return fmt.Errorf("sandbox: repository root: %w", err)
	}
	o.RepoRoot = root
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(o.RepoRoot, p)
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.EPPBinary, "bin/epp")
	def(&o.EPPConfig, "config/semantic-epp.yaml")
	def(&o.SimBinary, os.Getenv("INFERENCE_SIM_BIN"))
	def(&o.SimBinary, ".cache/tools/bin/llm-d-inference-sim")
	def(&o.AssetsDir, os.Getenv("KUBEBUILDER_ASSETS"))
	def(&o.AssetsDir, ".cache/tools/bin")
	def(&o.Namespace, "default")
	def(&o.GatewayListen, "127.0.0.1:0")
	def(&o.Network, NetworkNetns)
	switch o.Network {
	case NetworkNetns, NetworkLoopback, NetworkAuto:
	default:
		return fmt.Errorf("sandbox: network %q: want %s, %s or %s", o.Network, NetworkNetns, NetworkLoopback, NetworkAuto)
	}
	if len(o.ManifestDirs) == 0 {
		o.ManifestDirs = []string{"deploy/inferencepool", "deploy/model-servers"}
	}
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.SimArgs == nil {
		o.SimArgs = []string{"--mode", "echo", "--max-num-seqs", "8"}
	}
	if o.Gateway.MaxRequestBodyBytes == 0 {
		// The gateway refuses what the simulated model servers would: a
		// clear 413 instead of the simulator's reset.
		o.Gateway.MaxRequestBodyBytes = SimMaxRequestBodyBytes
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.ProbePeriod == 0 {
		o.ProbePeriod = 250 * time.Millisecond
	}
	o.EPPBinary, o.EPPConfig, o.SimBinary, o.AssetsDir = abs(o.EPPBinary), abs(o.EPPConfig), abs(o.SimBinary), abs(o.AssetsDir)
	for i, d := range o.ManifestDirs {
		o.ManifestDirs[i] = abs(d)
	}
	missing := []string{}
	for _, f := range []struct{ path, how string }{
		{o.EPPBinary, "make build"},
		{o.EPPConfig, "it ships in config/"},
		{o.SimBinary, "make tools"},
		{filepath.Join(o.AssetsDir, "kube-apiserver"), "make tools"},
		{filepath.Join(o.AssetsDir, "etcd"), "make tools"},
	} {
		if _, err := os.Stat(f.path); err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s)", f.path, f.how))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sandbox: missing %s", strings.Join(missing, ", "))
	}
	if o.LogDir == "" {
		base := abs(".cache/sandbox")
		if err := os.MkdirAll(base, 0o755); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		d, err := os.MkdirTemp(base, "run-")
		if err != nil {
			return fmt.Errorf("sandbox: log dir: %w", err)
		}
		o.LogDir = d
	}
	return nil
}

// SimMaxRequestBodyBytes is llm-d-inference-sim's request body limit
// (--max-request-body-size-mb, default 4); above it the simulator closes
// the connection. The sandbox's gateway refuses larger bodies with 413.
const SimMaxRequestBodyBytes = 4 << 20

// gieCRDDir returns the CRD directory of the Gateway API Inference
// Extension module the main module requires, from the module cache, or
// $GIE_CRD_DIR when set (machines without the Go toolchain, e.g. the GPU
// machine the benchmark is carried to).
func gieCRDDir(repoRoot string) (string, error) {
	if dir := os.Getenv("GIE_CRD_DIR"); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return "", fmt.Errorf("GIE_CRD_DIR: %w", err)
		}
		return dir, nil
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api-inference-extension")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating the gateway-api-inference-extension module (go mod download): %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("GIE CRDs: %w", err)
	}
	return dir, nil
}

// Start brings the whole system up. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (s *Sandbox, err error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	netw, err := newNetwork(opts.Network, opts.Out)
	if err != nil {
		return nil, err
	}
	s = &Sandbox{opts: opts, net: netw, pods: map[string]*SimPod{}}
	defer func() {
		if err != nil {
			s.Stop()
			s = nil
		}
	}()
	crdDir, err := gieCRDDir(opts.RepoRoot)
	if err != nil {
		return s, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return s, fmt.Errorf("scheme: %w", err)
	}
	s.Env = &envtest.Environment{
		BinaryAssetsDirectory: opts.AssetsDir, CRDDirectoryPaths: []string{crdDir},
		ErrorIfCRDPathMissing: true, Scheme: scheme, ControlPlaneStartTimeout: 2 * time.Minute,
	}
	cfg, err := s.Env.Start()
	if err != nil {
		s.Env = nil
		return s, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	if err := s.net.RecordProcesses(childProcesses("kube-apiserver", "etcd")); err != nil {
		return s, err
	}
	if s.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return s, fmt.Errorf("API client: %w", err)
	}
	s.Kubeconfig = filepath.Join(opts.LogDir, "kubeconfig")
	if err := os.WriteFile(s.Kubeconfig, s.Env.KubeConfig, 0o600); err != nil {
		return s, fmt.Errorf("writing kubeconfig: %w", err)
	}
	pool, err := s.applyManifests(ctx)
	if err != nil {
		return s, err
	}
	if err := s.WaitPodsReady(ctx, 60*time.Second); err != nil {
		return s, err
	}
	if err := s.startEPP(ctx, pool); err != nil {
		return s, err
	}
	return s, s.startGateway(ctx)
}

// newNetwork makes the network of an Options.Network mode.
func newNetwork(mode string, out io.Writer) (*Network, error) {
	switch mode {
	case NetworkLoopback:
		return NewLoopbackNetwork()
	case NetworkAuto:
		n, err := NewNetwork()
		if errors.Is(err, ErrNoNetns) {
			_, _ = fmt.Fprintf(out, "note: %v; the pods get loopback addresses instead\n", err)
			return NewLoopbackNetwork()
		}
		return n, err
	}
	return NewNetwork()
}

// NetworkMode is the mode the sandbox runs in: NetworkNetns or
// NetworkLoopback (what NetworkAuto chose).
func (s *Sandbox) NetworkMode() string {
	if s.net != nil && s.net.Loopback() {
		return NetworkLoopback
	}
	return NetworkNetns
}

// applyManifests creates every object of the manifest directories; for each
// Deployment it also creates its Pods (there is no controller manager).
func (s *Sandbox) applyManifests(ctx context.Context) (string, error) {
	pool := s.opts.PoolName
	var deployments []*appsv1.Deployment
	for _, dir := range s.opts.ManifestDirs {
		objs, err := LoadKustomization(dir)
		if err != nil {
			return "", err
		}
		for _, u := range objs {
			if u.GetNamespace() == "" {
				u.SetNamespace(s.opts.Namespace)
			}
			if err := s.Client.Create(ctx, u); err != nil {
				if meta.IsNoMatchError(err) {
					// e.g. HTTPRoute, DestinationRule: the sandbox has no
					// Gateway API or Istio; test/gateway plays the gateway.
					_, _ = fmt.Fprintf(s.opts.Out, "note: %s %s from %s not applied: the sandbox has no %s API\n",
						u.GetKind(), u.GetName(), filepath.Base(dir), u.GroupVersionKind().Group)
					continue
				}
				return "", fmt.Errorf("applying %s %s from %s: %w", u.GetKind(), u.GetName(), dir, err)
			}
			switch u.GetKind() {
			case "InferencePool":
				if pool == "" {
					pool = u.GetName()
				}
			case "Deployment":
				var d appsv1.Deployment
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
					return "", fmt.Errorf("reading Deployment %s: %w", u.GetName(), err)
				}
				deployments = append(deployments, &d)
			}
		}
	}
	if pool == "" {
		return "", errors.New("no InferencePool in the manifests")
	}
	for _, d := range deployments {
		if err := s.createPods(ctx, d, s.opts.Namespace); err != nil {
			return "", err
		}
	}
	return pool, nil
}

func (s *Sandbox) startEPP(ctx context.Context, pool string) error {
	s.pool = pool
	e, err := s.newEPP(s.opts.EPPConfig, "epp.log", s.opts.EPPArgs)
	if err != nil {
		return err
	}
	s.EPP = e
	return s.EPP.Start(ctx)
}

func (s *Sandbox) newEPP(configFile, logName string, args []string) (*EPP, error) {
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	return &EPP{
		GRPCPort: ports[0], HealthPort: ports[1], MetricsPort: ports[2],
		bin: s.opts.EPPBinary, kubeconfig: s.Kubeconfig, configFile: configFile,
		logPath: filepath.Join(s.opts.LogDir, logName), poolName: s.pool, poolNamespace: s.opts.Namespace,
		extraArgs: args,
	}, nil
}

// StartExtraEPP starts another EPP process for the same pool with another
// EndpointPickerConfig (benchmarks compare configurations side by side);
// its log is logName in LogDir. Stop ends it with the sandbox.
func (s *Sandbox) StartExtraEPP(ctx context.Context, configFile, logName string, args []string) (*EPP, error) {
	if !filepath.IsAbs(configFile) {
		configFile = filepath.Join(s.opts.RepoRoot, configFile)
	}
	e, err := s.newEPP(configFile, logName, args)
	if err != nil {
		return nil, err
	}
	if err := e.Start(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.extraEPPs = append(s.extraEPPs, e)
	s.mu.Unlock()
	return e, nil
}

func (s *Sandbox) startGateway(ctx context.Context) error {
	cfg := s.opts.Gateway
	cfg.ExtProcAddress = s.EPP.Address()
	if !strings.Contains(strings.Join(s.opts.EPPArgs, " "), "--secure-serving=false") {
		cfg.ExtProcTLS = true // the EPP serves TLS with a self-signed certificate by default
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.opts.GatewayListen)
	if err != nil {
		_ = gw.Close()
		return fmt.Errorf("gateway listen on %s: %w", s.opts.GatewayListen, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := gw.WaitReady(wctx); err != nil {
		_ = gw.Close()
		_ = ln.Close()
		return err
	}
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.gw, s.gwCancel, s.gwDone = gw, cancel, make(chan struct{})
	go func() { defer close(s.gwDone); _ = gw.Serve(gctx, ln) }()
	s.GatewayURL = "http://" + ln.Addr().String()
	return nil
}

// RestartEPP restarts the EPP process on the same ports and waits until
// the gateway's ext_proc connection is ready again.
func (s *Sandbox) RestartEPP(ctx context.Context) error {
	if err := s.EPP.Restart(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return s.gw.WaitReady(wctx)
}

// LogDir is where the EPP and simulator logs and the kubeconfig are.
func (s *Sandbox) LogDir() string { return s.opts.LogDir }

// Stop shuts everything down: gateway, EPP, simulators, network
// namespaces, API server and etcd. It is safe to call more than once.
func (s *Sandbox) Stop() {
	if s.gwCancel != nil {
		s.gwCancel()
		<-s.gwDone
		_ = s.gw.Close()
		s.gwCancel = nil
	}
	if s.EPP != nil {
		_ = s.EPP.Stop()
	}
	s.mu.Lock()
	extra := s.extraEPPs
	s.extraEPPs = nil
	s.mu.Unlock()
	for _, e := range extra {
		_ = e.Stop()
	}
	for _, p := range s.Pods() {
		s.stopSim(p)
	}
	s.mu.Lock()
	s.pods = map[string]*SimPod{}
	s.mu.Unlock()
	if s.net != nil {
		s.net.Close()
		s.net = nil
	}
	s.stopRestartedAPIServer()
	if s.Env != nil {
		_ = s.Env.Stop()
		s.Env = nil
	}
}
