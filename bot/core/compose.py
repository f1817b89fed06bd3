"""Build replies from response keys, with signed buttons. The only way text leaves the core."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.messages import Button, ChatRef, Reply, ReplyKind
from bot.core.signing import PayloadSigner
from bot.core.texts import Texts


@dataclass(frozen=True, slots=True)
class Composer:
    texts: Texts
    signer: PayloadSigner

    def button(self, label_key: str, command: str, *, private: bool = False) -> Button:
        """A button whose signed payload replays `command` as if the person had typed it."""
        return Button(self.texts.get(label_key), self.signer.sign(command), private)

    def label_button(self, label: str, command: str) -> Button:
        """A button labelled with data (a country's name), not a sentence."""
        return Button(label, self.signer.sign(command))

    def reply(
        self,
        chat: ChatRef,
        *keys: str,
        buttons: tuple[Button, ...] = (),
        kind: ReplyKind = ReplyKind.MESSAGE,
        extra: tuple[str, ...] = (),
        **fields: object,
    ) -> Reply:
        """One message: the texts of `keys` (and already-rendered `extra` blocks) as paragraphs."""
        parts = [self.texts.get(key, **fields) for key in keys]
        parts.extend(block for block in extra if block)
        return Reply(chat, "\n\n".join(parts), buttons, kind)

    def menu(self) -> tuple[Button, ...]:
        return (
            self.button("buttons.breathe", "/breathe"),
            self.button("buttons.ground", "/ground"),
            self.button("buttons.exercises", "/exercises"),
            self.button("buttons.helplines", "/helplines"),
            self.button("buttons.human", "/human"),
        )
