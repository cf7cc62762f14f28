// Wrapper for pulumi-resource-kubernetes (cachemesh e2e tools, built by ../build.sh).
//
// The provider's own main (github.com/pulumi/pulumi-kubernetes/provider/v4,
// cmd/pulumi-resource-kubernetes/main.go) embeds schema-embed.json and
// terraform-mapping-embed.json, which `go generate` (generate.go there) makes from the module's
// schema.json and terraform-mapping.json and which the module zip therefore lacks; so neither
// `go install` nor a dependency build of that package works. This main does what the two do
// together: it reads the schema.json and terraform-mapping.json of the same module version
// (build.sh copies them beside the binary), sets the schema's version as generate.go does, and
// calls provider.Serve exactly as the real main does.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

var providerName = "kubernetes"

func main() {
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	dir := filepath.Dir(self)

	// generate.go: the schema with packageSpec.Version set to the provider's version.
	raw, err := os.ReadFile(filepath.Join(dir, "schema.json"))
	if err != nil {
		fail(err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		fail(fmt.Errorf("cannot deserialize schema: %w", err))
	}
	spec.Version = version.Version
	pulumiSchema, err := json.Marshal(spec)
	if err != nil {
		fail(fmt.Errorf("cannot reserialize schema: %w", err))
	}

	// generate.go: the terraform mapping, re-serialized compactly.
	mapping, err := os.ReadFile(filepath.Join(dir, "terraform-mapping.json"))
	if err != nil {
		fail(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, mapping); err != nil {
		fail(fmt.Errorf("cannot deserialize terraform mapping: %w", err))
	}

	provider.Serve(providerName, version.Version, pulumiSchema, compact.Bytes())
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-resource-kubernetes: %v\n", err)
	os.Exit(1)
}
