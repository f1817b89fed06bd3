"""The deployment files parse and say what docs/deploy.md promises. Docker itself is not needed;
where it exists, `docker compose config` must accept compose.yaml too."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

INSTRUCTIONS = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
}


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    steps = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            steps.append((word.upper(), rest.strip()))
    return steps


def test_the_dockerfile_is_multi_stage_non_root_and_trains_at_build_time() -> None:
    steps = dockerfile()
    unknown = [word for word, _ in steps if word not in INSTRUCTIONS]
    assert unknown == [], f"not Dockerfile instructions: {unknown}"
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    assert len(stages) == 2 and " AS build" in steps[stages[0]][1]
    build, final = steps[: stages[1]], steps[stages[1] :]
    assert any("signpost nlu train" in rest for word, rest in build if word == "RUN")
    assert any(rest.startswith("--from=build") for word, rest in final if word == "COPY")
    users = [rest for word, rest in final if word == "USER"]
    assert users and not users[-1].startswith(("root", "0")), "the final stage must not run as root"
    for word, rest in steps:
        if word in {"CMD", "ENTRYPOINT", "HEALTHCHECK"} and "[" in rest:
            yaml.safe_load(rest[rest.index("[") :])  # exec form is a JSON/YAML list


def test_the_image_installs_what_make_install_installs() -> None:
    """Whatever pip step the Makefile's install target gains (the encoder's weights), the image
    mirrors it, so a model trained at build time matches the one tests train."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    docker = " ".join(rest for word, rest in dockerfile() if word == "RUN")
    for line in re.findall(r"pip install ([^\n]+)", makefile):
        for requirement in re.findall(r"-r (\S+)", line):
            assert requirement in docker, f"the Dockerfile does not install {requirement}"
        if "--no-deps" in line:
            assert "--no-deps" in docker


def test_compose_runs_the_bot_with_postgresql_and_no_secret_in_the_file() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"bot", "db"}
    bot = services["bot"]
    assert bot["build"] == "." and bot["depends_on"]["db"]["condition"] == "service_healthy"
    env = bot["environment"]
    assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
    for name in ("SIGNPOST_SECRET_KEY", "TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        assert env[name].startswith("${"), f"{name} must come from the environment"
    assert all(p.startswith("127.0.0.1:") for p in bot["ports"])
    assert services["db"]["image"].startswith("postgres:")


def test_the_systemd_unit_in_the_deploy_guide_parses() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    block = re.search(r"```ini\n(.*?)```", guide, re.S)
    assert block, "docs/deploy.md has no systemd unit"
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(block.group(1))
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["User"] != "root" and service["ExecStart"].endswith("signpost run")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def _docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_works(), reason="no Docker engine here")
def test_docker_compose_accepts_the_file() -> None:
    env = {**os.environ, "POSTGRES_PASSWORD": "x", "SIGNPOST_SECRET_KEY": "x"}
    subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        check=True,
        env=env,
    )
