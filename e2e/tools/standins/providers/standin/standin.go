// Package standin is the gRPC plumbing shared by our STAND-IN providers (pulumi-resource-tls and
// pulumi-resource-command, see ../tls and ../command): a pulumirpc.ResourceProviderServer that
// unmarshals the engine's property maps, hands them to a small Resource implementation, and
// marshals the answer back. Secrets and unknowns are kept both ways (the stand-ins accept
// secrets, as the real providers do).
package standin

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Diff is a resource's answer to the engine's Diff: which inputs changed, and which of those
// replace the resource.
type Diff struct {
	Changed  []string
	Replaces []string
}

// Resource is one resource type of a stand-in provider. `news` are the checked inputs; `olds`
// the state (inputs and outputs) the last create or update returned.
type Resource interface {
	// Check applies defaults to the inputs (and may refuse them).
	Check(news resource.PropertyMap) (resource.PropertyMap, error)
	Diff(oldInputs, olds, news resource.PropertyMap) Diff
	// Create returns the id and the state; in a preview the outputs not yet known are unknown.
	Create(ctx context.Context, log Logger, name string, news resource.PropertyMap, preview bool) (
		string, resource.PropertyMap, error)
	Update(ctx context.Context, log Logger, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error)
	Delete(ctx context.Context, log Logger, olds resource.PropertyMap) error
	// Read refreshes the state (`pulumi refresh`, `up --refresh`).
	Read(olds resource.PropertyMap) resource.PropertyMap
}

// Function is an invoke (a provider function such as command:local:run).
type Function func(ctx context.Context, log Logger, args resource.PropertyMap) (resource.PropertyMap, error)

// Logger writes a line to the engine's log (ephemeral status lines, as the real providers do
// with a command's output).
type Logger func(msg string)

// Provider is a stand-in provider: its name, the version it reports, its schema, its resources
// (by type token) and functions.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	Name      string
	Version   string
	Schema    string
	Resources map[string]Resource
	Functions map[string]Function

	host *provider.HostClient
}

// Main serves the provider to the engine (prints the port, as every plugin does).
func Main(p *Provider) {
	err := provider.Main(p.Name, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		p.host = host
		return p, nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}

func (p *Provider) logger(ctx context.Context, urn resource.URN) Logger {
	return func(msg string) {
		if p.host != nil {
			_ = p.host.LogStatus(ctx, diag.Info, urn, msg)
		}
	}
}

var unmarshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
var marshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}

func props(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, unmarshal)
}

func wire(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshal)
}

func (p *Provider) resource(urn string) (Resource, error) {
	token := string(resource.URN(urn).Type())
	r, ok := p.Resources[token]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument,
			"stand-in provider %s does not implement resource type %s", p.Name, token)
	}
	return r, nil
}

func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.Version}, nil
}

func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: p.Schema}, nil
}

// The stand-ins take no provider configuration.
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.News}, nil
}

func (p *Provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *Provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	r, err := p.resource(req.Urn)
	if err != nil {
		return nil, err
	}
	news, err := props(req.News)
	if err != nil {
		return nil, err
	}
	checked, err := r.Check(news)
	if err != nil {
		return &pulumirpc.CheckResponse{Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	out, err := wire(checked)
	return &pulumirpc.CheckResponse{Inputs: out}, err
}

func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	r, err := p.resource(req.Urn)
	if err != nil {
		return nil, err
	}
	olds, err := props(req.Olds)
	if err != nil {
		return nil, err
	}
	news, err := props(req.News)
	if err != nil {
		return nil, err
	}
	oldInputs := olds
	if req.OldInputs != nil {
		if oldInputs, err = props(req.OldInputs); err != nil {
			return nil, err
		}
	}
	d := r.Diff(oldInputs, olds, news)
	resp := &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_NONE, Diffs: d.Changed, Replaces: d.Replaces,
		HasDetailedDiff: true, DetailedDiff: map[string]*pulumirpc.PropertyDiff{},
	}
	if len(d.Changed) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	for _, k := range d.Changed {
		kind := pulumirpc.PropertyDiff_UPDATE
		for _, rk := range d.Replaces {
			if rk == k {
				kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
			}
		}
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return resp, nil
}

func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	r, err := p.resource(req.Urn)
	if err != nil {
		return nil, err
	}
	news, err := props(req.Properties)
	if err != nil {
		return nil, err
	}
	urn := resource.URN(req.Urn)
	id, state, err := r.Create(ctx, p.logger(ctx, urn), urn.Name(), news, req.Preview)
	if err != nil {
		return nil, err
	}
	out, err := wire(state)
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, err
}

func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	r, err := p.resource(req.Urn)
	if err != nil {
		return nil, err
	}
	olds, err := props(req.Olds)
	if err != nil {
		return nil, err
	}
	news, err := props(req.News)
	if err != nil {
		return nil, err
	}
	state, err := r.Update(ctx, p.logger(ctx, resource.URN(req.Urn)), olds, news, req.Preview)
	if err != nil {
		return nil, err
	}
	out, err := wire(state)
	return &pulumirpc.UpdateResponse{Properties: out}, err
}

func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	r, err := p.resource(req.Urn)
	if err != nil {
		return nil, err
	}
	olds, err := props(req.Properties)
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, r.Delete(ctx, p.logger(ctx, resource.URN(req.Urn)), olds)
}

func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	r, err := p.resource(req.Urn)
	if err != nil {
		return nil, err
	}
	olds, err := props(req.Properties)
	if err != nil {
		return nil, err
	}
	out, err := wire(r.Read(olds))
	return &pulumirpc.ReadResponse{Id: req.Id, Properties: out, Inputs: req.Inputs}, err
}

func (p *Provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	f, ok := p.Functions[req.Tok]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument,
			"stand-in provider %s does not implement function %s", p.Name, req.Tok)
	}
	args, err := props(req.Args)
	if err != nil {
		return nil, err
	}
	result, err := f(ctx, p.logger(ctx, ""), args)
	if err != nil {
		return nil, err
	}
	out, err := wire(result)
	return &pulumirpc.InvokeResponse{Return: out}, err
}

// ---- helpers for the resources ----

// Plain is a property without its secret wrapper (nil when absent or null).
func Plain(m resource.PropertyMap, key string) *resource.PropertyValue {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || v.IsNull() {
		return nil
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return &v
}

// String is a string property ("" when absent).
func String(m resource.PropertyMap, key string) string {
	if v := Plain(m, key); v != nil && v.IsString() {
		return v.StringValue()
	}
	return ""
}

// Int is a number property (def when absent).
func Int(m resource.PropertyMap, key string, def int64) int64 {
	if v := Plain(m, key); v != nil && v.IsNumber() {
		return int64(v.NumberValue())
	}
	return def
}

// Bool is a boolean property (false when absent).
func Bool(m resource.PropertyMap, key string) bool {
	if v := Plain(m, key); v != nil && v.IsBool() {
		return v.BoolValue()
	}
	return false
}

// Strings is a list-of-strings property.
func Strings(m resource.PropertyMap, key string) []string {
	v := Plain(m, key)
	if v == nil || !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		for e.IsSecret() {
			e = e.SecretValue().Element
		}
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// Unknown reports whether any input is not known yet (a preview with unknown inputs).
func Unknown(m resource.PropertyMap) bool {
	return m.ContainsUnknowns()
}

// Default sets key to value when the inputs leave it out.
func Default(m resource.PropertyMap, key string, value resource.PropertyValue) {
	if v, ok := m[resource.PropertyKey(key)]; !ok || v.IsNull() {
		m[resource.PropertyKey(key)] = value
	}
}

// ChangedInputs lists the input keys whose values differ between old and new inputs (secretness
// aside); an input not known yet counts as changed.
func ChangedInputs(oldInputs, news resource.PropertyMap, keys []string) []string {
	var changed []string
	for _, k := range keys {
		o, n := Plain(oldInputs, k), Plain(news, k)
		switch {
		case o == nil && n == nil:
		case o == nil || n == nil:
			changed = append(changed, k)
		case n.ContainsUnknowns() || !unwrap(*o).DeepEquals(unwrap(*n)):
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return changed
}

// unwrap removes secret wrappers at every depth, so a value compares equal to its secret form.
func unwrap(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return unwrap(v.SecretValue().Element)
	case v.IsArray():
		out := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			out[i] = unwrap(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = unwrap(e)
		}
		return resource.NewObjectProperty(out)
	}
	return v
}

// Keys returns the keys that are in `keys` and in the changed set and are replace keys.
func Intersect(changed, replaceKeys []string) []string {
	var out []string
	for _, c := range changed {
		for _, r := range replaceKeys {
			if c == r || strings.HasPrefix(c, r+".") || strings.HasPrefix(c, r+"[") {
				out = append(out, c)
			}
		}
	}
	return out
}

// Errorf is a provider error as the engine shows it.
func Errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}
