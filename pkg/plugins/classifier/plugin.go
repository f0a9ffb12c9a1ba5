// Package classifier is the `classifier` EPP plugin: one classifier,
// configured once in EndpointPickerConfig and referenced by name from the
// plugins that classify (the semantic model selector, signals). It
// implements no extension point; GIE's config loader instantiates it like
// any plugin, in list order, so it must be listed before the plugins that
// look it up. See README.md.
package classifier

import (
	"context"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/log"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	clf "github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
)

// Type is the plugin type in EndpointPickerConfig.
const Type = "classifier"

// Plugin holds one loaded classifier.
type Plugin struct {
	typedName  fwkplugin.TypedName
	classifier clf.Classifier
}

var _ fwkplugin.Plugin = (*Plugin)(nil)

// TypedName returns the plugin's type and name.
func (p *Plugin) TypedName() fwkplugin.TypedName { return p.typedName }

// Classifier returns the loaded classifier, shared by every plugin that
// references this one.
func (p *Plugin) Classifier() clf.Classifier { return p.classifier }

// LoadFunc loads a classifier from its specification (loader.Load in the
// binary; tests pass their own).
type LoadFunc func(ctx context.Context, cfg clf.Config) (clf.Classifier, error)

// Factory is the plugin factory of the binary: it loads with loader.Load.
var Factory = NewFactory(loader.Load)

// NewFactory returns a plugin factory that loads the classifier with load.
// The parameters are a classifier specification (classifier.Config, in the
// typed or the flat form); empty parameters are the default classifier.
// The classifier is closed when the handle's context ends.
func NewFactory(load LoadFunc) fwkplugin.FactoryFunc {
	return func(name string, raw json.RawMessage, h fwkplugin.Handle) (fwkplugin.Plugin, error) {
		spec, err := DecodeParameters(raw)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", Type, name, err)
		}
		ctx := context.Background()
		if h != nil && h.Context() != nil {
			ctx = h.Context()
		}
		c, err := load(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", Type, name, err)
		}
		log.FromContext(ctx).Info("Classifier ready", "plugin", name, "backend", backendName(spec), "labels", c.Labels(),
			"device", clf.DeviceOf(c))
		if ctx.Done() != nil {
			go func() {
				<-ctx.Done()
				if err := c.Close(); err != nil {
					log.FromContext(ctx).Error(err, "Closing the classifier", "plugin", name)
				}
			}()
		}
		return &Plugin{typedName: fwkplugin.TypedName{Type: Type, Name: name}, classifier: c}, nil
	}
}

// DecodeParameters reads the plugin's parameters: a classifier
// specification. Empty or null parameters are the zero specification (the
// auto backend with the embedded model).
func DecodeParameters(raw json.RawMessage) (clf.Config, error) {
	var spec clf.Config
	if len(raw) == 0 || string(raw) == "null" {
		return spec, nil
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return clf.Config{}, fmt.Errorf("invalid parameters: %w", err)
	}
	return spec, nil
}

func backendName(spec clf.Config) string {
	if spec.Backend == "" {
		return clf.BackendAuto
	}
	return spec.Backend
}

// Lookup returns the classifier of the `classifier` plugin called name, for
// a plugin whose parameters reference it (classifierRef). The referenced
// plugin must be listed earlier in EndpointPickerConfig.
func Lookup(h fwkplugin.Handle, name string) (clf.Classifier, error) {
	if h == nil {
		return nil, fmt.Errorf("%s %q: no plugin handle to look it up in", Type, name)
	}
	p, err := fwkplugin.PluginByType[*Plugin](h, name)
	if err != nil {
		return nil, fmt.Errorf("%s %q (list it before the plugins that reference it): %w", Type, name, err)
	}
	return p.classifier, nil
}
