#!/usr/bin/env bash
# Writes the configuration folder the compose file mounts at /etc/credgate
# (read-only) from a `credgate demo` folder: its certificates and policy,
# and a gateway.toml for a container (listeners on 0.0.0.0, the sample
# database at http://upstream:8080, the inquiry log on the compose file's
# PostgreSQL).
#
#   packaging/compose-config.sh DEMO_DIR OUT_DIR
set -euo pipefail
if [ "$#" -ne 2 ]; then
  echo "usage: $0 DEMO_DIR OUT_DIR" >&2
  exit 2
fi
demo=$1
out=$2
for f in certs/server.pem certs/server.key certs/ca.pem certs/ca.crl \
         certs/audit-signing.pk8 certs/consent-authority.pub policy.toml; do
  if [ ! -f "$demo/$f" ]; then
    echo "$0: $demo/$f is missing: run \`credgate demo --dir $demo\` first" >&2
    exit 1
  fi
done
mkdir -p "$out/certs"
for f in server.pem server.key ca.pem ca.crl audit-signing.pk8 consent-authority.pub; do
  install -m 0644 "$demo/certs/$f" "$out/certs/$f"
done
install -m 0644 "$demo/policy.toml" "$out/policy.toml"
cat > "$out/gateway.toml" <<'TOML'
# gateway.toml for the compose cluster (packaging/compose.yaml): every
# gateway mounts this folder read-only at /etc/credgate.

[server]
listen = "0.0.0.0:8443"
cert = "certs/server.pem"
key = "certs/server.key"
client_ca = "certs/ca.pem"
crl = ["certs/ca.crl"]

[identity]
officer_id = "subject.serialNumber"
name = "subject.CN"
unit = "subject.O"

[admin]
listen = "0.0.0.0:9443"

[upstream]
url = "http://upstream:8080"
timeout_ms = 5000

[audit]
store = "postgres://credgate:credgate@postgres/credgate"
signing_key = "certs/audit-signing.pk8"
checkpoint_every = 1000

[consent]
authority_key = "certs/consent-authority.pub"
max_days = 365

[policy]
file = "policy.toml"
TOML
echo "wrote $out (gateway.toml, policy.toml, certs/)"
