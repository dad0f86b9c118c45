#!/usr/bin/env bash
# Provision the ECS container-instance AMI. Runs as root on the build instance.
# Only what the stock ECS-optimized AMI does not already do.
set -euo pipefail

files=/tmp/stack-cfn-files

install -m 0644 "$files/etc/sysctl.d/10-stack.conf" /etc/sysctl.d/10-stack.conf
install -m 0644 "$files/etc/systemd/system/stack-cfn-docker-volume.service" /etc/systemd/system/
install -m 0755 "$files/usr/local/sbin/stack-cfn-docker-volume" /usr/local/sbin/
install -d -m 0755 /etc/ecs

# Agent defaults first; the instance's user data appends ECS_CLUSTER and auth.
touch /etc/ecs/ecs.config
while IFS= read -r line; do
  key=${line%%=*}
  grep -q "^${key}=" /etc/ecs/ecs.config || printf '%s\n' "$line" >> /etc/ecs/ecs.config
done < "$files/etc/ecs/ecs.config"

# Rotate container logs written by the json-file driver (the seed's 2 x 50 MB).
install -d -m 0755 /etc/docker
python3 - <<'PY'
import json, pathlib
path = pathlib.Path("/etc/docker/daemon.json")
config = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
config.setdefault("log-opts", {}).update({"max-size": "50m", "max-file": "2"})
path.write_text(json.dumps(config, indent=2) + "\n")
PY

# conntrack keys exist once the module is loaded.
echo nf_conntrack > /etc/modules-load.d/stack-cfn.conf

systemctl daemon-reload
systemctl enable stack-cfn-docker-volume.service
sysctl --system >/dev/null

# Leave no state from the build instance: the agent would reuse its registration.
systemctl stop ecs >/dev/null 2>&1 || true
rm -rf /var/lib/ecs/data/* "$files"
dnf clean all >/dev/null
