"""Another website must not be able to drive the studio, and run names stay inside --runs."""

import pytest

from nn2gpt.errors import UserError
from nn2gpt.studio.guard import Forbidden, Guard, resolve_run


def test_a_foreign_host_is_refused_dns_rebinding(client):
    r = client.get("/api/runs", headers={"Host": "attacker.example:8000"})
    assert r.status_code == 403 and "Host" in r.json()["error"]
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200
    assert client.get("/api/runs", headers={"Host": "127.0.0.1:9999"}).status_code == 403  # another port


def test_a_post_from_another_origin_changes_nothing(client, runs_dir):
    body = {"chapter": "gpt", "name": "from-elsewhere", "fields": {"seconds": 5}}
    r = client.post("/api/train/start", json=body, headers={"Origin": "http://attacker.example"})
    assert r.status_code == 403
    assert not (runs_dir / "from-elsewhere").exists()
    ok = client.post("/api/lab/toy", json={"score": "dot", "head_size": 4}, headers={"Origin": "http://127.0.0.1:8000"})
    assert ok.status_code == 200


def test_a_read_the_browser_marks_as_cross_site_is_refused(client):
    assert client.get("/api/runs", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.get("/api/runs", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_listening_everywhere_accepts_ip_addresses_but_not_names():
    g = Guard("0.0.0.0", 8000)
    assert g.host_ok("192.168.1.20:8000") and g.host_ok("[::1]:8000") and g.host_ok("localhost:8000")
    assert not g.host_ok("attacker.example:8000") and not g.host_ok(None)
    local = Guard("127.0.0.1", 8000)
    assert not local.host_ok("192.168.1.20:8000")
    with pytest.raises(Forbidden):
        local.check("POST", {"host": "127.0.0.1:8000", "origin": "null"})


def test_run_names_resolve_only_inside_runs(tmp_path):
    (tmp_path / "runs" / "a" / "b").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "runs" / "link").symlink_to(tmp_path / "outside")
    runs = tmp_path / "runs"
    assert resolve_run(runs, "a/b") == (runs / "a" / "b").resolve()
    for bad in ("../outside", "/etc", "a/../../outside", "link", "a\\b", "", "nope", ".", "a/.."):
        with pytest.raises(UserError):
            resolve_run(runs, bad)


def test_the_page_starts_on_localhost_and_warns_when_open_to_all(monkeypatch, capsys, tmp_path):
    """serve() binds first (a port in use is one line), then prints the URL; 0.0.0.0 prints a warning."""
    import socket

    from nn2gpt.cli import main
    from nn2gpt.studio import server

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        assert main(["studio", "--runs", str(tmp_path), "--port", str(taken.getsockname()[1])]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--port" in err
    finally:
        taken.close()
    seen = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: seen.append(sockets[0].getsockname()))
    server.serve(server.StudioConfig(runs=str(tmp_path), host="0.0.0.0", port=0), announce=seen.append)
    assert seen[0].startswith("nn2gpt studio: http://localhost:") and "no login" in seen[1]


def test_the_page_runs_only_its_own_scripts_and_a_link_to_it_opens(client):
    page = client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    opened = client.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert opened.status_code == 200  # following a link from elsewhere opens the page, and nothing more


def test_a_dangling_link_in_runs_is_not_a_free_name(client, runs_dir, tmp_path):
    (runs_dir / "dangling").symlink_to(tmp_path / "nowhere")
    try:
        r = client.post("/api/train/start", json={"chapter": "gpt", "name": "dangling", "fields": {"seconds": 5}})
        assert r.status_code == 400 and "already exists" in r.json()["error"]
        assert not (tmp_path / "nowhere").exists()
    finally:
        (runs_dir / "dangling").unlink()
