// Package integration runs the semantic-epp request path in process: the
// upstream ext_proc streaming server, director and scheduler built from a
// config under config/ with our plugins, driven over gRPC the way Envoy
// drives the EPP (headers, then the body in chunks, FULL_DUPLEX_STREAMED).
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	envoyCorev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extProcPb "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/config"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/config/loader"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/datalayer"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/datastore"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/handlers"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/requestcontrol"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/scheduling"
	testutil "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/util/testing"
	"sigs.k8s.io/gateway-api-inference-extension/test/utils"
)

const (
	poolName  = "pool"
	namespace = "default"
	poolPort  = 8000
	labelKey  = "semantic-epp.io/model"
)

func TestMain(m *testing.M) {
	if err := registerPlugins(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: registering plugins:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// loadConfig runs the upstream config loader on configText, as the runner does.
func loadConfig(ctx context.Context, configText []byte, handle fwkplugin.Handle) (*config.Config, error) {
	logger := log.FromContext(ctx)
	raw, _, err := loader.LoadRawConfig(configText, logger)
	if err != nil {
		return nil, fmt.Errorf("LoadRawConfig: %w", err)
	}
	cfg, err := loader.InstantiateAndConfigure(raw, handle, logger)
	if err != nil {
		return nil, fmt.Errorf("InstantiateAndConfigure: %w", err)
	}
	return cfg, nil
}

func readConfig(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return b
}

// pod is a model server pod of the pool, labelled with the model it serves.
type pod struct {
	name, ip, model string
}

// startEPP builds the upstream request path (datastore, scheduler, legacy
// admission, director, streaming server) from configText with pods in the
// pool, serves it on an in-memory listener and returns a connection to it.
func startEPP(t *testing.T, configText []byte, pods []pod) *grpc.ClientConn {
	t.Helper()
	conn, _, _ := startEPPWith(t, configText, pods)
	return conn
}

// startEPPWith is startEPP that also returns the plugin handle and the datastore.
func startEPPWith(t *testing.T, configText []byte, pods []pod) (*grpc.ClientConn, fwkplugin.Handle, datastore.Datastore) {
	t.Helper()
	k8sPods := make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		k8sPods = append(k8sPods, testutil.MakePod(p.name).Namespace(namespace).ReadyCondition().
			Labels(map[string]string{labelKey: p.model}).IP(p.ip).ObjRef())
	}
	ctx, cancel, ds, _ := utils.PrepareForTestStreamingServer(nil, k8sPods, poolName, namespace, poolPort)
	t.Cleanup(cancel)
	if n := len(ds.PodList(datastore.AllPodsPredicate)); n != len(pods) {
		t.Fatalf("datastore holds %d pods, want %d", n, len(pods))
	}

	handle := fwkplugin.NewEppHandle(ctx, func() []types.NamespacedName { return nil })
	cfg, err := loadConfig(ctx, configText, handle)
	if err != nil {
		t.Fatalf("loading config: %v", err)
	}
	rc := requestcontrol.NewConfig()
	rc.AddPlugins(handle.GetAllPlugins()...)
	// As the runner does: data producers run before their consumers.
	dag, err := datalayer.ValidateAndOrderDataDependencies(handle.GetAllPlugins())
	if err != nil {
		t.Fatalf("ordering the data plugins: %v", err)
	}
	rc.OrderPrepareDataPlugins(dag)
	candidates := requestcontrol.NewDatastoreEndpointCandidates(ds)
	admission := requestcontrol.NewLegacyAdmissionController(cfg.SaturationDetector, candidates)
	parser := handlers.NewParser(cfg.ParserConfig)
	director := requestcontrol.NewDirectorWithConfig(ds, scheduling.NewSchedulerWithConfig(cfg.SchedulerConfig),
		admission, parser, candidates, rc)
	server := handlers.NewStreamingServer(ds, director, parser)

	lis := bufconn.Listen(1 << 20)
	go func() { _ = utils.LaunchTestGRPCServer(server, ctx, lis) }()
	conn, err := grpc.NewClient("passthrough://bufconn",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20), grpc.MaxCallSendMsgSize(16<<20)))
	if err != nil {
		t.Fatalf("dialing the in-memory EPP: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, handle, ds
}

// outcome is what Envoy would act on for one request.
type outcome struct {
	status      int               // immediate response status; 0 when the request is forwarded
	errorBody   string            // immediate response body
	headers     map[string]string // request header mutations
	body        []byte            // request body after mutation
	destination string            // x-gateway-destination-endpoint
}

// send plays one request through the EPP like Envoy: the headers, then the
// body split into chunks of chunkSize bytes (the last with end_of_stream),
// and collects the header and body mutations or the immediate response.
func send(t *testing.T, conn *grpc.ClientConn, headers map[string]string, body []byte, chunkSize int) outcome {
	t.Helper()
	out, err := trySend(conn, headers, body, chunkSize)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// trySend is send for use off the test goroutine: it returns its error.
func trySend(conn *grpc.ClientConn, headers map[string]string, body []byte, chunkSize int) (outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := extProcPb.NewExternalProcessorClient(conn).Process(ctx)
	if err != nil {
		return outcome{}, fmt.Errorf("opening ext_proc stream: %w", err)
	}
	hv := make([]*envoyCorev3.HeaderValue, 0, len(headers))
	for k, v := range headers {
		hv = append(hv, &envoyCorev3.HeaderValue{Key: k, RawValue: []byte(v)})
	}
	msgs := []*extProcPb.ProcessingRequest{{Request: &extProcPb.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extProcPb.HttpHeaders{Headers: &envoyCorev3.HeaderMap{Headers: hv}},
	}}}
	for off := 0; off < len(body); off += chunkSize {
		end := min(off+chunkSize, len(body))
		msgs = append(msgs, &extProcPb.ProcessingRequest{Request: &extProcPb.ProcessingRequest_RequestBody{
			RequestBody: &extProcPb.HttpBody{Body: body[off:end], EndOfStream: end == len(body)},
		}})
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			return outcome{}, fmt.Errorf("sending to the EPP: %w", err)
		}
	}
	out := outcome{headers: map[string]string{}}
	var newBody bytes.Buffer
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, fmt.Errorf("EPP closed the stream before answering")
		}
		if err != nil {
			return out, fmt.Errorf("receiving from the EPP: %w", err)
		}
		switch r := resp.Response.(type) {
		case *extProcPb.ProcessingResponse_ImmediateResponse:
			out.status = int(r.ImmediateResponse.GetStatus().GetCode())
			out.errorBody = string(r.ImmediateResponse.GetBody())
			return out, nil
		case *extProcPb.ProcessingResponse_RequestHeaders:
			for _, h := range r.RequestHeaders.GetResponse().GetHeaderMutation().GetSetHeaders() {
				out.headers[strings.ToLower(h.GetHeader().GetKey())] = string(h.GetHeader().GetRawValue())
			}
			out.destination = out.headers["x-gateway-destination-endpoint"]
		case *extProcPb.ProcessingResponse_RequestBody:
			sr := r.RequestBody.GetResponse().GetBodyMutation().GetStreamedResponse()
			newBody.Write(sr.GetBody())
			if sr.GetEndOfStream() {
				out.body = newBody.Bytes()
				return out, nil
			}
		default:
			return out, fmt.Errorf("unexpected ext_proc response %T", r)
		}
	}
}
