"""Audiences and topics really filter: in the directory API, the CLI and the chat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import App
from bot.content import ContentPaths
from bot.core.risk import RiskLevel
from bot.core.texts import Texts
from bot.helplines.commands import register
from bot.helplines.directory import HelplineDirectory
from bot.helplines.render import render_helplines
from bot.helplines.select import select
from bot.helplines.vocabulary import Filters, UnknownFilterError
from tests.conftest import ScriptedNlu, person

# Saturday 5 December 2026, 16:00 UTC: daytime in the Americas, evening in Europe.
SATURDAY = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def directory() -> HelplineDirectory:
    return HelplineDirectory.load(ContentPaths.default().helplines)


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load(ContentPaths.default().responses)


def ids(directory: HelplineDirectory, code: str, **filters: str) -> list[str]:
    chosen = select(directory.for_region(code), directory.vocabulary.filters(**filters), SATURDAY)
    return [service.id for _, service in chosen.services]


def test_audience_picks_the_lines_for_that_group(directory: HelplineDirectory) -> None:
    assert set(ids(directory, "US", audience="lgbtq")) == {
        "us-trevor-lifeline",
        "us-trans-lifeline",
    }
    assert ids(directory, "US", audience="veterans") == ["us-veterans-crisis-line"]
    assert ids(directory, "AU", audience="indigenous") == ["au-13yarn"]
    assert "au-qlife" in ids(directory, "AU", audience="lgbtq")


def test_what_people_type_maps_to_the_vocabulary(directory: HelplineDirectory) -> None:
    assert ids(directory, "US", audience="trans") == ids(directory, "US", audience="lgbtq")
    assert ids(directory, "US", audience="Veteran") == ["us-veterans-crisis-line"]
    vocabulary = directory.vocabulary
    assert vocabulary.word_in("is there a line for trans people?") == ("audience", "lgbtq")
    assert vocabulary.word_in("any helplines for young people") == ("audience", "young-people")
    assert vocabulary.word_in("I need a helpline") is None


def test_a_group_without_its_own_line_gets_the_general_lines_and_is_told(
    directory: HelplineDirectory, texts: Texts
) -> None:
    gb = directory.for_region("GB")
    chosen = select(gb, Filters(audience="veterans"), SATURDAY)
    assert chosen.audience_missing
    assert chosen.services and all("everyone" in s.audiences for _, s in chosen.services)
    text = render_helplines(gb, texts, SATURDAY, filters=Filters(audience="veterans"))
    assert texts.get("helplines.none_for_audience") in text
    assert "Samaritans" in text


def test_unknown_topic_or_audience_is_an_error_naming_the_valid_words(
    directory: HelplineDirectory,
) -> None:
    with pytest.raises(UnknownFilterError) as caught:
        directory.vocabulary.filters(topic="sucide")
    assert "unknown topic 'sucide'" in str(caught.value)
    assert "suicide" in caught.value.valid
    with pytest.raises(UnknownFilterError) as caught:
        directory.vocabulary.filters(audience="astronauts")
    assert "lgbtq" in str(caught.value) and "veterans" in str(caught.value)


def run_cli(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["helplines", *argv])
    return int(args.handler(args))


def test_cli_show_audience(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["show", "US", "--audience", "veterans", "--at", "2026-12-05T03:00"]) == 0
    out = capsys.readouterr().out
    assert "Veterans Crisis Line (24/7)" in out
    assert "Trevor" not in out and "988 Suicide" not in out


def test_cli_unknown_topic_or_audience_exits_2_and_lists_the_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["show", "GB", "--topic", "sucide"]) == 2
    err = capsys.readouterr().err
    assert "unknown topic 'sucide'" in err and "self-harm" in err
    assert run_cli(["show", "GB", "--audience", "astronauts"]) == 2
    assert "unknown audience 'astronauts'" in capsys.readouterr().err


async def test_chat_command_with_an_audience(app: App) -> None:
    say = person(app)
    await app.handle(say("/region US"))
    out = await app.handle(say("/helplines lgbtq"))
    text = "\n".join(reply.text for reply in out.replies)
    assert "The Trevor Project" in text
    assert "Veterans Crisis Line" not in text


async def test_chat_question_for_trans_people_in_gb_and_us(app: App, nlu: ScriptedNlu) -> None:
    question = "is there a line for trans people?"
    nlu.say(question, RiskLevel.NONE, "helplines_request")
    say = person(app)
    await app.handle(say("/region US"))
    us = "\n".join(reply.text for reply in (await app.handle(say(question))).replies)
    assert "Trans Lifeline" in us
    other = person(app)
    await app.handle(other("/region GB"))
    gb = "\n".join(reply.text for reply in (await app.handle(other(question))).replies)
    assert app.texts.get("helplines.none_for_audience") in gb
    assert "Samaritans" in gb
