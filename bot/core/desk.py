"""The moderators' desk commands, typed in the moderators' room: `/cases` (open cases with
their age and status) and `/case <id>` (one case's timeline). Adapters recognise them with
`is_desk_command` and never relay them to a person; `CoreFacade.moderator_command` answers."""

from __future__ import annotations

from bot.core.commands import parse_command

CASES_COMMAND = "cases"
CASE_COMMAND = "case"


def is_desk_command(text: str) -> bool:
    command = parse_command(text.strip())
    return command is not None and command[0] in (CASES_COMMAND, CASE_COMMAND)
