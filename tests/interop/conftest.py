"""Fixtures: `server` is parameterised over the servers under test.

`dovecot` starts a private Dovecot (scripts/dovecot-start); `postroom`
builds and starts postroom's example server and is skipped, with the reason,
while that does not build. Select one with `-k dovecot` or `-k postroom`.
"""

import os
import shutil

import pytest

import servers

SERVER_KINDS = ["dovecot", "postroom"]


def start(kind: str, name: str = ""):
    """Start a server of `kind` in a fresh world-readable work directory
    (Dovecot's mail processes run as nobody and must reach the homes)."""
    root = servers.new_workdir(name or kind)
    os.chmod(root, 0o755)
    if kind == "dovecot":
        if not shutil.which("dovecot"):
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("dovecot not installed (run scripts/install-test-deps)")
        return servers.start_dovecot(os.path.join(root, "srv"), name or kind)
    try:
        return servers.start_postroom(os.path.join(root, "srv"))
    except servers.Unavailable as e:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"postroom example server unavailable: {e}")


def stop(srv) -> None:
    srv.stop_fn()
    if os.environ.get("INTEROP_KEEP") is None:
        shutil.rmtree(os.path.dirname(srv.workdir), ignore_errors=True)


@pytest.fixture(scope="session", params=SERVER_KINDS)
def running_server(request):
    srv = start(request.param)
    yield srv
    stop(srv)


@pytest.fixture
def server(running_server):
    """The server, with the test user's store emptied before the test."""
    running_server.reset()
    return running_server


def need_tool(name: str) -> None:
    if shutil.which(name) is None:
        pytest.skip(f"{name} not installed (run scripts/install-test-deps)")


def need_capability(client, server, cap: str) -> None:
    """Skip unless the server advertises `cap`. A case skipped this way on
    Dovecot is postroom-only (postroom advertises it, issue 8)."""
    if not client.has_capability(cap):
        pytest.skip(f"postroom-only: {server.name} does not advertise {cap}")
