"""schemathesis hooks for scripts/api-fuzz.sh: sign commission requests.

The board refuses unsigned commission requests (docs/protocol.md section 12.4), so without
a signature schemathesis would only ever reach the authentication of those operations.
Here every request that carries the three signing headers is signed with the commission
key named by ZKVOTE_COMMISSION_KEY (a fresh timestamp and nonce, over the exact body bytes
sent), so its body and the election's phase are checked by the real handlers. A request
from which schemathesis removed a signing header is left unsigned, so that the board's
refusal of it is still tested.
"""
import hashlib
import json
import os
import secrets
import time

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HEADERS = ("x-zkvote-timestamp", "x-zkvote-nonce", "x-zkvote-signature")
with open(os.environ["ZKVOTE_COMMISSION_KEY"]) as f:
    KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(f.read().strip()))


@schemathesis.hook
def before_call(ctx, case, kwargs):
    headers = case.headers
    if not headers or not all(any(k.lower() == h for k in headers) for h in HEADERS):
        return
    if isinstance(case.body, (bytes, bytearray)):
        body = bytes(case.body)
    elif case.body is None or type(case.body).__name__ == "NotSet":
        body = b""
    else:
        try:
            body = json.dumps(case.body, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            return
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    message = "zkvote/v1/request\n{}\n{}\n{}\n{}\n{}".format(
        case.method.upper(), case.formatted_path, timestamp, nonce, hashlib.sha256(body).hexdigest()
    ).encode()
    for name in [k for k in headers if k.lower() in HEADERS]:
        del headers[name]
    headers["x-zkvote-timestamp"] = timestamp
    headers["x-zkvote-nonce"] = nonce
    headers["x-zkvote-signature"] = KEY.sign(message).hex()
    kwargs["data"] = body
