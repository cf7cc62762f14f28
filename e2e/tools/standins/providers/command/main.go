// STAND-IN for pulumi-resource-command (the Go module proxy does not serve
// github.com/pulumi/pulumi-command/provider). It implements what cachemesh uses
// (components/mtls_check.py, components/cache_rollout.py, components/existing_linkerd.py), ported
// from pulumi/pulumi-command@010bd8e0 (the v1.2.x line; provider/pkg/provider/local/*.go) and the
// pulumi-go-provider `infer` rules it runs under (v1.3.0, infer/resource.go):
//
//   - command:local:Command. Create runs `create` (nothing when unset), Update runs `update`, or
//     `create` when there is no `update`, Delete runs `delete` (commandController.go). A change of
//     `triggers` replaces the resource (ResourceInputs: provider:"replaceOnChanges"); a change of
//     any other input updates it. The id is the resource name with 8 random hex digits.
//   - command:local:run (an invoke): runs `command` every time it is called (runController.go).
//
// Both run the command as commandOutputs.go `run` does: `/bin/sh -c <command>` (or `interpreter`)
// in `dir` (default: the provider's working directory, the program's), with the process's
// environment plus `environment`, plus PULUMI_COMMAND_STDOUT/STDERR from the previous run unless
// `addPreviousOutputInEnv` is false; `stdin` on standard input. stdout and stderr become outputs
// with one trailing newline removed; lines are logged unless `logging` says otherwise. A non-zero
// exit fails with `<exit error>: running "<command>":\n<stdout and stderr>`.
//
// Outputs keep the secretness of the input of the same name and no other (infer's
// ensureDefaultSecrets), so a secret `environment` stays secret and stdout stays readable. In a
// preview, outputs that are not a copy of an input are unknown on create, and on update when any
// input changed (infer's markComputed with the default "every output depends on every input").
//
// Left out: assetPaths/archivePaths (refused), the remote:* resources.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"cachemesh.e2e/standins/providers/standin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Version is the pulumi-command version this stand-in answers for (set by the build).
var Version = "1.2.1"

var commandInputs = []string{
	"addPreviousOutputInEnv", "archivePaths", "assetPaths", "create", "delete", "dir", "environment",
	"interpreter", "logging", "stdin", "triggers", "update",
}

func main() {
	standin.Main(&standin.Provider{
		Name:      "command",
		Version:   Version,
		Schema:    schema(),
		Resources: map[string]standin.Resource{"command:local:Command": localCommand{}},
		Functions: map[string]standin.Function{"command:local:run": localRun},
	})
}

type localCommand struct{}

func (localCommand) Check(news resource.PropertyMap) (resource.PropertyMap, error) {
	for _, k := range []string{"assetPaths", "archivePaths"} {
		if standin.Plain(news, k) != nil {
			return nil, fmt.Errorf("stand-in pulumi-resource-command: %s is not implemented", k)
		}
	}
	out := news.Copy()
	delete(out, "version") // the engine's, not an input (infer's diff drops it too)
	return out, nil
}

func (localCommand) Diff(oldInputs, _, news resource.PropertyMap) standin.Diff {
	changed := standin.ChangedInputs(oldInputs, news, commandInputs)
	return standin.Diff{Changed: changed, Replaces: standin.Intersect(changed, []string{"triggers"})}
}

// outputs: the inputs, plus stdout and stderr (unknown in a preview where infer marks them so).
func outputs(news resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	state := news.Copy()
	state["stdout"], state["stderr"] = stdout, stderr
	return state
}

func unknown() resource.PropertyValue { return resource.MakeComputed(resource.NewStringProperty("")) }

func (localCommand) Create(ctx context.Context, log standin.Logger, name string, news resource.PropertyMap, preview bool) (
	string, resource.PropertyMap, error,
) {
	id, err := resource.NewUniqueHex(name, 8, 0)
	if err != nil {
		return "", nil, err
	}
	if preview {
		return id, outputs(news, unknown(), unknown()), nil
	}
	stdout, stderr := "", ""
	if create := standin.Plain(news, "create"); create != nil {
		if stdout, stderr, err = run(ctx, log, create.StringValue(), news, "", ""); err != nil {
			return "", nil, err
		}
	}
	return id, outputs(news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)), nil
}

func (localCommand) Update(ctx context.Context, log standin.Logger, olds, news resource.PropertyMap, preview bool) (
	resource.PropertyMap, error,
) {
	oldOut, oldErr := standin.String(olds, "stdout"), standin.String(olds, "stderr")
	if preview {
		if len(standin.ChangedInputs(olds, news, commandInputs)) > 0 {
			return outputs(news, unknown(), unknown()), nil
		}
		return outputs(news, resource.NewStringProperty(oldOut), resource.NewStringProperty(oldErr)), nil
	}
	cmd := standin.Plain(news, "update")
	if cmd == nil {
		cmd = standin.Plain(news, "create")
	}
	if cmd == nil {
		return outputs(news, resource.NewStringProperty(oldOut), resource.NewStringProperty(oldErr)), nil
	}
	stdout, stderr, err := run(ctx, log, cmd.StringValue(), news, oldOut, oldErr)
	if err != nil {
		return nil, err
	}
	return outputs(news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)), nil
}

func (localCommand) Delete(ctx context.Context, log standin.Logger, olds resource.PropertyMap) error {
	del := standin.Plain(olds, "delete")
	if del == nil {
		return nil
	}
	_, _, err := run(ctx, log, del.StringValue(), olds, standin.String(olds, "stdout"), standin.String(olds, "stderr"))
	return err
}

func (localCommand) Read(olds resource.PropertyMap) resource.PropertyMap { return olds }

// localRun is command:local:run: the command runs at every call, preview included.
func localRun(ctx context.Context, log standin.Logger, args resource.PropertyMap) (resource.PropertyMap, error) {
	for _, k := range []string{"assetPaths", "archivePaths"} {
		if standin.Plain(args, k) != nil {
			return nil, fmt.Errorf("stand-in pulumi-resource-command: %s is not implemented", k)
		}
	}
	stdout, stderr, err := run(ctx, log, standin.String(args, "command"), args, "", "")
	if err != nil {
		return nil, err
	}
	return outputs(args, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)), nil
}

// lockedWriter serialises the writes of stdout and stderr into one buffer (util.ConcurrentWriter).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// lineLogger sends whole lines to the engine's log.
type lineLogger struct {
	log standin.Logger
	buf []byte
	mu  sync.Mutex
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.log(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) flush() {
	if len(l.buf) > 0 {
		l.log(string(l.buf))
	}
}

// run is commandOutputs.go `run`.
func run(ctx context.Context, log standin.Logger, command string, in resource.PropertyMap, prevOut, prevErr string) (
	string, string, error,
) {
	args := standin.Strings(in, "interpreter")
	if len(args) == 0 {
		args = []string{"/bin/sh", "-c"}
	}
	args = append(args, command)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)

	var stdout, stderr, both bytes.Buffer // both: for the error message only
	bothW := &lockedWriter{w: &both}
	logs := &lineLogger{log: log}
	logging := standin.String(in, "logging")
	outW, errW := []io.Writer{&stdout, bothW}, []io.Writer{&stderr, bothW}
	if logging == "" || logging == "stdout" || logging == "stdoutAndStderr" {
		outW = append(outW, logs)
	}
	if logging == "" || logging == "stderr" || logging == "stdoutAndStderr" {
		errW = append(errW, logs)
	}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(outW...), io.MultiWriter(errW...)

	if dir := standin.String(in, "dir"); dir != "" {
		cmd.Dir = dir
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return "", "", err
		}
		cmd.Dir = wd
	}
	cmd.Env = os.Environ()
	if env := standin.Plain(in, "environment"); env != nil && env.IsObject() {
		for k := range env.ObjectValue() {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", k, standin.String(env.ObjectValue(), string(k))))
		}
	}
	addPrevious := standin.Plain(in, "addPreviousOutputInEnv")
	if addPrevious == nil || !addPrevious.IsBool() || addPrevious.BoolValue() {
		if prevOut != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+prevOut)
		}
		if prevErr != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDERR="+prevErr)
		}
	}
	if stdin := standin.String(in, "stdin"); stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	logs.flush()
	if err != nil {
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, command, both.String())
	}
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}
