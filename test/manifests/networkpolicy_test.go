package manifests

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Ports of the EPP and who may reach each (deploy/components/networkpolicy).
const (
	extProcPort = 9002
	healthPort  = 9003
	metricsPort = 9090
	// gatewayNameLabel is the label Istio (and other Gateway API
	// implementations) put on the pods of the Deployment made for a Gateway.
	gatewayNameLabel = "gateway.networking.k8s.io/gateway-name"
)

// checkNetworkPolicy: every overlay ships the EPP's NetworkPolicy; it
// selects every EPP pod, admits 9002 only from the pods of a Gateway of the
// overlay, 9090 only from the monitoring namespace's Prometheus pods, and
// 9003 from no pod (the kubelet probes from the node); no rule admits
// everyone, and no model-server pod is a peer.
func checkNetworkPolicy(t *testing.T, s objectSet, rel string) {
	t.Helper()
	// The overlays a user applies; overlays/two-hop/<part> are its pieces.
	if !strings.HasPrefix(rel, "overlays/") || strings.Count(rel, "/") != 1 {
		return
	}
	if len(s["NetworkPolicy"]) != 1 {
		t.Errorf("%s: %d NetworkPolicies, want the one of components/networkpolicy", rel, len(s["NetworkPolicy"]))
		return
	}
	var np networkingv1.NetworkPolicy
	for _, u := range s["NetworkPolicy"] {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &np); err != nil {
			t.Fatalf("NetworkPolicy %s: %v", u.GetName(), err)
		}
	}
	if len(np.Spec.PolicyTypes) != 1 || np.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
		t.Errorf("policyTypes %v, want [Ingress] (egress stays open: API server, model servers)", np.Spec.PolicyTypes)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() {
		t.Fatalf("podSelector %v: %v (an empty selector would isolate every pod of the namespace)", np.Spec.PodSelector, err)
	}
	epps := s.eppDeployments()
	if len(epps) == 0 {
		t.Fatalf("%s: no EPP Deployment", rel)
	}
	for _, d := range epps {
		if !sel.Matches(labels.Set(podLabels(d))) {
			t.Errorf("the policy does not select the pods of %s (%v)", d.GetName(), podLabels(d))
		}
	}
	for _, d := range s.modelServers() {
		if sel.Matches(labels.Set(podLabels(d))) {
			t.Errorf("the policy selects model-server pods of %s: it would cut the gateway off them", d.GetName())
		}
	}
	gateways := map[string]bool{}
	for name := range s["Gateway"] {
		gateways[name] = true
	}
	admitted := map[int32]int{}
	for i, rule := range np.Spec.Ingress {
		if len(rule.From) == 0 {
			t.Errorf("ingress rule %d admits every source", i)
		}
		if len(rule.Ports) == 0 {
			t.Errorf("ingress rule %d admits every port", i)
		}
		for _, p := range rule.Ports {
			if p.Port == nil || p.Port.Type != intstr.Int {
				t.Errorf("ingress rule %d: port %v, want a number", i, p.Port)
				continue
			}
			port := p.Port.IntVal
			admitted[port]++
			for _, peer := range rule.From {
				if peer.IPBlock != nil {
					t.Errorf("ingress rule %d: an ipBlock peer on port %d", i, port)
					continue
				}
				checkPeer(t, port, peer, gateways, s)
			}
		}
	}
	if admitted[extProcPort] == 0 || admitted[metricsPort] == 0 {
		t.Errorf("ports admitted %v: want rules for %d (gateway) and %d (scraper)", admitted, extProcPort, metricsPort)
	}
	if admitted[healthPort] != 0 {
		t.Errorf("port %d is opened to pods; the kubelet probes it from the node, which NetworkPolicy always admits", healthPort)
	}
	for port := range admitted {
		if port != extProcPort && port != metricsPort {
			t.Errorf("port %d admitted: the EPP serves only %d, %d and %d", port, extProcPort, healthPort, metricsPort)
		}
	}
}

func checkPeer(t *testing.T, port int32, peer networkingv1.NetworkPolicyPeer, gateways map[string]bool, s objectSet) {
	t.Helper()
	switch port {
	case extProcPort:
		if peer.NamespaceSelector != nil || peer.PodSelector == nil {
			t.Errorf("port %d: peer %+v, want a pod selector of this namespace only", port, peer)
			return
		}
		name := peer.PodSelector.MatchLabels[gatewayNameLabel]
		if !gateways[name] || len(peer.PodSelector.MatchLabels) != 1 || len(peer.PodSelector.MatchExpressions) != 0 {
			t.Errorf("port %d: pod selector %v, want exactly %s=<a Gateway of the overlay %v>", port, peer.PodSelector, gatewayNameLabel, gateways)
		}
		sel, _ := metav1.LabelSelectorAsSelector(peer.PodSelector)
		for _, d := range append(s.modelServers(), s.eppDeployments()...) {
			if sel.Matches(labels.Set(podLabels(d))) {
				t.Errorf("port %d: the gateway selector also admits the pods of %s", port, d.GetName())
			}
		}
	case metricsPort:
		if peer.NamespaceSelector == nil || peer.PodSelector == nil ||
			peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "" || len(peer.PodSelector.MatchLabels) == 0 {
			t.Errorf("port %d: peer %+v, want the scraper's pods in a named namespace (both selectors)", port, peer)
		}
	}
}
