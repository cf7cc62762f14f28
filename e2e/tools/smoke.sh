#!/usr/bin/env bash
# Smoke proof of the built e2e tools (`make e2e-tools` first): a tiny Pulumi Python program, run
# by the real pulumi CLI through the stand-in language host and the stand-in tls and command
# providers, on a local file backend in a temporary directory, offline:
#   1. `pulumi up`: a tls PrivateKey (ECDSA P256) + SelfSignedCert, and a command.local.Command
#      that reads the certificate's subject with openssl (checked in the stack output);
#   2. `pulumi preview --expect-no-changes`;
#   3. a changed trigger replaces the command (its `delete` runs for the old one); a command that
#      exits non-zero fails the update with its stderr in the error;
#   4. `pulumi preview --policy-pack`: a Python policy pack whose mandatory rule refuses RSA keys
#      passes, then refuses the same program asked for an RSA key, with the pack's message;
#   5. `pulumi destroy`: the command's `delete` runs, the stack is empty.
# Usage: e2e/tools/smoke.sh [VENV]  (VENV: a virtualenv with requirements.txt and pulumi-policy;
# default: the repository's .venv). Exits non-zero at the first step that does not behave.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$(cd "${1:-$ROOT/.venv}" && pwd)"
for module in pulumi pulumi_tls pulumi_command pulumi_policy; do
  "$VENV/bin/python" -c "import $module" 2>/dev/null ||
    { echo "smoke: $VENV has no $module (pip install -r requirements-dev.txt)" >&2; exit 2; }
done
missing="$(python3 "$HERE/manifest.py" missing | grep -E '^pulumi' || true)"
if [[ -n "$missing" ]]; then
  echo "smoke: tools not built: $missing (run make e2e-tools)" >&2
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cachemesh-tools-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
TOOL_PATH="$(python3 "$HERE/manifest.py" path)"
export PATH="$TOOL_PATH:$PATH"
export PULUMI_HOME="$WORK/home" PULUMI_BACKEND_URL="file://$WORK/state"
export PULUMI_CONFIG_PASSPHRASE=smoke PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$WORK/state" "$WORK/program" "$WORK/policy"

cat >"$WORK/program/Pulumi.yaml" <<EOF
name: tools-smoke
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: $VENV
EOF
cat >"$WORK/program/__main__.py" <<'EOF'
import pulumi
import pulumi_command as command
import pulumi_tls as tls

config = pulumi.Config()
algorithm = config.get("algorithm") or "ECDSA"
key = tls.PrivateKey("key", algorithm=algorithm, ecdsa_curve="P256")
cert = tls.SelfSignedCert(
    "cert",
    private_key_pem=key.private_key_pem,
    validity_period_hours=24,
    is_ca_certificate=True,
    allowed_uses=["cert_signing", "crl_signing"],
    subject=tls.SelfSignedCertSubjectArgs(common_name="cachemesh smoke"),
)
subject = command.local.Command(
    "subject",
    create='printf "%s" "$CERT" | openssl x509 -noout -subject',
    delete="echo deleted >> \"$MARK\"",
    environment={"CERT": cert.cert_pem, "MARK": "deleted.txt"},
    triggers=[cert.id, config.get("trigger") or "1"],
)
if config.get_bool("fail"):
    command.local.Command("failing", create="echo 'smoke: failing on purpose' >&2; exit 3")
pulumi.export("subject", subject.stdout)
pulumi.export("certificate_end", cert.validity_end_time)
EOF
cat >"$WORK/policy/PulumiPolicy.yaml" <<EOF
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: $VENV
EOF
cat >"$WORK/policy/__main__.py" <<'EOF'
from pulumi_policy import EnforcementLevel, PolicyPack, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy


def no_rsa(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == "tls:index/privateKey:PrivateKey" and args.props.get("algorithm") == "RSA":
        report_violation("smoke pack: RSA keys are refused, use ECDSA")


PolicyPack(
    name="smoke-pack",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[ResourceValidationPolicy(name="no-rsa", description="No RSA keys.", validate=no_rsa)],
)
EOF

cd "$WORK/program"
step() { echo; echo "=== smoke: $*"; }
step "pulumi $(pulumi version) / tools from $(dirname "$(command -v pulumi)")/.."
pulumi stack init smoke --non-interactive

step "pulumi up"
pulumi up --yes --non-interactive
got="$(pulumi stack output subject)"
[[ "$got" == *"CN"*"cachemesh smoke"* ]] || { echo "smoke: subject output was '$got'" >&2; exit 1; }
echo "stack output subject: $got"

step "pulumi preview --expect-no-changes"
pulumi preview --expect-no-changes --non-interactive

step "pulumi up after a trigger change (replaces the command)"
pulumi config set trigger 2
pulumi up --yes --non-interactive | tee "$WORK/replace.log"
grep -Eq "command:local:Command +subject +replaced" "$WORK/replace.log" ||
  { echo "smoke: the trigger change did not replace the command" >&2; exit 1; }
[[ "$(grep -cx deleted deleted.txt)" == 1 ]] || { echo "smoke: the old command's delete did not run" >&2; exit 1; }

step "pulumi up with a command that exits 3 (fails, with its stderr)"
pulumi config set fail true
if pulumi up --yes --non-interactive >"$WORK/failed.log" 2>&1; then
  cat "$WORK/failed.log"
  echo "smoke: a failing command did not fail the update" >&2
  exit 1
fi
if ! grep -q "smoke: failing on purpose" "$WORK/failed.log" || ! grep -q "exit status 3" "$WORK/failed.log"; then
  cat "$WORK/failed.log"
  echo "smoke: the failure does not show the command's stderr and status" >&2
  exit 1
fi
grep -E "error:|failing on purpose|exit status" "$WORK/failed.log" | sort -u
pulumi config rm fail

step "pulumi preview --policy-pack (passes)"
pulumi preview --policy-pack "$WORK/policy" --non-interactive

step "pulumi preview --policy-pack with an RSA key (refused)"
pulumi config set algorithm RSA
if pulumi preview --policy-pack "$WORK/policy" --non-interactive >"$WORK/refused.log" 2>&1; then
  cat "$WORK/refused.log"
  echo "smoke: the policy pack did not refuse an RSA key" >&2
  exit 1
fi
grep -q "RSA keys are refused" "$WORK/refused.log" || { cat "$WORK/refused.log"; exit 1; }
grep -E "mandatory|no-rsa|RSA keys" "$WORK/refused.log"
pulumi config rm algorithm

step "pulumi destroy"
pulumi destroy --yes --non-interactive
[[ "$(grep -cx deleted deleted.txt)" == 2 ]] || { echo "smoke: the command's delete did not run" >&2; exit 1; }
left="$(pulumi stack export | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["deployment"].get("resources") or []))')"
[[ "$left" == 0 ]] || { echo "smoke: $left resources left after destroy" >&2; exit 1; }
echo
echo "smoke: OK (up, no-change preview, trigger replace, command failure, policy pack pass and refusal, destroy)"
