# Sourced by .ci/run: a real SMTP server (aiosmtpd from PyPI) for the smtp email provider's
# tests. It listens on 127.0.0.1:2525, accepts AUTH PLAIN/LOGIN for omnistack/test-password
# without TLS, refuses recipients starting with "reject" (550) or "busy" (451), and writes
# each accepted message to $SMTP_TEST_MAILDIR/new/ with the client's EHLO name and login in
# X-Test-* headers. Exports SMTP_TEST_SERVER and SMTP_TEST_MAILDIR ([[test_env]] of smtp).

smtp_cache="${TMPDIR:-/tmp}/omnistack-ci-smtp"
mkdir -p "$smtp_cache"
if [ ! -x "$smtp_cache/venv/bin/python" ] || ! "$smtp_cache/venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m venv "$smtp_cache/venv"
  "$smtp_cache/venv/bin/pip" install --quiet --disable-pip-version-check 'aiosmtpd==1.4.*'
fi

cat > "$smtp_cache/server.py" <<'PY'
"""A test SMTP server: real protocol (aiosmtpd), scripted refusals, messages to a folder."""
import sys, time, uuid, pathlib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, maildir = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
(maildir / "new").mkdir(parents=True, exist_ok=True)

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == b"omnistack" and auth_data.password == b"test-password")
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        headers = (f"X-Test-Ehlo: {session.host_name}\r\n"
                   f"X-Test-Auth: {session.auth_data or ''}\r\n"
                   f"X-Test-Rcpt: {','.join(envelope.rcpt_tos)}\r\n")
        path = maildir / "new" / f"{uuid.uuid4()}.eml"
        path.write_bytes(headers.encode() + envelope.original_content)
        return "250 Message accepted"

controller = Controller(Handler(), hostname=host, port=port, authenticator=authenticator,
                        auth_require_tls=False, decode_data=False)
controller.start()
while True:
    time.sleep(3600)
PY

export SMTP_TEST_MAILDIR="$smtp_cache/maildir"
export SMTP_TEST_SERVER="127.0.0.1:2525"
if ! (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then
  nohup "$smtp_cache/venv/bin/python" "$smtp_cache/server.py" 127.0.0.1 2525 "$SMTP_TEST_MAILDIR" \
    > "$smtp_cache/server.log" 2>&1 &
fi
for _ in $(seq 1 30); do
  if (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then break; fi
  sleep 1
done
if ! (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then
  echo "error: the test SMTP server did not start; see $smtp_cache/server.log" >&2
  exit 1
fi
