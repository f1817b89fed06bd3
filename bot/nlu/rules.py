"""Turn pattern hits into a risk verdict: exceptions, negation, past tense, third party, escalation.

Order matters and is the documented contract (nlu/README.md, "How a message is assessed"):
1. an idiom / lyric / game hit that overlaps a statement cancels it;
   a game or song cue anywhere cancels statements marked `ambiguous`;
2. a negation right before a statement (same clause, at most NEGATION_WINDOW tokens) demotes it
   to low; a distant-past cue in the same clause caps it at medium;
3. a third-party subject before a statement (no "i" in between) makes it someone else's risk;
4. a self statement at high or above plus a method or timing cue becomes critical.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc

from bot.core.risk import RiskLevel
from bot.nlu.patterns import EXCEPTION_KINDS, STATEMENT_KINDS, Hit, Kind

NEGATION_WINDOW = 3
CLAUSE_BREAKS = frozenset({".", "!", "?", ";", "\n", "but", "though", "although", "however"})
NOT_NEGATING_NEXT = frozenset(
    {"stop", "help", "quit", "wait", "everyone", "everybody", "all", "many", "only"}
)  # "can't stop thinking", "not everyone does it"
# "not gonna lie, ...", "not kidding": the "not" belongs to a filler, not to the statement
NOT_NEGATING_FILLERS = (
    ("gon", "na", "lie"),
    ("going", "to", "lie"),
    ("gon", "na", "cap"),
    ("lie",),
    ("lying",),
    ("kidding",),
    ("joking",),
    ("even", "joking"),
    ("even", "kidding"),
)
# A statement that names its own recent time ("relapsed last night") is not demoted by a past
# cue in the same clause ("after 200 days clean").
RECENT_WORDS = frozenset({"today", "tonight", "yesterday", "again", "rn", "now", "tn"})
# quotation marks: 🎵...🎵 quotes a song; a lone ' token is a quote mark ("i'm" splits as i + 'm)
QUOTES = frozenset({'"', "'", "“", "”", "«", "»", "🎵", "🎶"})
# "a song about wanting to end it": a statement named as a work's subject is not the sender's
ABOUT_WORDS = frozenset({"about", "called", "titled", "named"})
FIRST_PERSON = frozenset({"i", "me", "myself", "im", "i'm", "my", "mine", "i've", "i'd", "i'll"})
THIRD_PERSON = frozenset({"he", "she", "they", "him", "her", "his", "hers", "them", "their"})
SENTENCE_BREAKS = frozenset({".", "!", "?", "\n"})
# A long post told only in the third person ("she sat down. she had written a goodbye letter")
# is a story or a report about someone else: its statements are that person's, not the sender's.
NARRATIVE_MIN_TOKENS = 40
NARRATIVE_MIN_THIRD_PERSON = 3
# In a long post a bare ambiguous word ("suicide") is only the sender's own statement when its
# sentence also has "i", "me" or "my"; a short message ("suicide. again.") stays the sender's.
LONG_POST_TOKENS = 25
# ...and a statement in a sentence with no "i", "me" or "my" belongs to whoever that sentence
# names: people in general ("white men should die", "god has a plan") -> nobody's risk;
# he / she / they ("she said she wants to die tonight") -> someone else's (third party).
GENERIC_PEOPLE = frozenset(
    {"you", "u", "ya", "we", "people", "men", "women", "guys", "person", "god", "government"}
    | {"someone", "somebody", "anyone", "anybody", "everybody"}
)
# Someone who talks about cuts, scars, urges and relapses in the first person is talking about
# self-harm they know, even when no single sentence is a statement: medium (support offered).
SH_TALK_TERMS = 3
_CUE_KINDS = frozenset({Kind.GAMING, Kind.LYRICS, Kind.TOPIC})
_RISK_KINDS = STATEMENT_KINDS | {Kind.METHOD, Kind.ATTEMPT, Kind.HARASSMENT, Kind.THIRD_PARTY}


@dataclass(frozen=True, slots=True)
class PatternVerdict:
    risk: RiskLevel
    signals: tuple[str, ...]
    third_party: bool = False
    harassment: bool = False
    minimising: bool = False
    softened: bool = False  # a negation or past cue demoted a risky phrase
    excepted: bool = False  # an idiom, game or lyric explained a risky phrase away
    matched: bool = False  # any self statement survived
    names_other: bool = False  # a third-party subject ("my friend", "she") appears
    game_talk: bool = False  # a gaming cue appears ("raid boss", "respawn")


def _clauses(doc: Doc) -> list[int]:
    ids, current = [], 0
    for tok in doc:
        if tok.lower_ in CLAUSE_BREAKS or tok.text.count("\n"):
            current += 1
        ids.append(current)
    return ids


def _sentences(doc: Doc) -> list[int]:
    ids, current = [], 0
    for tok in doc:
        ids.append(current)
        if tok.text in SENTENCE_BREAKS or "\n" in tok.text:
            current += 1
    return ids


def _outside_quotes(doc: Doc) -> list[bool]:
    inside, out = False, []
    for tok in doc:
        if tok.text in QUOTES:
            inside = not inside
            out.append(False)
            continue
        out.append(not inside)
    return out


def _narrative(doc: Doc) -> bool:
    """A long text that tells rather than asks: no first person and no question outside quotes,
    and a recurring he/she/they. A worried member's report ("she posted a goodbye, can a mod
    check on her?") asks something, so it stays third-party concern."""
    if len(doc) < NARRATIVE_MIN_TOKENS:
        return False
    outside = [tok for tok, out in zip(doc, _outside_quotes(doc), strict=True) if out]
    if any(tok.lower_ in FIRST_PERSON or tok.text == "?" for tok in outside):
        return False
    return sum(1 for tok in outside if tok.lower_ in THIRD_PERSON) >= NARRATIVE_MIN_THIRD_PERSON


def _sentence_words(doc: Doc, sentence: list[int]) -> dict[int, frozenset[str]]:
    words: dict[int, set[str]] = {}
    for tok, sid in zip(doc, sentence, strict=True):
        words.setdefault(sid, set()).add(tok.lower_)
    return {sid: frozenset(found) for sid, found in words.items()}


def _sentence_owner(words: frozenset[str], hit: Hit) -> str:
    """Whose statement a hit is, in a long post: "self", "other" (he/she/they) or "nobody".

    `words` are the lower-case words of the hit's sentence."""
    if hit.spec.kind not in STATEMENT_KINDS and hit.spec.kind not in (Kind.METHOD, Kind.ATTEMPT):
        return "self"
    if words & FIRST_PERSON:
        return "self"
    if hit.spec.ambiguous or words & GENERIC_PEOPLE:
        return "nobody"
    if words & THIRD_PERSON:
        return "other"
    return "self"


def _negates(doc: Doc, clause: list[int], neg: Hit, hit: Hit, others: list[Hit]) -> bool:
    """`neg` ends right before `hit` in the same clause, with no new subject or comma between."""
    if clause[neg.end - 1] != clause[hit.start] or not 0 <= hit.start - neg.end <= NEGATION_WINDOW:
        return False
    if any(doc[i].lower_ in FIRST_PERSON or doc[i].text == "," for i in range(neg.end, hit.start)):
        return False
    if neg.end < len(doc) and doc[neg.end].lemma_ in NOT_NEGATING_NEXT:  # "can't stop thinking"
        return False
    after = tuple(tok.lower_ for tok in doc[neg.end : neg.end + 3])
    if any(after[: len(filler)] == filler for filler in NOT_NEGATING_FILLERS):
        return False
    return not any(_overlaps(neg, o) for o in others if o is not hit)


def _bearing_on(
    hit: Hit, cues: list[Hit], sentence: list[int], *, whole_message: bool
) -> list[Hit]:
    """The cues that can explain `hit`: anywhere in the message, or only in its own sentence."""
    if whole_message:
        return cues
    return [c for c in cues if sentence[c.start] == sentence[hit.start]]


def _names_recent_time(doc: Doc, hit: Hit) -> bool:
    words = [tok.lower_ for tok in doc[hit.start : hit.end]]
    return bool(RECENT_WORDS.intersection(words)) or "last night" in " ".join(words)


def _quoted(doc: Doc, hit: Hit) -> bool:
    """Inside a quotation ("the line "i'd rather die" in that song")."""
    before = sum(1 for tok in doc[: hit.start] if tok.text in QUOTES)
    after = any(tok.text in QUOTES for tok in doc[hit.end :])
    return before % 2 == 1 and after


def _subject_of_a_work(doc: Doc, clause: list[int], hit: Hit, cues: list[Hit]) -> Hit | None:
    """The cue of "<song|film|book> about|called <statement>" in one clause, if any."""
    before = range(max(0, hit.start - 2), hit.start)
    if not any(doc[i].lower_ in ABOUT_WORDS for i in before):
        return None
    return next(
        (
            c
            for c in cues
            if c.end <= hit.start
            and clause[c.start] == clause[hit.start]
            and not any(doc[i].lower_ in FIRST_PERSON for i in range(c.end, hit.start))
        ),
        None,
    )


def _inside(inner: Hit, outer: Hit) -> bool:
    """`inner` lies within the longer `outer` ("kys" inside "i should just kys")."""
    return (
        outer.start <= inner.start
        and inner.end <= outer.end
        and outer.end - outer.start > inner.end - inner.start
    )


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.start < b.end and b.start < a.end


def assess_hits(doc: Doc, hits: list[Hit]) -> PatternVerdict:
    clause = _clauses(doc)
    by_kind: dict[Kind, list[Hit]] = {}
    for hit in hits:
        by_kind.setdefault(hit.spec.kind, []).append(hit)
    signals: list[str] = []
    softened = excepted = False

    exceptions = [h for h in hits if h.spec.kind in EXCEPTION_KINDS or h.spec.kind in _CUE_KINDS]
    message_cues = [h for h in exceptions if h.spec.kind in _CUE_KINDS]
    survivors: list[Hit] = []
    sentence = _sentences(doc)
    words = _sentence_words(doc, sentence) if len(doc) >= LONG_POST_TOKENS else {}
    long_post = len(doc) >= LONG_POST_TOKENS
    narrative = _narrative(doc)
    theirs: set[tuple[int, int, str]] = set()  # statements a long post makes about he/she/they
    harassing = [h for h in hits if h.spec.kind is Kind.HARASSMENT]
    for hit in (h for h in hits if h.spec.kind in _RISK_KINDS):
        cancel = next(
            (
                e
                for e in exceptions
                if _overlaps(e, hit)
                # "kys noob": a game word does not excuse telling someone to kill themselves
                and not (hit.spec.kind is Kind.HARASSMENT and e.spec.kind in _CUE_KINDS)
                # "wish i could respawn irl": a game word inside a longer statement is part of it
                and not (e.spec.kind in _CUE_KINDS and _inside(e, hit))
            ),
            None,
        )
        if cancel is None and hit.spec.kind is not Kind.HARASSMENT:
            # "go jump off a bridge" said to someone else is not the sender's method
            cancel = next((h for h in harassing if _overlaps(h, hit) and not _inside(h, hit)), None)
        # a long post is read sentence by sentence: "the new season is out" in one sentence
        # does not explain away "i'm going off the bridge this weekend" in another
        cues = _bearing_on(hit, message_cues, sentence, whole_message=not long_post)
        if cancel is None and cues and (hit.spec.ambiguous or _quoted(doc, hit)):
            cancel = cues[0]
        if cancel is None:
            cancel = _subject_of_a_work(doc, clause, hit, message_cues)
        if cancel is not None:
            signals.append(f"{cancel.spec.kind.value}:{cancel.spec.id}")
            excepted = True
            continue
        owner = _sentence_owner(words[sentence[hit.start]], hit) if long_post else "self"
        if owner == "nobody":
            signals.append(f"impersonal:{hit.spec.id}")
            softened = True
            continue
        if owner == "other":
            theirs.add((hit.start, hit.end, hit.spec.id))
        survivors.append(hit)
    # a shorter statement inside a longer one adds nothing ("want to die" in "want to die tonight")
    # The longer phrase is the more specific one and wins whatever its level: "don't want to die"
    # (low) over "want to die", "thinking about hurting myself" (medium) over "hurting myself".
    survivors = [
        h
        for h in survivors
        if not any(
            o is not h
            and o.start <= h.start
            and h.end <= o.end
            and (o.end - o.start) > (h.end - h.start)
            for o in survivors
        )
    ]
    # "posted a goodbye message", "a suicidal friend": a third-party statement that overlaps a
    # statement says whose it is, whatever their lengths
    reports = [
        h for h in survivors if h.spec.kind is Kind.THIRD_PARTY and h.spec.risk > RiskLevel.NONE
    ]
    survivors = [
        h
        for h in survivors
        if h.spec.kind is Kind.THIRD_PARTY
        or h.spec.person == "self"
        or not any(_overlaps(r, h) for r in reports)
    ]

    # "kms this exam lol": laughter plus a trivial trigger makes high slang hyperbole (low); in
    # a long post both must be in the statement's sentence ("everyone laughed at my speech ...
    # they'd all be fine if i disappeared ... the dj played our song")
    laughs = by_kind.get(Kind.LAUGHTER, [])
    trivia = by_kind.get(Kind.TRIVIAL, [])
    negations = by_kind.get(Kind.NEGATION, [])
    pasts = by_kind.get(Kind.PAST, [])
    subjects = [h for h in by_kind.get(Kind.THIRD_PARTY, []) if h.spec.risk == RiskLevel.NONE]
    risk = RiskLevel.NONE
    self_high = False
    suicidal_high = False  # a high statement that is not self-harm: a time makes it critical
    third_party = harassment = matched = False
    for hit in survivors:
        spec, level = hit.spec, hit.spec.risk
        demoted = True  # set back below unless a negation, hyperbole or past cue applies
        if spec.kind is Kind.THIRD_PARTY and level == RiskLevel.NONE:
            continue
        if spec.kind is Kind.HARASSMENT:
            harassment = True
            signals.append(f"harassment:{spec.id}")
            continue
        if any(_negates(doc, clause, n, hit, survivors) for n in negations):
            signals.append(f"negated:{spec.id}")
            softened = True
            if spec.kind in (Kind.METHOD, Kind.ATTEMPT):
                continue
            level = min(level, RiskLevel.LOW)
        elif (
            level == RiskLevel.HIGH
            and spec.kind in (Kind.SLANG, Kind.EXPLICIT)
            and (
                (
                    _bearing_on(hit, laughs, sentence, whole_message=not long_post)
                    and _bearing_on(hit, trivia, sentence, whole_message=not long_post)
                )
                or (spec.exclamation and _bearing_on(hit, trivia, sentence, whole_message=False))
            )
        ):
            signals.append(f"hyperbole:{spec.id}")
            softened = True
            level = RiskLevel.LOW
        elif (
            level > RiskLevel.LOW
            and any(
                clause[p.start] == clause[hit.start] for p in pasts if p.spec.risk > RiskLevel.LOW
            )
            and not _names_recent_time(doc, hit)
        ):
            signals.append(f"past:{spec.id}")
            softened = True
            recovered = any(p.spec.risk == RiskLevel.LOW for p in pasts)
            level = min(level, RiskLevel.LOW if recovered else RiskLevel.MEDIUM)
        else:
            demoted = False
        if narrative and spec.person == "any":
            # a story or a report about someone else: the sender states no concern of their own
            signals.append(f"narrative:{spec.id}")
            risk = max(risk, min(level, RiskLevel.LOW))
            continue
        is_other = (
            spec.kind is Kind.THIRD_PARTY
            or (spec.person == "any" and (hit.start, hit.end, spec.id) in theirs)
            or (
                spec.person == "any"
                and any(
                    s.end <= hit.start
                    and clause[s.start] == clause[hit.start]
                    and not any(doc[i].lower_ in FIRST_PERSON for i in range(s.end, hit.end))
                    for s in subjects
                )
            )
        )
        if is_other:
            third_party = True
            signals.append(f"third_party:{spec.id}")
            risk = max(risk, RiskLevel.MEDIUM if level >= RiskLevel.HIGH else RiskLevel.LOW)
            continue
        signals.append(f"pattern:{spec.id}")
        if (spec.kind in STATEMENT_KINDS or spec.kind is Kind.ATTEMPT) and not demoted:
            matched = True
        if spec.kind is not Kind.METHOD and level >= RiskLevel.HIGH:
            self_high = True
            suicidal_high = suicidal_high or spec.kind is not Kind.SELF_HARM
        risk = max(risk, level)

    own_methods = [
        h
        for h in survivors
        if h.spec.kind is Kind.METHOD
        and h.spec.risk >= RiskLevel.HIGH
        and f"pattern:{h.spec.id}" in signals
    ]
    timing = [
        h
        for h in hits
        if h.spec.kind is Kind.TIMING and not any(_overlaps(h, e) for e in exceptions)
    ]
    intents = [
        h
        for h in hits
        if h.spec.kind is Kind.INTENT
        and any(clause[h.start] == clause[m.start] and h.start <= m.start for m in own_methods)
    ]
    terms = {h.spec.id + ":" + doc[h.start : h.end].lemma_ for h in by_kind.get(Kind.SH_TERM, [])}
    if (
        risk < RiskLevel.MEDIUM
        and len(terms) >= SH_TALK_TERMS
        and not narrative
        and any(tok.lower_ in FIRST_PERSON for tok in doc)
    ):
        risk = RiskLevel.MEDIUM
        signals.append("self_harm_talk")
    # "i cut myself today" is a recent act (high); "i want to die today" names a time (critical)
    cues = (own_methods if self_high else []) + (timing if suicidal_high or own_methods else [])
    cues += intents
    if cues and risk < RiskLevel.CRITICAL and (self_high or own_methods):
        risk = RiskLevel.CRITICAL
        signals.append(f"escalated:{cues[0].spec.id}")

    for hit in exceptions:  # say which idiom / game / song / topic cue was seen, once
        signals.append(f"{hit.spec.kind.value}:{hit.spec.id}")
    return PatternVerdict(
        risk=risk,
        signals=tuple(dict.fromkeys(signals)),
        third_party=third_party and not self_high,
        harassment=harassment,
        minimising=bool(by_kind.get(Kind.MINIMISING)),
        softened=softened,
        excepted=excepted or any(h.spec.kind in EXCEPTION_KINDS for h in hits),
        matched=matched,
        names_other=bool(subjects),
        game_talk=bool(by_kind.get(Kind.GAMING)),
    )
