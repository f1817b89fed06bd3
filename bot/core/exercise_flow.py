"""Guided exercises in the conversation: the menu, one step per message, and a pause when
the person is in distress ("I feel worse", risk rising, chest pain) instead of the next step."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core.messages import Button, Reply
from bot.core.risk import RiskLevel
from bot.core.state import Flow

if TYPE_CHECKING:
    from bot.core.dialogue import Dialogue, Turn

NEXT_WORDS = {"next", "n", "ok", "okay", "done", "go", "continue", "k", "yes", "y", "ready"}
FEELINGS = ("better", "same", "worse")
OFFERED_EXERCISE = "box"  # what `support.low` offers to start on a "yes"


class ExerciseFlow:
    def __init__(self, dialogue: Dialogue) -> None:
        self.d = dialogue

    def paused(self, turn: Turn) -> list[Reply]:
        """Distress inside an exercise pauses it and answers the distress."""
        turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=None)
        paused = self.d.texts.get("exercise_pause.paused")
        if self.d.understanding.means("worse", turn.text) and turn.assessment.risk < RiskLevel.HIGH:
            buttons = (self.d.c.button("buttons.human", "/human"),)
            reply = self.d._with_lines(
                turn.inbound, turn.state, "exercise_pause.worse", buttons=buttons
            )
            return [replace(reply, text=f"{paused}\n\n{reply.text}")]
        replies = self.d._support_medium(turn)
        return [replace(replies[0], text=f"{paused}\n\n{replies[0].text}"), *replies[1:]]

    def buttons(self) -> tuple[Button, ...]:
        return (
            self.d.c.button("buttons.breathe", "/breathe"),
            self.d.c.button("buttons.ground", "/ground"),
            self.d.c.button("buttons.exercises", "/exercises"),
        )

    def menu(self, turn: Turn) -> list[Reply]:
        buttons = tuple(
            self.d.c.label_button(ex.title, f"/exercise {key}")
            for key, ex in self.d.exercises.items()
        )
        return [self.d.c.reply(turn.chat, "support.coping_offer", buttons=buttons)]

    async def start_offered(self, turn: Turn) -> list[Reply] | None:
        if OFFERED_EXERCISE not in self.d.exercises:
            return None
        return self.start(turn, OFFERED_EXERCISE)

    def start(self, turn: Turn, key: str) -> list[Reply]:
        turn.state = replace(turn.state, exercise=key, exercise_step=0, pending=None)
        return [self._step_reply(turn, key, 0)]

    def _step_reply(self, turn: Turn, key: str, step: int) -> Reply:
        exercise = self.d.exercises[key]
        buttons = (
            self.d.c.button("buttons.next", "/next"),
            self.d.c.button("buttons.stop", "/stop"),
        )
        text = exercise.steps[step]
        if step == 0:
            text = f"{exercise.title}\n\n{text}"
        return Reply(turn.chat, text, buttons)

    def step(self, turn: Turn) -> list[Reply]:
        key = turn.state.exercise
        if key is None or key not in self.d.exercises:
            turn.state = replace(turn.state, exercise=None, exercise_step=0)
            return [self.d.c.reply(turn.chat, "exercise.none_running", buttons=self.d.c.menu())]
        word = turn.text.lower().strip(" .!") if turn.text else "next"
        moving_on = word in NEXT_WORDS or turn.assessment.intent == "affirm"
        if not moving_on and word.endswith("?"):  # a typed answer to a step counts as going on
            return [self.d.c.reply(turn.chat, "exercise.hint")]
        step = turn.state.exercise_step + 1
        if step >= len(self.d.exercises[key].steps):
            turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=Flow.FEELING)
            buttons = tuple(self.d.c.button(f"buttons.{f}", f"/feel {f}") for f in FEELINGS)
            return [self.d.c.reply(turn.chat, "exercise.feeling", buttons=buttons)]
        turn.state = replace(turn.state, exercise_step=step)
        return [self._step_reply(turn, key, step)]

    def stop(self, turn: Turn) -> list[Reply]:
        if turn.state.exercise is None:
            turn.state = replace(turn.state, pending=None)
            return [self.d.c.reply(turn.chat, "exercise.none_running")]
        turn.state = replace(turn.state, exercise=None, exercise_step=0, pending=None)
        return [self.d.c.reply(turn.chat, "exercise.stopped", buttons=self.d.c.menu())]
