#!/usr/bin/env bash
# Offline checks of the AMI build: var files, packer validate (syntax and
# offline), shellcheck. Usage: packer/validate.sh [VAR_FILE ...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
template="$here/ecs.json"
packer_bin=${PACKER:-packer}

var_args=()
for var_file in "$@"; do
  # packer 1.6 ignores unknown keys in a JSON var file; a typo would be silently
  # dropped, so reject keys the template does not declare.
  python3 - "$template" "$var_file" <<'PY'
import json, sys
template, var_file = sys.argv[1], sys.argv[2]
known = set(json.load(open(template))["variables"])
try:
    given = json.load(open(var_file))
except (OSError, ValueError) as exc:
    sys.exit(f"error: {var_file}: cannot be read as JSON ({exc})")
unknown = sorted(set(given) - known)
if unknown:
    sys.exit(f"error: {var_file}: unknown variable(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
# packer accepts any string here; EC2's images are x86_64 or arm64 (Graviton), as are stack-cfn's ecs_architecture values.
if given.get("architecture", "x86_64") not in ("x86_64", "arm64"):
    sys.exit(f"error: {var_file}: architecture {given['architecture']!r} is not x86_64 or arm64 (Graviton)")
PY
  var_args+=(-var-file="$var_file")
done

"$packer_bin" validate -syntax-only "${var_args[@]}" "$template"
AWS_REGION=${AWS_REGION:-us-east-1} "$packer_bin" validate "${var_args[@]}" "$template"
shellcheck "$here/build.sh" "$here/validate.sh" "$here/scripts/"*.sh "$here/files/usr/local/sbin/"*
echo "packer template, variables and scripts are valid"
