package main

import "cachemesh.e2e/standins/providers/standin"

// schema: command:local:Command and command:local:run with pulumi-command's property names.
func schema() string {
	s, b, a := standin.Prop{Type: "string"}, standin.Prop{Type: "boolean"}, standin.Prop{Type: "array"}
	base := map[string]standin.Prop{
		"addPreviousOutputInEnv": b, "dir": s, "environment": {Type: "map"}, "interpreter": a,
		"logging": {Ref: "#/types/command:local:Logging"}, "stdin": s,
	}
	resourceIn := map[string]standin.Prop{"create": s, "update": s, "delete": s, "triggers": {Type: "any-array"}}
	runIn := map[string]standin.Prop{"command": s}
	for k, v := range base {
		resourceIn[k], runIn[k] = v, v
	}
	out := map[string]standin.Prop{"stdout": s, "stderr": s}
	standin.Enums["command:local:Logging"] = []string{"stdout", "stderr", "stdoutAndStderr", "none"}
	return standin.Schema("command", Version, map[string]standin.ResourceSpec{
		"command:local:Command": {
			Inputs: resourceIn, Outputs: out, Required: []string{"stderr", "stdout"},
			ReplaceOnChanges: []string{"triggers"},
		},
	}, nil, map[string]standin.ResourceSpec{
		"command:local:run": {
			Inputs: runIn, Outputs: out, RequiredInputs: []string{"command"},
			Required: []string{"command", "stderr", "stdout"},
		},
	})
}
