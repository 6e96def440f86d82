#!/usr/bin/env bash
# Writes the configuration folder the compose file mounts at /etc/credgate
# (read-only) from a `credgate demo` folder: its certificates and policy,
# and a gateway.toml for a container (listeners on 0.0.0.0, the sample
# database at http://upstream:8080, the inquiry log on the compose file's
# PostgreSQL) — packaging/compose-gateway.toml, copied as it is.
#
#   packaging/compose-config.sh DEMO_DIR OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
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
if [ ! -f "$here/compose-gateway.toml" ]; then
  echo "$0: $here/compose-gateway.toml is missing" >&2
  exit 1
fi
mkdir -p "$out/certs"
for f in server.pem server.key ca.pem ca.crl audit-signing.pk8 consent-authority.pub; do
  install -m 0644 "$demo/certs/$f" "$out/certs/$f"
done
install -m 0644 "$demo/policy.toml" "$out/policy.toml"
install -m 0644 "$here/compose-gateway.toml" "$out/gateway.toml"
echo "wrote $out (gateway.toml, policy.toml, certs/)"
