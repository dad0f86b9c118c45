#!/usr/bin/env bash
# Build the AMI with packer and print its id. Usage: packer/build.sh [VAR_FILE]
# Checks what it needs first, so a missing region or missing credentials stop
# before packer starts.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
packer_bin=${PACKER:-packer}
aws_bin=${AWS_CLI:-aws}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}

if [[ -z "$region" ]]; then
  echo "error: no region: set AWS_REGION (for example AWS_REGION=us-east-1 make amis)" >&2
  exit 2
fi
if ! command -v "$packer_bin" >/dev/null 2>&1; then
  echo "error: packer is not installed: apt-get install packer (or see packer.io)" >&2
  exit 2
fi
if ! "$aws_bin" sts get-caller-identity --region "$region" >/dev/null 2>&1; then
  echo "error: no usable AWS credentials: configure a profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (aws sts get-caller-identity fails)" >&2
  exit 2
fi

var_args=()
if [[ $# -gt 0 && -n "$1" ]]; then
  var_args+=(-var-file="$1")
fi
PACKER="$packer_bin" "$here/validate.sh" "$@" >/dev/null

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$packer_bin" build -machine-readable -var "region=$region" "${var_args[@]}" "$here/ecs.json" | tee "$log"
ami=$(awk -F, '$3 == "artifact" && $5 == "id" {print $6}' "$log" | tail -n 1 | sed 's/.*://')
if [[ -z "$ami" ]]; then
  echo "error: packer finished without an AMI id; see the log above" >&2
  exit 1
fi
echo "AMI: $ami"
echo "Use it: add 'ecs_ami: $ami' to stack.yaml (and ecs_architecture: arm64 for an arm64 image), then stack-cfn deploy (the ASG rolls its instances)."
