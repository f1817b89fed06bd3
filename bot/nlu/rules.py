"""Turn pattern hits into a risk verdict: exceptions, negation, past tense, third party, escalation.

`assess_hits` runs the steps in `PIPELINE`, in that order, over one `_State`; the order is the
documented contract (nlu/README.md, "How a message is assessed"):
1. an idiom / lyric / game hit that overlaps a statement cancels it;
   a game or song cue anywhere cancels statements marked `ambiguous`;
2. a negation right before a statement (same clause, within its language's window), or inside it
   where its pattern does not spell it, demotes it to low; a distant-past cue in the same clause
   caps it at medium;
3. a third-party subject before a statement (no "i" in between) makes it someone else's risk;
4. a self statement at high or above plus a method or timing cue becomes critical.
The words the steps look for (negation, first person, clause breaks ...) are data, one file per
language: `nlu/lexicon/*.yml`, loaded by `bot.nlu.lexicon`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from spacy.tokens import Doc

from bot.core.risk import RiskLevel
from bot.nlu.lexicon import Lexicon
from bot.nlu.patterns import EXCEPTION_KINDS, STATEMENT_KINDS, Hit, Kind, PatternSpec
from bot.nlu.shape import clauses, is_narrative, sentence_words, sentences

# a negation pattern written in nlu/patterns/ (not from a lexicon file) reaches this far
DEFAULT_NEGATION_WINDOW = 3
# In a long post a bare ambiguous word ("suicide") is only the sender's own statement when its
# sentence also has "i", "me" or "my"; a short message ("suicide. again.") stays the sender's.
# ...and a statement in a sentence with no "i", "me" or "my" belongs to whoever that sentence
# names: people in general ("white men should die", "god has a plan") -> nobody's risk;
# he / she / they ("she said she wants to die tonight") -> someone else's (third party).
LONG_POST_TOKENS = 25
# Someone who talks about cuts, scars, urges and relapses in the first person is talking about
# self-harm they know, even when no single sentence is a statement: medium (support offered).
SH_TALK_TERMS = 3
_CUE_KINDS = frozenset({Kind.GAMING, Kind.LYRICS, Kind.TOPIC})
# statements whose subject is a person; a distress cue ("it's pointless") is left as it is
_SUBJECT_KINDS = frozenset({Kind.EXPLICIT, Kind.SLANG, Kind.BURDEN, Kind.SELF_HARM})
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


@dataclass(slots=True)
class _State:
    """One message on its way through `PIPELINE`: what it is, and what the steps found so far."""

    doc: Doc
    hits: list[Hit]
    lex: Lexicon
    clause: list[int]  # clause number per token
    sentence: list[int]  # sentence number per token
    long_post: bool
    narrative: bool
    words: dict[int, frozenset[str]]  # lower-case words per sentence (long posts only)
    by_kind: dict[Kind, list[Hit]]
    exceptions: list[Hit]  # idiom / lyric hits and game / song / topic cues
    survivors: list[Hit] = field(default_factory=list)  # risk hits not explained away
    theirs: set[tuple[int, int, str]] = field(default_factory=set)  # said of he/she/they
    signals: list[str] = field(default_factory=list)
    risk: RiskLevel = RiskLevel.NONE
    softened: bool = False
    excepted: bool = False
    matched: bool = False
    self_high: bool = False
    suicidal_high: bool = False  # a high statement that is not self-harm: a time makes it critical
    third_party: bool = False
    harassment: bool = False

    def kind(self, kind: Kind) -> list[Hit]:
        return self.by_kind.get(kind, [])

    @property
    def cues(self) -> list[Hit]:
        return [h for h in self.exceptions if h.spec.kind in _CUE_KINDS]


def _read_message(doc: Doc, hits: list[Hit], lex: Lexicon) -> _State:
    """The message's shape: clauses, sentences, long post or story, hits by kind."""
    by_kind: dict[Kind, list[Hit]] = {}
    for hit in hits:
        by_kind.setdefault(hit.spec.kind, []).append(hit)
    sentence = sentences(doc, lex)
    long_post = len(doc) >= LONG_POST_TOKENS
    return _State(
        doc=doc,
        hits=hits,
        lex=lex,
        clause=clauses(doc, lex),
        sentence=sentence,
        long_post=long_post,
        narrative=is_narrative(doc, lex),
        words=sentence_words(doc, sentence) if long_post else {},
        by_kind=by_kind,
        exceptions=[h for h in hits if h.spec.kind in EXCEPTION_KINDS | _CUE_KINDS],
    )


def _drop_explained_away(s: _State) -> None:
    """Idioms, games, songs, works and impersonal sentences take risk hits out."""
    for hit in (h for h in s.hits if h.spec.kind in _RISK_KINDS):
        cancel = _explanation(s, hit)
        if cancel is not None:
            s.signals.append(f"{cancel.spec.kind.value}:{cancel.spec.id}")
            s.excepted = True
            continue
        owner = _sentence_owner(s, hit) if s.long_post else "self"
        if owner == "nobody":
            s.signals.append(f"impersonal:{hit.spec.id}")
            s.softened = True
            continue
        if owner == "other":
            s.theirs.add((hit.start, hit.end, hit.spec.id))
        s.survivors.append(hit)


def _drop_said_of_things(s: _State) -> None:
    """A statement said of a thing, or going on to one, is nobody's ("needs to die", "of work")."""
    # "this thread needs to die", "the guy who will end everything": the subject is a thing or
    # someone in general; "took a lot of work", "i've started my vacation", "need to cut the
    # heat": the words go on to an object that changes what they mean (`after` in the pattern)
    kept = []
    for hit in s.survivors:
        reason = _continues(s, hit) or _subject_not_mine(s, hit)
        if reason is None:
            kept.append(hit)
            continue
        s.signals.append(f"{reason}:{hit.spec.id}")
        # a thing's subject: the classifier learnt the same words, so it is capped at low; words
        # that go on may still be a crisis in other words ("took too much of my prescription")
        s.softened = s.softened or reason == "impersonal"
    s.survivors = kept


def _keep_longest(s: _State) -> None:
    """A shorter statement inside a longer one adds nothing ("want to die" in "... tonight")."""
    # The longer phrase is the more specific one and wins whatever its level: "don't want to
    # die" (low) over "want to die", "thinking about hurting myself" (medium) over "hurting myself".
    s.survivors = [h for h in s.survivors if not any(_inside(h, o) for o in s.survivors)]


def _drop_reported(s: _State) -> None:
    """A third-party report overlapping a statement says whose it is ("a suicidal friend")."""
    reports = [
        h for h in s.survivors if h.spec.kind is Kind.THIRD_PARTY and h.spec.risk > RiskLevel.NONE
    ]
    s.survivors = [
        h
        for h in s.survivors
        if h.spec.kind is Kind.THIRD_PARTY
        or h.spec.person == "self"
        or not any(_overlaps(r, h) for r in reports)
    ]


def _weigh_statements(s: _State) -> None:
    """Each surviving statement: demoted, someone else's, or the sender's own at its level."""
    for hit in s.survivors:
        spec = hit.spec
        if spec.kind is Kind.THIRD_PARTY and spec.risk == RiskLevel.NONE:
            continue
        if spec.kind is Kind.HARASSMENT:
            s.harassment = True
            s.signals.append(f"harassment:{spec.id}")
            continue
        level, demoted = _demote(s, hit)
        if level is None:  # a negated method or attempt says nothing
            continue
        if s.narrative and spec.person == "any":
            # a story or a report about someone else: the sender states no concern of their own
            s.signals.append(f"narrative:{spec.id}")
            s.risk = max(s.risk, min(level, RiskLevel.LOW))
            continue
        if _someone_elses(s, hit):
            s.third_party = True
            s.signals.append(f"third_party:{spec.id}")
            s.risk = max(s.risk, RiskLevel.MEDIUM if level >= RiskLevel.HIGH else RiskLevel.LOW)
            continue
        s.signals.append(f"pattern:{spec.id}")
        if (spec.kind in STATEMENT_KINDS or spec.kind is Kind.ATTEMPT) and not demoted:
            s.matched = True
        if spec.kind is not Kind.METHOD and level >= RiskLevel.HIGH:
            s.self_high = True
            s.suicidal_high = s.suicidal_high or spec.kind is not Kind.SELF_HARM
        s.risk = max(s.risk, level)


def _mark_self_harm_talk(s: _State) -> None:
    """Several distinct self-harm terms in a first-person message are medium."""
    terms = {h.spec.id + ":" + s.doc[h.start : h.end].lemma_ for h in s.kind(Kind.SH_TERM)}
    if (
        s.risk < RiskLevel.MEDIUM
        and len(terms) >= SH_TALK_TERMS
        and not s.narrative
        and any(tok.lower_ in s.lex.first_person for tok in s.doc)
    ):
        s.risk = RiskLevel.MEDIUM
        s.signals.append("self_harm_talk")


def _escalate_plans(s: _State) -> None:
    """A self statement at high plus the sender's method, a time or an intent is critical."""
    own_methods = [
        h
        for h in s.survivors
        if h.spec.kind is Kind.METHOD
        and h.spec.risk >= RiskLevel.HIGH
        and f"pattern:{h.spec.id}" in s.signals
    ]
    # a means named without intent ("i bought a gun", "od") is a cue only beside a statement
    means = [
        h
        for h in s.survivors
        if h.spec.kind is Kind.METHOD
        and h.spec.risk < RiskLevel.HIGH
        and f"pattern:{h.spec.id}" in s.signals
    ]
    timing = [h for h in s.kind(Kind.TIMING) if not any(_overlaps(h, e) for e in s.exceptions)]
    intents = [
        h
        for h in s.kind(Kind.INTENT)
        if any(s.clause[h.start] == s.clause[m.start] and h.start <= m.start for m in own_methods)
    ]
    # "i cut myself today" is a recent act (high); "i want to die today" names a time (critical)
    cues = (own_methods + means if s.self_high else []) + (
        timing if s.suicidal_high or own_methods else []
    )
    cues += intents
    if cues and s.risk < RiskLevel.CRITICAL and (s.self_high or own_methods):
        s.risk = RiskLevel.CRITICAL
        s.signals.append(f"escalated:{cues[0].spec.id}")


def _name_cues(s: _State) -> None:
    """Say which idiom / game / song / topic cue was seen, once each."""
    s.signals.extend(f"{hit.spec.kind.value}:{hit.spec.id}" for hit in s.exceptions)


# The order of assessment, in one place (each step reads and updates the one `_State`).
PIPELINE: tuple[Callable[[_State], None], ...] = (
    _drop_explained_away,
    _drop_said_of_things,
    _keep_longest,
    _drop_reported,
    _weigh_statements,
    _mark_self_harm_talk,
    _escalate_plans,
    _name_cues,
)


def assess_hits(doc: Doc, hits: list[Hit], lexicon: Lexicon) -> PatternVerdict:
    state = _read_message(doc, hits, lexicon)
    for step in PIPELINE:
        step(state)
    return PatternVerdict(
        risk=state.risk,
        signals=tuple(dict.fromkeys(state.signals)),
        third_party=state.third_party and not state.self_high,
        harassment=state.harassment,
        minimising=bool(state.kind(Kind.MINIMISING)),
        softened=state.softened,
        excepted=state.excepted or any(h.spec.kind in EXCEPTION_KINDS for h in hits),
        matched=state.matched,
        names_other=bool(_subjects(state)),
        game_talk=bool(state.kind(Kind.GAMING)),
    )


# --- what the steps ask of a hit -----------------------------------------------------------


def _explanation(s: _State, hit: Hit) -> Hit | None:
    """The idiom, game, song, harassment or work that explains `hit` away, if any."""
    cancel = next(
        (
            e
            for e in s.exceptions
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
        harassing = s.kind(Kind.HARASSMENT)
        cancel = next((h for h in harassing if _overlaps(h, hit) and not _inside(h, hit)), None)
    # a long post is read sentence by sentence: "the new season is out" in one sentence
    # does not explain away "i'm going off the bridge this weekend" in another
    cues = _bearing_on(hit, s.cues, s.sentence, whole_message=not s.long_post)
    if cancel is None and cues and (hit.spec.ambiguous or _quoted(s, hit)):
        cancel = cues[0]
    if cancel is None:
        cancel = _subject_of_a_work(s, hit)
    return cancel


def _demote(s: _State, hit: Hit) -> tuple[RiskLevel | None, bool]:
    """`hit`'s level after negation, hyperbole or a past cue, and whether one applied.

    None: a negated method or attempt, which then says nothing."""
    spec, level = hit.spec, hit.spec.risk
    if _negated(s, hit):
        s.signals.append(f"negated:{spec.id}")
        s.softened = True
        if spec.kind in (Kind.METHOD, Kind.ATTEMPT):
            return None, True
        return min(level, RiskLevel.LOW), True
    if _hyperbole(s, hit):
        s.signals.append(f"hyperbole:{spec.id}")
        s.softened = True
        return RiskLevel.LOW, True
    pasts = s.kind(Kind.PAST)
    distant = [p for p in pasts if p.spec.risk > RiskLevel.LOW]
    if (
        level > RiskLevel.LOW
        and any(s.clause[p.start] == s.clause[hit.start] for p in distant)
        and not _names_recent_time(s, hit)
    ):
        s.signals.append(f"past:{spec.id}")
        s.softened = True
        recovered = any(p.spec.risk == RiskLevel.LOW for p in pasts)
        return min(level, RiskLevel.LOW if recovered else RiskLevel.MEDIUM), True
    return level, False


def _continues(s: _State, hit: Hit) -> str | None:
    """ "object" when a phrase that must end its clause, or take no object, goes on."""
    after = hit.spec.after
    if after == "any" or hit.end >= len(s.doc):
        return None
    nxt = s.doc[hit.end]
    word, lex = nxt.lower_, s.lex
    if after == "no_object":
        return "object" if word in lex.object_words else None
    if word in lex.clause_breaks or word in lex.closing_words or word in lex.recent_time:
        return None
    if nxt.is_alpha:
        return "object"
    # a comma or a dash: "i took too much, it's ok" ends it; "sunday is the day, the new
    # season drops" goes on
    if not nxt.is_punct or hit.end + 1 >= len(s.doc):
        return None
    return "object" if s.doc[hit.end + 1].lower_ in lex.object_words else None


def _subject_not_mine(s: _State, hit: Hit) -> str | None:
    """ "impersonal" when a statement's subject is a thing or people in general.

    Looking back over `subject_fillers` ("may", "just", "does") in the same clause: a first-person
    word, or nothing at all ("want to die"), is the sender; he / she / they are left to the
    third-party step; a thing makes it nobody's ("say it shouldn't exist"). People in general,
    a word that refers back ("who", "that") or a verb of someone else ("needs", "doesn't") make
    it nobody's only with no "i" in the clause ("i'm the kind of person who wants to die", "not
    everyone does sh for the same reason, for me it's control" are the sender's)."""
    spec, doc, lex = hit.spec, s.doc, s.lex
    # the subject words are English; "ya no quiero estar aquí" is not "ya" (you) speaking
    if spec.kind not in _SUBJECT_KINDS or spec.person != "any" or spec.id.startswith("multi."):
        return None
    clause = s.clause[hit.start]
    before = [i for i in range(hit.start) if s.clause[i] == clause]
    if any(tok.lower_ in lex.first_person for tok in doc[hit.start : hit.end]):
        return None
    verb = doc[hit.start].lower_ in lex.third_person_verbs
    i = hit.start - 1
    while i in before and doc[i].lower_ in lex.subject_fillers:
        verb = verb or doc[i].lower_ in lex.third_person_verbs
        i -= 1
    subject = doc[i].lower_ if i in before and doc[i].is_alpha else ""
    if subject in lex.third_person:
        return None
    if subject in lex.first_person:
        return None
    if subject in lex.thing_subjects:
        return "impersonal"
    if subject in lex.relative_subjects or subject in lex.generic_people or (verb and subject):
        in_clause = (tok for tok, c in zip(doc, s.clause, strict=True) if c == clause)
        mine = any(tok.lower_ in lex.first_person for tok in in_clause)
        return None if mine else "impersonal"
    return None


def _hyperbole(s: _State, hit: Hit) -> bool:
    """ "kms this exam lol": laughter plus a trivial trigger make high slang hyperbole (low)."""
    # in a long post both must be in the statement's sentence ("everyone laughed at my speech
    # ... they'd all be fine if i disappeared ... the dj played our song")
    if hit.spec.risk != RiskLevel.HIGH or hit.spec.kind not in (Kind.SLANG, Kind.EXPLICIT):
        return False
    whole = not s.long_post
    laughs = _bearing_on(hit, s.kind(Kind.LAUGHTER), s.sentence, whole_message=whole)
    trivia = _bearing_on(hit, s.kind(Kind.TRIVIAL), s.sentence, whole_message=whole)
    if laughs and trivia:
        return True
    own_sentence = _bearing_on(hit, s.kind(Kind.TRIVIAL), s.sentence, whole_message=False)
    return hit.spec.exclamation and bool(own_sentence)


def _someone_elses(s: _State, hit: Hit) -> bool:
    """A third-party statement, or one whose subject is he/she/they or "my friend"."""
    spec = hit.spec
    if spec.kind is Kind.THIRD_PARTY:
        return True
    if spec.person != "any":
        return False
    if (hit.start, hit.end, spec.id) in s.theirs:
        return True
    return any(
        subj.end <= hit.start
        and s.clause[subj.start] == s.clause[hit.start]
        and not any(s.doc[i].lower_ in s.lex.first_person for i in range(subj.end, hit.end))
        for subj in _subjects(s)
    )


def _subjects(s: _State) -> list[Hit]:
    return [h for h in s.kind(Kind.THIRD_PARTY) if h.spec.risk == RiskLevel.NONE]


def _negated(s: _State, hit: Hit) -> bool:
    """A negation right before `hit`, or inside it where its pattern does not spell it."""
    if any(_negates(s, neg, hit) for neg in s.kind(Kind.NEGATION)):
        return True
    inside = {tok.lower_ for tok in s.doc[hit.start : hit.end]} & s.lex.negation_inside
    return bool(inside - _spelled(hit.spec))


def _negates(s: _State, neg: Hit, hit: Hit) -> bool:
    """`neg` ends right before `hit` in the same clause, with no new subject or comma between."""
    doc, lex = s.doc, s.lex
    language = neg.spec.id.removeprefix("negation.")
    if not lex.negation_reaches(language, hit.spec.id):
        return False
    window = _negation_window(lex, language)
    if s.clause[neg.end - 1] != s.clause[hit.start] or not 0 <= hit.start - neg.end <= window:
        return False
    between = doc[neg.end : hit.start]
    if any(tok.lower_ in lex.first_person or tok.text == "," for tok in between):
        return False
    if neg.end < len(doc) and doc[neg.end].lemma_ in lex.not_negating_next:  # "can't stop ..."
        return False
    after = tuple(tok.lower_ for tok in doc[neg.end : neg.end + 3])
    if any(after[: len(filler)] == filler for filler in lex.not_negating_fillers):
        return False
    return not any(_overlaps(neg, o) for o in s.survivors if o is not hit)


def _negation_window(lex: Lexicon, language: str) -> int:
    words = lex.negations.get(language)
    return words.window if words is not None else DEFAULT_NEGATION_WINDOW


def _spelled(spec: PatternSpec) -> set[str]:
    """The words a pattern requires: a negation among them is part of what it means."""
    words: set[str] = set()
    for phrase in spec.phrases:
        for slot in phrase.split():
            if slot.endswith("?") or slot.startswith(("*", "re:")):
                continue
            for alt in slot.split("|"):
                words.update(alt.lstrip("=").replace("_", " ").split())
    return words


# --- whose statement, and what surrounds it ------------------------------------------------


def _sentence_owner(s: _State, hit: Hit) -> str:
    """Whose statement a hit is, in a long post: "self", "other" (he/she/they) or "nobody"."""
    if hit.spec.kind not in STATEMENT_KINDS and hit.spec.kind not in (Kind.METHOD, Kind.ATTEMPT):
        return "self"
    words = s.words[s.sentence[hit.start]]
    if words & s.lex.first_person:
        return "self"
    if hit.spec.ambiguous or words & s.lex.generic_people:
        return "nobody"
    if words & s.lex.third_person:
        return "other"
    return "self"


def _bearing_on(
    hit: Hit, cues: list[Hit], sentence: list[int], *, whole_message: bool
) -> list[Hit]:
    """The cues that can explain `hit`: anywhere in the message, or only in its own sentence."""
    if whole_message:
        return cues
    return [c for c in cues if sentence[c.start] == sentence[hit.start]]


def _names_recent_time(s: _State, hit: Hit) -> bool:
    words = [tok.lower_ for tok in s.doc[hit.start : hit.end]]
    text = " ".join(words)
    return any(w in words if " " not in w else w in text for w in s.lex.recent_time)


def _quoted(s: _State, hit: Hit) -> bool:
    """Inside a quotation ("the line "i'd rather die" in that song")."""
    quotes = s.lex.quotes
    before = sum(1 for tok in s.doc[: hit.start] if tok.text in quotes)
    after = any(tok.text in quotes for tok in s.doc[hit.end :])
    return before % 2 == 1 and after


def _subject_of_a_work(s: _State, hit: Hit) -> Hit | None:
    """The cue of "<song|film|book> about|called <statement>" in one clause, if any."""
    doc, clause = s.doc, s.clause
    before = range(max(0, hit.start - 2), hit.start)
    if not any(doc[i].lower_ in s.lex.about_words for i in before):
        return None
    return next(
        (
            c
            for c in s.cues
            if c.end <= hit.start
            and clause[c.start] == clause[hit.start]
            and not any(doc[i].lower_ in s.lex.first_person for i in range(c.end, hit.start))
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
