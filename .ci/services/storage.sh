# Sourced by .ci/run: an S3-compatible server that verifies request signatures (s3s-fs), for
# the s3 and r2 storage providers' tests. Installed once into a cache under $TMPDIR (about
# 2.5 minutes to compile), started in the background, exported as S3_TEST_*.
storage_cache="${TMPDIR:-/tmp}/storage-svc"
storage_s3s="$storage_cache/s3s/bin/s3s-fs"
if [ ! -x "$storage_s3s" ]; then
  cargo install s3s-fs@0.14.1 --locked --features binary --root "$storage_cache/s3s"
fi

export S3_TEST_ACCESS_KEY_ID="omnistack-test-key"
export S3_TEST_SECRET_ACCESS_KEY="omnistack-test-secret-0123456789abcdef"
export S3_TEST_BUCKET="omnistack-test"
storage_port="${S3_TEST_PORT:-8014}"
# A server left by an earlier run on this machine serves a folder that run may have half
# cleaned up (seen: 500s for every upload): always start a fresh one.
if pkill -f "$storage_s3s" 2>/dev/null; then
  for _ in $(seq 1 20); do
    (exec 3<>"/dev/tcp/127.0.0.1/$storage_port") 2>/dev/null || break
    sleep 0.5
  done
fi
storage_root="$(mktemp -d "${TMPDIR:-/tmp}/storage-s3s.XXXXXX")"
# s3s-fs serves each directory under its root as a bucket.
mkdir -p "$storage_root/$S3_TEST_BUCKET"
"$storage_s3s" --host 127.0.0.1 --port "$storage_port" \
  --access-key "$S3_TEST_ACCESS_KEY_ID" --secret-key "$S3_TEST_SECRET_ACCESS_KEY" \
  "$storage_root" >"$storage_cache/s3s-fs.log" 2>&1 &
wait_for "S3-compatible server (s3s-fs)" 127.0.0.1 "$storage_port"
export S3_TEST_ENDPOINT="http://127.0.0.1:$storage_port"
