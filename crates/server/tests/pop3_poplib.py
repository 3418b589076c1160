"""A POP3 session with Python's poplib against a running postroom server.

Usage: pop3_poplib.py HOST PORT MODE CAFILE USER SECRET ACTIONS
MODE is plain, stls or ssl; ACTIONS is a comma-separated list of: capa,
apop, login, stat, list, uidl, retr1, top1, dele1, badpass, quit.
Prints one JSON object with the results; exits non-zero on an error.
"""

import json
import poplib
import ssl
import sys


def text(lines):
    return [line.decode("utf-8", "replace") for line in lines]


def main():
    host, port, mode, cafile, user, secret, actions = sys.argv[1:8]
    port = int(port)
    context = ssl.create_default_context(cafile=cafile)
    if mode == "ssl":
        client = poplib.POP3_SSL(host, port, context=context, timeout=20)
    else:
        client = poplib.POP3(host, port, timeout=20)
    out = {"welcome": client.getwelcome().decode()}
    if mode == "stls":
        out["capa_before_stls"] = sorted(client.capa())
        out["stls"] = client.stls(context=context).decode()
    for action in actions.split(","):
        if action == "capa":
            out["capa"] = {k: v for k, v in client.capa().items()}
        elif action == "apop":
            out["apop"] = client.apop(user, secret).decode()
        elif action == "login":
            out["user"] = client.user(user).decode()
            out["pass"] = client.pass_(secret).decode()
        elif action == "badpass":
            client.user(user)
            try:
                client.pass_(secret + "-wrong")
                out["badpass"] = "accepted"
            except poplib.error_proto as e:
                out["badpass"] = e.args[0].decode()
        elif action == "stat":
            out["stat"] = list(client.stat())
        elif action == "list":
            resp, lines, _ = client.list()
            out["list"] = text(lines)
        elif action == "uidl":
            resp, lines, _ = client.uidl()
            out["uidl"] = text(lines)
        elif action == "retr1":
            resp, lines, octets = client.retr(1)
            out["retr1"] = {"resp": resp.decode(), "lines": text(lines)}
        elif action == "top1":
            resp, lines, _ = client.top(1, 0)
            out["top1"] = text(lines)
        elif action == "dele1":
            out["dele1"] = client.dele(1).decode()
        elif action == "quit":
            out["quit"] = client.quit().decode()
        else:
            raise SystemExit("unknown action " + action)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
