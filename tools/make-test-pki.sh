#!/usr/bin/env bash
# make-test-pki.sh DIR [--force] [--client-cn CN]
#
# A throw-away PKI for running oemlink against oemlink-ingest-sink (or any mTLS peer) locally.
# NEVER use these files for anything real: the CA key sits next to the certificates.
#
# Creates in DIR (EC P-256 keys, key files 0600):
#   ca.crt / ca.key                    the CA the sink trusts for clients (--ca) and oemlink
#                                      trusts for the server (ca_file)
#   server.crt / server.key            the sink's identity: SAN IP:127.0.0.1, DNS:localhost
#   client.crt / client.key            oemlink's identity; CN = the connection's Ethereum address,
#                                      which DIS writes into `source`
#   rogue-ca.crt / rogue-ca.key        a second CA nobody trusts
#   rogue-client.crt / rogue-client.key  a client certificate (same CN) signed by the rogue CA
#   expired-client.crt / expired-client.key  signed by the real CA, but notAfter < notBefore = now
#
# Idempotent: when every file is already there it does nothing (exit 0) unless --force.
set -euo pipefail

usage() {
  echo "usage: $0 DIR [--force] [--client-cn CN]" >&2
  exit 2
}

dir=""
force=0
# The Tesla connection address DIMO uses (dimo-wire.md section 1): a realistic, valid CN.
client_cn="0xc4035Fecb1cc906130423EF05f9C20977F643722"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=1 ;;
    --client-cn)
      [[ $# -ge 2 ]] || usage
      client_cn="$2"
      shift
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      [[ -z "$dir" ]] || usage
      dir="$1"
      ;;
  esac
  shift
done
[[ -n "$dir" ]] || usage

files=(ca.crt ca.key server.crt server.key client.crt client.key rogue-ca.crt rogue-ca.key
  rogue-client.crt rogue-client.key expired-client.crt expired-client.key)

mkdir -p "$dir"
cd "$dir"

if [[ $force -eq 0 ]]; then
  all_there=1
  for f in "${files[@]}"; do [[ -s "$f" ]] || all_there=0; done
  if [[ $all_there -eq 1 ]]; then
    echo "make-test-pki: $dir already has a PKI (use --force to replace it)"
    exit 0
  fi
fi

umask 077  # keys are born 0600; certificates are chmod'ed readable below
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log="$work/openssl.log"

run() {
  if ! "$@" >>"$log" 2>&1; then
    echo "make-test-pki: failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

new_ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$work/server.ext"
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=clientAuth" >"$work/client.ext"

make_ca() {  # name CN
  run openssl req -x509 "${new_ec[@]}" -keyout "$1.key" -out "$1.crt" -days 825 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

issue() {  # name CN ca ext days
  run openssl req -new "${new_ec[@]}" -keyout "$1.key" -out "$work/$1.csr" -subj "/CN=$2"
  # -set_serial with a random value: no .srl file left behind, and re-issuing never collides.
  run openssl x509 -req -in "$work/$1.csr" -CA "$3.crt" -CAkey "$3.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$5" -extfile "$work/$4" -out "$1.crt"
}

make_ca ca "oemlink-test-ca"
issue server localhost ca server.ext 825
issue client "$client_cn" ca client.ext 825
make_ca rogue-ca "oemlink-rogue-ca"
issue rogue-client "$client_cn" rogue-ca client.ext 825
# OpenSSL 3.0's x509 has no -not_after; -days -1 puts notAfter a day before notBefore (= now),
# which every verifier reports as "certificate has expired".
issue expired-client "$client_cn" ca client.ext -1

chmod 600 ./*.key
chmod 644 ./*.crt
echo "make-test-pki: wrote $(pwd) (client CN $client_cn)"
