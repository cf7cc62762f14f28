// STAND-IN for pulumi-language-python, the Python language host of the Pulumi CLI.
//
// Why a stand-in: the Go module proxy refuses the real host's module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, an untagged module); see
// docs/how-it-works/real-engine-tools.md. This program does what the real host does for the calls
// `pulumi up | preview | destroy` and `--policy-pack` make, ported from the real host's source:
// pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go at commit 1b5949891b (sdk/.version
// 3.260.0, the development line released as v3.260.0). Function names below follow that file.
// It reuses the same sdk/v3 packages as the real host (python/toolchain for the venv and pip,
// rpcutil for the gRPC plumbing, sdk.PolicyProxy for policy packs), so the venv handling, the
// typechecker run and the policy-pack start-up are the real code paths; what this file adds is
// the glue.
//
// The program itself runs under the REAL `pulumi-language-python-exec` script, which the build
// copies beside this binary from the sdk/v3 module zip (python/cmd/pulumi-language-python-exec).
//
// Left out (answered Unimplemented, or refused with a message): the debugger (attachDebugger),
// OpenTelemetry spans, code generation (GenerateProgram/Project/Package, Pack, Link, Template,
// RuntimeOptionsPrompts: `pulumi convert`, `pulumi new`, `pulumi package`), and Python plugins
// that are buildable packages (`python -m pulumi.run.plugin`); a policy pack and a plugin
// directory with a `__main__.py` run as in the real host.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/contract"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// The exec shim, installed next to the language host (main.go: pythonDefaultExec).
	pythonDefaultExec = "pulumi-language-python-exec"
	// The Python SDK reads the stack's config and its secret keys from these variables.
	pulumiConfigVar           = "PULUMI_CONFIG"
	pulumiConfigSecretKeysVar = "PULUMI_CONFIG_SECRET_KEYS"
	// The exit code with which pulumi-language-python-exec says it already showed the user a
	// message: the host reports no further error, only "bail".
	pythonProcessExitedAfterShowingUserActionableMessage = 32
)

func main() {
	var tracing string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	showVersion := flag.Bool("version", false, "Print the current plugin version and exit")
	var givenExecutor string
	flag.StringVar(&givenExecutor, "use-executor", "", "Use the given program as the executor")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		os.Exit(0)
	}
	logging.InitLogging(false, 0, false)

	pythonExec := givenExecutor
	if pythonExec == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine current executable: %w", err))
		}
		pythonExec = filepath.Join(filepath.Dir(self), pythonDefaultExec)
		if _, err := os.Stat(pythonExec); err != nil {
			cmdutil.Exit(fmt.Errorf("missing executor %s: %w", pythonExec, err))
		}
	}

	// The engine's address is the first argument (or comes later through Handshake).
	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		cancel()
		close(cancelChannel)
	}()
	if engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, newLanguageHost(pythonExec, engineAddress, tracing))
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The CLI reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

type pythonLanguageHost struct {
	// Every method not written below answers codes.Unimplemented.
	pulumirpc.UnimplementedLanguageRuntimeServer

	exec          string
	engineAddress string
	tracing       string
	cancelCtx     context.Context // cancelled by the Cancel RPC
	cancelFunc    context.CancelFunc
}

func newLanguageHost(exec, engineAddress, tracing string) *pythonLanguageHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &pythonLanguageHost{
		exec: exec, engineAddress: engineAddress, tracing: tracing, cancelCtx: ctx, cancelFunc: cancel,
	}
}

// parseOptions reads Pulumi.yaml's runtime.options (virtualenv, typechecker, toolchain) as the
// real host does; a plugin (not a policy pack) defaults to a `venv` virtualenv.
func parseOptions(root, programDir string, options map[string]any, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: root, ProgramDir: programDir}
	if v, ok := options["virtualenv"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("virtualenv option must be a string")
		}
		opts.Virtualenv = s
	}
	if v, ok := options["typechecker"]; ok {
		switch v {
		case "mypy":
			opts.Typechecker = toolchain.TypeCheckerMypy
		case "pyright":
			opts.Typechecker = toolchain.TypeCheckerPyright
		default:
			return opts, fmt.Errorf("unsupported typechecker option: %v", v)
		}
	}
	if v, ok := options["toolchain"]; ok {
		switch v {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		case "uv":
			opts.Toolchain = toolchain.Uv
		default:
			return opts, fmt.Errorf("unsupported toolchain option: %v", v)
		}
	}
	if isPlugin && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}

func (host *pythonLanguageHost) connectToEngine() (pulumirpc.EngineClient, io.Closer, error) {
	if host.engineAddress == "" {
		return nil, nil, errors.New("when debugging or running explicitly, must call Handshake before Run")
	}
	conn, err := grpc.NewClient(host.engineAddress,
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		return nil, nil, fmt.Errorf("language host could not make connection to engine: %w", err)
	}
	return pulumirpc.NewEngineClient(conn), conn, nil
}

// Handshake: the engine passes its address when it did not give it on the command line.
func (host *pythonLanguageHost) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	host.engineAddress = req.EngineAddress
	hctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(hctx, host.engineAddress, 5*time.Minute, cancel); err != nil {
		return nil, fmt.Errorf("could not start health check host RPC server: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (host *pythonLanguageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (host *pythonLanguageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	host.cancelFunc()
	return &emptypb.Empty{}, nil
}

// engineLog writes install output to the engine as ephemeral log lines (createEngineWriters).
type engineLog struct {
	ctx      context.Context
	client   pulumirpc.EngineClient
	streamID int32
	severity pulumirpc.LogSeverity
}

func (w *engineLog) Write(p []byte) (int, error) {
	_, err := w.client.Log(w.ctx, &pulumirpc.LogRequest{
		Message: strings.ToValidUTF8(string(p), "\uFFFD"), Ephemeral: true,
		StreamId: w.streamID, Severity: w.severity,
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// GetRequiredPackages: the venv is made if missing, then every installed distribution with a
// pulumi-plugin.json (or named pulumi-*) is a package whose plugin the engine needs.
func (host *pythonLanguageHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	opts, err := parseOptions(req.Info.RootDirectory, req.Info.ProgramDirectory, req.Info.Options.AsMap(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	client, closer, err := host.connectToEngine()
	if err != nil {
		return nil, err
	}
	defer contract.IgnoreClose(closer)
	id := rand.Int31() //nolint:gosec // a log stream id, not a secret
	info := &engineLog{ctx, client, id, pulumirpc.LogSeverity_INFO}
	errw := &engineLog{ctx, client, id, pulumirpc.LogSeverity_ERROR}
	if err := tc.EnsureVenv(ctx, req.Info.ProgramDirectory, false, true, info, errw); err != nil {
		return nil, err
	}
	packages, err := tc.ListPackages(ctx, true)
	if err != nil {
		return nil, err
	}
	pluginJSON, err := pluginJSONPaths(ctx, tc, packages)
	if err != nil {
		return nil, err
	}
	var deps []*pulumirpc.PackageDependency
	for _, pkg := range packages {
		if pkg.Name == "pulumi-policy" || pkg.Name == "pulumi-esc-sdk" { // no plugin (packagesWithoutPlugins)
			continue
		}
		var meta *plugin.PulumiPluginJSON
		if path := pluginJSON[pkg.Name]; path != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			meta = &plugin.PulumiPluginJSON{}
			if err := json.Unmarshal(data, meta); err != nil {
				return nil, fmt.Errorf("failed to parse pulumi-plugin.json for %s: %w", pkg.Name, err)
			}
		}
		if meta == nil && !strings.HasPrefix(pkg.Name, "pulumi-") {
			continue
		}
		if dep := packageDependency(pkg, meta); dep != nil {
			deps = append(deps, dep)
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// The real host's pulumiPluginJSONPathsScript: each distribution's pulumi-plugin.json, or "".
const pluginJSONPathsScript = `import importlib.metadata, importlib.util, os, sys, json
result = {}
for pkg_name in sys.argv[1:]:
	try:
		dist = importlib.metadata.distribution(pkg_name)
		module = dist.metadata['Name'].replace('-', '_')
		spec = importlib.util.find_spec(module)
		locs = list(spec.submodule_search_locations or []) if spec else []
		found = [p for l in locs for p in [os.path.join(str(l), 'pulumi-plugin.json')] if os.path.isfile(p)]
		result[pkg_name] = found[0] if found else ''
	except Exception:
		result[pkg_name] = ''
print(json.dumps(result))`

func pluginJSONPaths(ctx context.Context, tc toolchain.Toolchain, pkgs []plugin.DependencyInfo) (map[string]string, error) {
	paths := map[string]string{}
	if len(pkgs) == 0 {
		return paths, nil
	}
	args := []string{"-c", pluginJSONPathsScript}
	for _, pkg := range pkgs {
		args = append(args, pkg.Name)
	}
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return paths, nil // as the real host: no paths, packages fall back to their names
	}
	out, err := cmd.Output()
	if err != nil {
		return paths, nil
	}
	if err := json.Unmarshal(out, &paths); err != nil {
		return nil, fmt.Errorf("failed to parse pulumi-plugin.json paths: %w", err)
	}
	return paths, nil
}

// packageDependency (packageDependencyFromPluginJSON): name and version from pulumi-plugin.json,
// else from the distribution ("pulumi-tls" 5.6.2 -> plugin "tls" v5.6.2).
func packageDependency(pkg plugin.DependencyInfo, meta *plugin.PulumiPluginJSON) *pulumirpc.PackageDependency {
	var name, ver, server string
	var param *pulumirpc.PackageParameterization
	if meta != nil {
		if !meta.Resource {
			return nil
		}
		name, ver, server = meta.Name, meta.Version, meta.Server
		if p := meta.Parameterization; p != nil {
			param = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
		}
	}
	if name == "" {
		name = strings.TrimPrefix(pkg.Name, "pulumi-")
	}
	if ver == "" {
		v, ok := pluginVersion(pkg.Version)
		if !ok {
			return nil // the real host skips a version it cannot translate
		}
		ver = v
	}
	if !strings.HasPrefix(ver, "v") {
		ver = "v" + ver
	}
	return &pulumirpc.PackageDependency{
		Name: name, Version: ver, Kind: "resource", Server: server, Parameterization: param,
	}
}

// pluginVersion: a PEP 440 release (N(.N)*, optionally aN/bN/rcN) as a semver, 3 segments at
// least. The real determinePluginVersion also translates .postN/.devN; those are skipped here.
func pluginVersion(v string) (string, bool) {
	pre := ""
	for _, tag := range []struct{ py, sem string }{{"rc", "-rc."}, {"a", "-alpha."}, {"b", "-beta."}} {
		if i := strings.Index(v, tag.py); i > 0 {
			if _, err := strconv.Atoi(v[i+len(tag.py):]); err != nil {
				return "", false
			}
			pre, v = tag.sem+v[i+len(tag.py):], v[:i]
			break
		}
	}
	segments := strings.Split(v, ".")
	for _, s := range segments {
		if _, err := strconv.Atoi(s); err != nil {
			return "", false
		}
	}
	for len(segments) < 3 {
		segments = append(segments, "0")
	}
	return strings.Join(segments, ".") + pre, true
}

// InstallDependencies: `pulumi install` and the CLI's venv creation, through the toolchain.
func (host *pythonLanguageHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	opts, err := parseOptions(req.Info.RootDirectory, req.Info.ProgramDirectory, req.Info.Options.AsMap(), req.IsPlugin)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.IsTerminal)
	if err != nil {
		return err
	}
	defer closer.Close()
	fmt.Fprint(stdout, "Installing dependencies...\n\n")
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	if err := tc.InstallDependencies(server.Context(), req.Info.ProgramDirectory, req.UseLanguageVersionTools,
		true, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprint(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// About: `pulumi about` shows the Python executable and version.
func (host *pythonLanguageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts := toolchain.PythonOptions{Toolchain: toolchain.Pip}
	if req != nil && req.Info != nil {
		var err error
		if opts, err = parseOptions(req.Info.RootDirectory, req.Info.ProgramDirectory, req.Info.Options.AsMap(), false); err != nil {
			return nil, err
		}
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable, Version: info.PythonVersion.String(),
		Metadata: map[string]string{
			"toolchain": toolchain.Name(opts.Toolchain), "toolchainVersion": info.ToolchainVersion.String(),
			"typechecker": toolchain.TypeCheckerName(opts.Typechecker),
		},
	}, nil
}

func (host *pythonLanguageHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := parseOptions(req.Info.RootDirectory, req.Info.ProgramDirectory, req.Info.Options.AsMap(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.TransitiveDependencies)
	if err != nil {
		return nil, fmt.Errorf("failed to get python dependencies: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, len(pkgs))
	for i, p := range pkgs {
		deps[i] = &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// Run executes the program: the typechecker first when Pulumi.yaml names one, then
// `python pulumi-language-python-exec --monitor … <entry point>` in the toolchain's venv with
// the stack's config in PULUMI_CONFIG.
func (host *pythonLanguageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	_, closer, err := host.connectToEngine()
	if err != nil {
		return nil, err
	}
	defer contract.IgnoreClose(closer)
	opts, err := parseOptions(req.Info.RootDirectory, req.Info.ProgramDirectory, req.Info.Options.AsMap(), false)
	if err != nil {
		return nil, err
	}
	args := append([]string{host.exec}, host.constructArguments(req)...)
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
	}

	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	if err := runTypechecker(ctx, tc, opts, req.Info.ProgramDirectory); err != nil {
		return nil, err
	}

	// Cancelled by the Cancel RPC or when the request ends.
	runCtx, runCancel := context.WithCancel(host.cancelCtx)
	defer runCancel()
	context.AfterFunc(ctx, runCancel)
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	if req.GetConfig() != nil {
		env = append(env, pulumiConfigVar+"="+string(config))
	}
	cmd.Env = append(env, pulumiConfigSecretKeysVar+"="+string(secretKeysJSON))

	if err := cmd.Run(); err != nil {
		// Flush what the program printed before it died, so the CLI shows it.
		contract.IgnoreError(os.Stdout.Sync())
		contract.IgnoreError(os.Stderr.Sync())
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("problem executing program (could not run language executor): %v", err),
			}, nil
		}
		switch code := exitErr.ExitCode(); code {
		case pythonProcessExitedAfterShowingUserActionableMessage:
			return &pulumirpc.RunResponse{Bail: true}, nil
		case -1, 0:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited unexpectedly: %v", exitErr)}, nil
		default:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", code)}, nil
		}
	}
	return &pulumirpc.RunResponse{}, nil
}

// runTypechecker: `python -m mypy --exclude <venv> <program dir>` (or pyright) before the
// program; its failure stops the run with its output.
func runTypechecker(ctx context.Context, tc toolchain.Toolchain, opts toolchain.PythonOptions, programDir string) error {
	var name string
	switch opts.Typechecker {
	case toolchain.TypeCheckerMypy:
		name = "mypy"
	case toolchain.TypeCheckerPyright:
		name = "pyright"
	default:
		return nil
	}
	args := []string{"-m", name}
	if name == "mypy" {
		venv, err := tc.VirtualEnvPath(ctx)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(programDir, venv)
		if err != nil {
			return err
		}
		args = append(args, "--exclude", rel)
	}
	args = append(args, programDir)
	packages, err := tc.ListPackages(ctx, true)
	if err != nil {
		return err
	}
	installed := false
	for _, p := range packages {
		installed = installed || p.Name == name
	}
	if !installed {
		return fmt.Errorf("The typechecker option is set to %s, but %s is not installed. "+
			"Please add an entry for %s to requirements.txt and run `%s/bin/pip install -r requirements.txt`",
			name, name, name, opts.Virtualenv)
	}
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	var out strings.Builder
	cmd.Stdout = io.MultiWriter(os.Stdout, &out)
	cmd.Stderr = io.MultiWriter(os.Stderr, &out)
	cmd.Dir = programDir
	if err := cmd.Run(); err != nil {
		if out.Len() > 0 {
			return fmt.Errorf("%s failed: %w\n%s", name, err, out.String())
		}
		return fmt.Errorf("%s failed: %w", name, err)
	}
	return nil
}

// constructArguments: the exec script's command line.
func (host *pythonLanguageHost) constructArguments(req *pulumirpc.RunRequest) []string {
	var args []string
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", host.engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().RootDirectory)
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", host.tracing)
	add("organization", req.GetOrganization())
	args = append(args, req.Info.EntryPoint)
	return append(args, req.GetArgs()...)
}

// RunPlugin runs a Python plugin. A policy pack (kind analyzer) runs as
// `python -u -m pulumi.policy <engine address> <pack dir>` in the pack's directory, with the
// stack's name and config in its environment; those are read through sdk.PolicyProxy, which
// answers the engine's ConfigureStack and then forwards everything to the real pack. A plugin
// directory with a __main__.py runs as `python <dir> <args>`.
func (host *pythonLanguageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	ctx := server.Context()
	isAnalyzer := req.Kind == string(apitype.AnalyzerPlugin)
	opts, err := parseOptions(req.Info.RootDirectory, req.Info.ProgramDirectory, req.Info.Options.AsMap(), !isAnalyzer)
	if err != nil {
		return err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	var args []string
	if isAnalyzer {
		args = append(append([]string{"-u", "-m", "pulumi.policy"}, req.Args...), req.Info.ProgramDirectory)
	} else {
		if _, err := os.Stat(filepath.Join(opts.Root, "__main__.py")); err != nil {
			return fmt.Errorf("stand-in language host: plugin %s has no __main__.py "+
				"(buildable-package plugins are not supported by the stand-in)", opts.Root)
		}
		args = append([]string{req.Info.ProgramDirectory}, req.Args...)
	}
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	var proxy *sdk.PolicyProxy
	if isAnalyzer {
		// Policy packs run in their own directory (back compatibility in the real host).
		cmd.Dir = req.Info.ProgramDirectory
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		config, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if config != nil {
			add := func(k, v string) {
				if v != "" {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			add("PULUMI_ORGANIZATION", config.Organization)
			add("PULUMI_PROJECT", config.Project)
			add("PULUMI_STACK", config.Stack)
			add("PULUMI_DRY_RUN", strconv.FormatBool(config.DryRun))
			if config.Config != nil {
				data, err := json.Marshal(config.Config)
				if err != nil {
					return fmt.Errorf("could not marshal stack configuration: %w", err)
				}
				add("PULUMI_CONFIG", string(data))
			}
		}
	} else {
		cmd.Dir = req.Pwd
	}
	cmd.Env = append(cmd.Env, req.Env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	run := func() error {
		if err := cmd.Start(); err != nil {
			return err
		}
		if proxy != nil {
			// The proxy waits for the pack's port on stdout and for the process to end.
			if err := proxy.Attach(ctx, cmd); err != nil {
				return fmt.Errorf("could not attach policy pack proxy: %w", err)
			}
			return nil
		}
		return cmd.Wait()
	}
	if err := run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if status, ok := exitErr.Sys().(syscall.WaitStatus); ok {
				return server.Send(&pulumirpc.RunPluginResponse{
					Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(status.ExitStatus())},
				})
			}
			return fmt.Errorf("program exited unexpectedly: %w", exitErr)
		}
		return fmt.Errorf("problem executing plugin program (could not run language executor): %w", err)
	}
	return closer.Close()
}
