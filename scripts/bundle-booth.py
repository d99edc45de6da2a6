#!/usr/bin/env python3
"""Assembles the web booth's bundle from wasm-bindgen's output and booth/web.

    scripts/bundle-booth.py BINDGEN_DIR WEB_DIR OUT_DIR [--board URL]

Every asset gets a versioned name (`stem.<first 12 hex digits of its SHA-256>.ext`);
index.html names them, pins the scripts and the stylesheet with Subresource Integrity
(sha384), the WebAssembly module with its SHA-256 (checked by the worker before it is
compiled), and carries the Content-Security-Policy. bundle.json lists every file's SHA-256
and the bundle's: the SHA-256 of `sha256sum`'s output over every file but bundle.json,
sorted by name, i.e. what

    cd OUT_DIR && ls | grep -vx bundle.json | LC_ALL=C sort | xargs sha256sum | sha256sum

prints. `--board URL` makes a static bundle for another origin: the pages talk to that
board, and the policy allows connecting to it (and nothing else).
"""
import base64
import hashlib
import json
import re
import sys
from pathlib import Path

ASSETS = {
    "booth.css": "web",
    "i18n.js": "web",
    "app.js": "web",
    "worker.js": "web",
    "zkvote_booth.js": "bindgen",
    "zkvote_booth_bg.wasm": "bindgen",
}


def csp(board: str) -> str:
    connect = "'self'" + (f" {board}" if board else "")
    return "; ".join([
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        f"connect-src {connect}",
        "style-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def main() -> None:
    args = sys.argv[1:]
    board = ""
    if "--board" in args:
        i = args.index("--board")
        board = args[i + 1].rstrip("/")
        del args[i:i + 2]
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", board):
            sys.exit(f"--board {board!r}: give an origin like https://board.example.org")
    if len(args) != 3:
        sys.exit(__doc__)
    dirs = {"bindgen": Path(args[0]), "web": Path(args[1])}
    out = Path(args[2])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()

    names, sha256, sri = {}, {}, {}
    for name, where in ASSETS.items():
        data = (dirs[where] / name).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        stem, ext = name.rsplit(".", 1)
        names[name] = f"{stem}.{digest[:12]}.{ext}"
        sha256[name] = digest
        sri[name] = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        (out / names[name]).write_bytes(data)

    def fill(m: re.Match) -> str:
        what, arg = m.group(1), m.group(2)
        if what == "asset":
            return names[arg]
        if what == "sri":
            return sri[arg]
        if what == "sha256":
            return sha256[arg]
        if what == "csp":
            return csp(board)
        if what == "board":
            return board
        raise SystemExit(f"index.html: unknown placeholder {m.group(0)}")

    html = (dirs["web"] / "index.html").read_text()
    html = re.sub(r"\{\{(asset|sri|sha256|csp|board):?([^}]*)\}\}", fill, html)
    if "{{" in html:
        sys.exit("index.html: a placeholder was left")
    (out / "index.html").write_text(html)

    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}
    listing = "".join(f"{files[n]}  {n}\n" for n in sorted(files))
    bundle = hashlib.sha256(listing.encode()).hexdigest()
    (out / "bundle.json").write_text(json.dumps({"sha256": bundle, "files": files}, indent=2) + "\n")
    print(bundle)


if __name__ == "__main__":
    main()
