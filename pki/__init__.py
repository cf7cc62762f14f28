"""Pure certificate code (no Pulumi, no settings): PEM as Go reads it, Go's chain verification, and
Linkerd's identity rules. Both settings/ (start-up validation) and components/ (outputs) use it;
it imports neither."""
