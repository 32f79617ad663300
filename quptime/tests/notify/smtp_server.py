#!/usr/bin/env python3
"""A real SMTP server for quptime's notifier tests (tests/notify.rs).

Why: the SMTP notifier must be tested against a real server speaking real
SMTP (STARTTLS, implicit TLS, AUTH PLAIN/LOGIN), not a mock. aiosmtpd is a
complete asyncio SMTP server; this script runs one on 127.0.0.1 in the mode
the test asks for and writes every accepted message as a JSON file (the
envelope, the raw data and the headers and body decoded by Python's email
package) into --out, before answering 250. So once the client has its 250,
the file is there.

Usage: smtp_server.py --mode plain|starttls|tls --out DIR
                      [--cert PEM --key PEM] [--user U --password P]
Prints "READY <port>" on stdout once listening; exits when stdin closes.
Needs `python3 -m pip install aiosmtpd`.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    """aiosmtpd handler: one JSON file per accepted message."""

    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        part = msg.get_body(preferencelist=("plain",))
        transport = getattr(server, "transport", None)
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]) if msg["subject"] is not None else None,
            "to": str(msg["to"]) if msg["to"] is not None else None,
            "date": str(msg["date"]) if msg["date"] is not None else None,
            "message_id": str(msg["message-id"]) if msg["message-id"] is not None else None,
            "auto_submitted": msg["auto-submitted"],
            "body": part.get_content() if part is not None else "",
            "raw": raw.decode("utf-8", "replace"),
            "tls": tls,
            "login": session.auth_data if session.authenticated else None,
        }
        self.count += 1
        path = os.path.join(self.out, f"{self.count:04d}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 Message accepted for delivery"


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return authenticate


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["plain", "starttls", "tls"], required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args()

    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    loop = asyncio.get_running_loop()
    handler = Recorder(args.out)
    kwargs = {"hostname": "smtp.test", "ident": "quptime test SMTP", "loop": loop}
    if args.user is not None:
        kwargs["authenticator"] = authenticator_for(args.user, args.password)
        kwargs["auth_required"] = True
    if args.mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True, auth_require_tls=True)
    else:
        # Implicit TLS is encrypted from the first byte; plain mode stands
        # for a local relay. Either way AUTH is offered without STARTTLS.
        kwargs["auth_require_tls"] = False

    server = await loop.create_server(
        lambda: SMTP(handler, **kwargs),
        host="127.0.0.1",
        port=0,
        ssl=context if args.mode == "tls" else None,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)

    done = loop.create_future()

    def on_stdin():
        if not os.read(sys.stdin.fileno(), 4096) and not done.done():
            done.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await done
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
