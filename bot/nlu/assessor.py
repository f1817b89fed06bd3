"""Assess one message: patterns and rules first, the classifiers fill gaps, context last.

The contract (documented in nlu/README.md):
- a self statement from the patterns sets the level; the classifier may raise it, never lower;
- when patterns explained a risky phrase away (idiom, game, lyric, negation, past), the
  classifier is capped at low, since it learnt the same words;
- third-party concern: risk low (medium if the other person is at high/critical), intent
  third_party_concern; harassment ("kys" at someone): risk none for the sender, intent
  harassment;
- context: recent risk >= high within CONTEXT_TURNS turns floors the level at medium, or keeps
  it at high when the message minimises ("i'm fine", "you misunderstood", "jk");
- any internal error -> high, intent "error", signal "error:<ExceptionName>".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from spacy.language import Language
from spacy.tokens import Doc

from bot.core.risk import RISK_FLOOR_TURNS, Assessment, RiskContext, RiskLevel
from bot.nlu.classifier import analyse, classify, risk_from_scores
from bot.nlu.encoder import Encoder, Matrix
from bot.nlu.patterns import PatternMatcher
from bot.nlu.rules import PatternVerdict, assess_hits
from bot.nlu.semantic import SemanticRisk, Verdict
from bot.nlu.text import CLASSIFIER_CHARS, ENCODED_WINDOWS, normalise, windows

# At high risk with no third-party or harassment pattern, these intents are about the sender.
_OTHERS_INTENTS = frozenset({"harassment", "third_party_concern"})
BATCH_SIZE = 128  # messages per classifier batch; bounds memory for long inputs
CONTEXT_TURNS = RISK_FLOOR_TURNS  # a high/critical message keeps a floor this many turns
CONTEXT_FLOOR = RiskLevel.MEDIUM
# Without a pattern, the classifier alone does not flag a message whose intent is a plain request.
NEUTRAL_INTENTS = frozenset(
    {
        "helplines_request",
        "set_region",
        "capabilities",
        "greet",
        "thanks",
        "mindfulness_request",
        "human_request",
        "bot_identity",
        "privacy_question",
        "other_language",
    }
)
NEUTRAL_CONFIDENCE = 0.6
# A confident third_party_concern / harassment intent says whose risk it is when no pattern did.
OTHERS_CONFIDENCE = 0.5
LONG_MESSAGE_TOKENS = 80
LONG_MESSAGE_CONFIDENCE = 0.7
# Intents that carry no meaning of their own once the message is at high risk. A yes or no
# keeps its meaning ("no. i just want it to end" answers a question; the crisis reply goes out
# by risk level whatever the intent).
_CHAT_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "out_of_scope",
        "capabilities",
        "venting",
        "set_region",
        "stop",
        "forget",
        "bot_identity",
        "privacy_question",
        "other_language",
        "insult",
    }
)


def error_assessment(exc: BaseException) -> Assessment:
    return Assessment(
        risk=RiskLevel.HIGH,
        intent="error",
        confidence=0.0,
        signals=(f"error:{type(exc).__name__}",),
    )


class Assessor:
    """Implements `bot.core.ports.NluEngine`; also offers a batched `assess_many`.

    A long message is read in overlapping windows (`text.windows`) and the window with the
    highest level speaks for the whole message.
    """

    def __init__(
        self,
        nlp: Language,
        matcher: PatternMatcher,
        intents: Sequence[str],
        encoder: Encoder,
        semantic: SemanticRisk,
    ) -> None:
        self._nlp = nlp
        self._matcher = matcher
        self.intents = tuple(intents)
        self._encoder = encoder
        self._semantic = semantic
        # Evaluation sets this to see what the heads say of every message (`semantic-only`);
        # the answer (level, intent) is the same either way.
        self.consult_all = False

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        try:
            parts = _encoded_first(windows(text if isinstance(text, str) else str(text)))
            found = self._judge([normalise(p) for p in parts], context)
            return _whole_message(found)
        except Exception as exc:  # the crisis path must survive any bug in here
            return error_assessment(exc)

    @property
    def semantic(self) -> SemanticRisk:
        return self._semantic

    def with_semantic(self, semantic: SemanticRisk) -> Assessor:
        """The same patterns and classifiers with other semantic heads (for evaluation)."""
        return Assessor(self._nlp, self._matcher, self.intents, self._encoder, semantic)

    def vectors(self, texts: Sequence[str]) -> Matrix:
        return self._encoder.encode([normalise(t)[:CLASSIFIER_CHARS] for t in texts])

    def _judge(self, texts: list[str], context: RiskContext | None) -> list[Assessment]:
        docs = classify(self._nlp, [analyse(self._nlp, t) for t in texts])
        rules = [assess_hits(d, self._matcher.find(d), self._matcher.lexicon) for d in docs]
        semantic = [NOT_CONSULTED] * len(texts)
        # The encoder is the costly step, and its heads only ever confirm a level the
        # bag-of-words model proposes (`_statistical`): where that model says low or less, the
        # heads cannot change the answer, so most ordinary chat is never encoded.
        wanted = [i for i, doc in enumerate(docs) if self.consult_all or _proposes(doc)]
        found = self._semantic.judge(self.vectors([texts[i] for i in wanted]))
        for i, verdict in zip(wanted, found, strict=True):
            semantic[i] = verdict
        return [self._decide(*parts, context) for parts in zip(docs, rules, semantic, strict=True)]

    def assess_many(self, texts: Iterable[str]) -> Iterator[Assessment]:
        """Batched assessment for the CLI and evaluation; same results as `assess`."""
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) >= BATCH_SIZE:
                yield from self._assess_batch(batch)
                batch = []
        yield from self._assess_batch(batch)

    def _assess_batch(self, items: list[str]) -> Iterator[Assessment]:
        try:
            parts = [_encoded_first(windows(t if isinstance(t, str) else str(t))) for t in items]
            flat = self._judge([normalise(p) for ps in parts for p in ps], None)
        except Exception:  # one bad text must not cost the others their answer
            yield from (self.assess(text) for text in items)
            return
        start = 0
        for ps in parts:
            yield _whole_message(flat[start : start + len(ps)])
            start += len(ps)

    def _decide(
        self, doc: Doc, verdict: PatternVerdict, semantic: Verdict, context: RiskContext | None
    ) -> Assessment:
        signals = list(verdict.signals)
        risk = verdict.risk
        clf_risk, clf_p, source = _statistical(doc, semantic)
        cap = _classifier_cap(verdict)
        intent, confidence = self._intent(doc)
        if (
            clf_risk > RiskLevel.LOW
            and not verdict.matched
            and clf_risk <= RiskLevel.MEDIUM
            and intent in NEUTRAL_INTENTS
            and confidence >= NEUTRAL_CONFIDENCE
            and cap > RiskLevel.LOW
        ):
            cap = RiskLevel.LOW  # "what number do i call?" asks, it does not disclose
            signals.append("capped:request")
        if (
            clf_risk > RiskLevel.LOW
            and len(doc) > LONG_MESSAGE_TOKENS
            and clf_p < LONG_MESSAGE_CONFIDENCE
            and cap > RiskLevel.LOW
        ):
            cap = RiskLevel.LOW  # trained on chat lines: less sure of long essays
            signals.append("capped:long")
        about_someone_else = (
            intent == "third_party_concern"
            and confidence >= OTHERS_CONFIDENCE
            and verdict.names_other
            and not verdict.matched
            and cap > RiskLevel.LOW
        )
        if about_someone_else and clf_risk > RiskLevel.LOW:
            # "sabi ng bestfriend ko ayaw na niyang mabuhay": the model heard the risk, and the
            # intent says whose it is; as for a third-party pattern, the sender is at medium.
            cap = RiskLevel.MEDIUM if clf_risk >= RiskLevel.HIGH else RiskLevel.LOW
            signals.append("capped:third_party")
        if semantic.level >= RiskLevel.MEDIUM and clf_risk < semantic.level:
            signals.append(f"semantic-only:{semantic.level.label}:{semantic.probability:.2f}")
        if min(clf_risk, cap) > risk:
            risk = min(clf_risk, cap)
            signals.append(f"{source}:{risk.label}:{clf_p:.2f}")
            if source == "agreed" and semantic.family:
                signals.append(f"near:{semantic.family}")

        if verdict.harassment and not verdict.matched:
            intent = "harassment"
        elif verdict.third_party or about_someone_else:
            intent = "third_party_concern"
        elif risk >= RiskLevel.HIGH and (
            intent in _CHAT_INTENTS
            or (intent in _OTHERS_INTENTS and confidence < OTHERS_CONFIDENCE)
        ):
            intent = "acute_distress"
        elif intent == "acute_distress" and risk <= RiskLevel.LOW and not verdict.matched:
            intent = "venting"  # acute means above everyday distress; the assessment says not
        elif intent == "venting" and risk >= RiskLevel.MEDIUM:
            intent = "acute_distress"  # and venting is everyday distress: medium is above it
        if verdict.third_party:
            signals.append("third_party")
        if verdict.harassment:
            signals.append("harassment")

        if (
            context is not None
            and context.recent_risk >= RiskLevel.HIGH
            and context.turns_since <= CONTEXT_TURNS
        ):
            if verdict.minimising and risk < RiskLevel.HIGH:
                risk = RiskLevel.HIGH
                signals.append("context:minimising")
            elif risk < CONTEXT_FLOOR:
                risk = CONTEXT_FLOOR
                signals.append("context:floor")
        return Assessment(risk=risk, intent=intent, confidence=confidence, signals=tuple(signals))

    def _intent(self, doc: Doc) -> tuple[str, float]:
        scores = {label: doc.cats.get(label, 0.0) for label in self.intents}
        if not scores or not len(doc):
            return "out_of_scope", 0.0
        label = max(scores, key=lambda k: scores[k])
        return label, float(scores[label])


NOT_CONSULTED = Verdict(RiskLevel.NONE, 0.0, "")


def _proposes(doc: Doc) -> bool:
    """The bag-of-words model proposes medium or above: only then can the heads matter."""
    return bool(len(doc)) and risk_from_scores(doc.cats)[0] >= RiskLevel.MEDIUM


def _statistical(doc: Doc, semantic: Verdict) -> tuple[RiskLevel, float, str]:
    """The statistical level: medium and above only where two different models agree.

    The bag-of-words classifier learnt the words of our own examples, not their meaning; on
    real talk it raised ordinary comments ("I made the best pasta tonight") to critical. The
    semantic heads learnt meaning, but alone they mistake a list of things in a room for a
    chosen place. A level above low therefore needs both: the bag-of-words level, and the
    semantic heads' calibrated probability of at least that level at even odds or better
    (`AGREE_AT`). Measured on GoEmotions dev, this cut medium+ alarms from 75 to 50 per 10,000
    against the semantic heads deciding alone, at the same recall on our families. The heads'
    own budget thresholds still show in the signals (`semantic-only:<level>`).
    """
    bow, bow_p = risk_from_scores(doc.cats) if len(doc) else (RiskLevel.NONE, 1.0)
    agreed = min(bow, semantic.agrees)
    if agreed >= RiskLevel.MEDIUM:
        return agreed, min(bow_p, semantic.agree_probability), "agreed"
    if bow >= RiskLevel.LOW:
        return RiskLevel.LOW, bow_p, "classifier"
    return RiskLevel.NONE, bow_p, "classifier"


def _encoded_first(parts: list[str]) -> list[str]:
    """A very long message keeps its first and last windows (patterns and encoder read them)."""
    if len(parts) <= ENCODED_WINDOWS:
        return parts
    return [*parts[: ENCODED_WINDOWS - 2], *parts[-2:]]


def _whole_message(parts: list[Assessment]) -> Assessment:
    """The window with the highest level speaks for a long message (the first one on a tie)."""
    if len(parts) == 1:
        return parts[0]
    best = max(range(len(parts)), key=lambda i: (parts[i].risk, -i))
    chosen = parts[best]
    return Assessment(
        risk=chosen.risk,
        intent=chosen.intent,
        confidence=chosen.confidence,
        signals=(*chosen.signals, f"window:{best + 1}/{len(parts)}"),
    )


def _classifier_cap(verdict: PatternVerdict) -> RiskLevel:
    if verdict.third_party:
        # someone else's risk, and the sender's own words (if any) are below high: the model
        # learnt the same words ("looking after a suicidal friend and i'm exhausted")
        return verdict.risk
    if verdict.matched:
        return RiskLevel.CRITICAL
    if verdict.harassment:
        return RiskLevel.NONE
    if verdict.softened or verdict.minimising:  # "i'm fine": context decides, not the model
        return RiskLevel.LOW
    if verdict.excepted:
        return RiskLevel.NONE
    if verdict.game_talk:  # "kill this raid boss tonight": the model hears the words, not the game
        return RiskLevel.MEDIUM
    return RiskLevel.CRITICAL
