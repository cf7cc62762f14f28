package standin

import "encoding/json"

// Prop is a schema property: "string", "integer", "boolean", "array" of strings, or a "$ref".
type Prop struct {
	Type   string
	Ref    string
	Secret bool
}

func (p Prop) spec() map[string]any {
	out := map[string]any{}
	switch {
	case p.Ref != "":
		out["$ref"] = p.Ref
	case p.Type == "array":
		out["type"], out["items"] = "array", map[string]any{"type": "string"}
	case p.Type == "any-array":
		out["type"], out["items"] = "array", map[string]any{"$ref": "pulumi.json#/Any"}
	case p.Type == "map":
		out["type"], out["additionalProperties"] = "object", map[string]any{"type": "string"}
	default:
		out["type"] = p.Type
	}
	if p.Secret {
		out["secret"] = true
	}
	return out
}

func specs(props map[string]Prop) map[string]any {
	out := map[string]any{}
	for k, p := range props {
		out[k] = p.spec()
	}
	return out
}

// Enums are the string enum types of the schema (token → values).
var Enums = map[string][]string{}

// ResourceSpec is one resource of a schema: its inputs, its outputs (inputs included) and which
// of them are required.
type ResourceSpec struct {
	Inputs, Outputs          map[string]Prop
	RequiredInputs, Required []string
	ReplaceOnChanges         []string
}

// Schema is a minimal Pulumi package schema naming the resources, types and functions a stand-in
// implements (what the CLI reads with GetSchema; the SDKs are the published ones).
func Schema(name, version string, resources map[string]ResourceSpec, types map[string]map[string]Prop,
	functions map[string]ResourceSpec,
) string {
	res := map[string]any{}
	for tok, r := range resources {
		outputs := map[string]Prop{}
		for k, p := range r.Inputs {
			outputs[k] = p
		}
		for k, p := range r.Outputs {
			outputs[k] = p
		}
		inputs := specs(r.Inputs)
		for _, k := range r.ReplaceOnChanges {
			inputs[k].(map[string]any)["replaceOnChanges"] = true
		}
		res[tok] = map[string]any{
			"inputProperties": inputs, "requiredInputs": nonNil(r.RequiredInputs),
			"properties": specs(outputs), "required": nonNil(r.Required),
		}
	}
	typs := map[string]any{}
	for tok, props := range types {
		typs[tok] = map[string]any{"type": "object", "properties": specs(props)}
	}
	for tok, values := range Enums {
		var enum []map[string]any
		for _, v := range values {
			enum = append(enum, map[string]any{"name": v, "value": v})
		}
		typs[tok] = map[string]any{"type": "string", "enum": enum}
	}
	fns := map[string]any{}
	for tok, f := range functions {
		outputs := map[string]Prop{}
		for k, p := range f.Inputs {
			outputs[k] = p
		}
		for k, p := range f.Outputs {
			outputs[k] = p
		}
		fns[tok] = map[string]any{
			"inputs":  map[string]any{"properties": specs(f.Inputs), "required": nonNil(f.RequiredInputs)},
			"outputs": map[string]any{"properties": specs(outputs), "required": nonNil(f.Required)},
		}
	}
	data, err := json.Marshal(map[string]any{
		"name": name, "version": version, "description": "STAND-IN provider (cachemesh e2e tools)",
		"resources": res, "types": typs, "functions": fns,
	})
	if err != nil {
		panic(err)
	}
	return string(data)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
