"""Pattern layer alone (no trained model): what a person would notice if a rule broke."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.risk import RiskLevel
from bot.nlu.patterns import PatternError, PatternMatcher, load_pattern_set
from bot.nlu.rules import PatternVerdict, assess_hits
from bot.nlu.text import build_nlp, normalise

PATTERNS = Path(__file__).resolve().parents[2] / "nlu" / "patterns"
CASES = yaml.safe_load((Path(__file__).with_name("rule_cases.yml")).read_text(encoding="utf-8"))
EXACT = ("risk_statements", "means_attempts_and_passive_wishes", "probe_lessons")
EXACT += ("fourth_probe_lessons", "ordinary_talk_and_its_crisis_twin")


@pytest.fixture(scope="module")
def judge():  # type: ignore[no-untyped-def]
    pattern_set = load_pattern_set(PATTERNS)
    nlp = build_nlp(pattern_set.lemma_overrides)
    matcher = PatternMatcher(pattern_set, nlp)

    def verdict(text: str) -> PatternVerdict:
        doc = nlp(normalise(text))
        return assess_hits(doc, matcher.find(doc), matcher.lexicon)

    verdict.matcher = matcher  # type: ignore[attr-defined]
    verdict.nlp = nlp  # type: ignore[attr-defined]
    verdict.specs = pattern_set.specs  # type: ignore[attr-defined]
    return verdict


def test_every_pattern_example_matches_and_counter_example_does_not(judge) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for spec in judge.specs.values():
        for text in spec.examples:
            ids = {hit.spec.id for hit in judge.matcher.find(judge.nlp(normalise(text)))}
            if spec.id not in ids:
                failures.append(f"{spec.id} misses {text!r}")
        for text in spec.counter_examples:
            ids = {hit.spec.id for hit in judge.matcher.find(judge.nlp(normalise(text)))}
            if spec.id in ids:
                failures.append(f"{spec.id} wrongly matches {text!r}")
    assert not failures, failures


@pytest.mark.parametrize(
    ("level", "text"), [(RiskLevel[lvl.upper()], text) for key in EXACT for lvl, text in CASES[key]]
)
def test_each_case_gets_exactly_its_level(judge, level: RiskLevel, text: str) -> None:  # type: ignore[no-untyped-def]
    assert judge(text).risk == level


@pytest.mark.parametrize("text", CASES["idioms_games_and_lyrics"])
def test_idioms_games_and_lyrics_are_not_risk(judge, text: str) -> None:  # type: ignore[no-untyped-def]
    assert judge(text).risk == RiskLevel.NONE


@pytest.mark.parametrize("text", CASES["games_jokes_and_quotes"])
def test_games_jokes_and_quotes_are_not_the_senders_crisis(judge, text: str) -> None:  # type: ignore[no-untyped-def]
    assert judge(text).risk <= RiskLevel.LOW


@pytest.mark.parametrize("text", CASES["reports_about_someone_else"])
def test_a_report_about_someone_else_wins_over_the_words_inside_it(judge, text: str) -> None:  # type: ignore[no-untyped-def]
    verdict = judge(text)
    assert verdict.third_party, text
    assert verdict.risk <= RiskLevel.MEDIUM, text


@pytest.mark.parametrize("text", CASES["insults_aimed_at_others"])
def test_insults_aimed_at_someone_else_are_harassment(judge, text: str) -> None:  # type: ignore[no-untyped-def]
    verdict = judge(text)
    assert verdict.harassment, text
    assert verdict.risk == RiskLevel.NONE, text


def test_negation_demotes_to_low(judge) -> None:  # type: ignore[no-untyped-def]
    verdict = judge("i would never kill myself")
    assert verdict.risk == RiskLevel.LOW
    assert any(s.startswith("negated:") for s in verdict.signals)


def test_negation_does_not_cross_to_a_new_statement(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("i'm not ok i want to die").risk == RiskLevel.HIGH
    assert judge("i don't want to live anymore").risk == RiskLevel.HIGH
    assert judge("i can't stop thinking about killing myself").risk == RiskLevel.HIGH


def test_distant_past_is_medium_and_recovery_low(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("i used to cut myself").risk == RiskLevel.MEDIUM
    assert judge("i tried to kill myself years ago, i'm doing great now").risk <= RiskLevel.LOW


def test_third_party_concern_is_not_the_senders_risk(judge) -> None:  # type: ignore[no-untyped-def]
    verdict = judge("my friend wants to kill herself")
    assert verdict.third_party
    assert verdict.risk == RiskLevel.MEDIUM
    own = judge("my friend says i should talk to someone because i want to die")
    assert own.risk >= RiskLevel.HIGH
    assert judge("a kid in my server keeps posting kms, is that serious").third_party
    assert judge("meri dost ne kaha woh khud ko khatam kar degi").third_party  # code-switched
    assert judge("someone help, want to die").risk >= RiskLevel.HIGH  # a plea, not a report


_STORY = (
    "the old lighthouse keeper had lost his wife the winter before. every evening he climbed "
    "the stairs and stared at the sea, and the villagers said he no longer wanted to live. "
    "one morning they found a goodbye letter on his table, but he was down at the harbour, "
    "mending his nets as if nothing had happened."
)


def test_a_story_told_in_the_third_person_is_not_the_senders_risk(judge) -> None:  # type: ignore[no-untyped-def]
    verdict = judge(_STORY)
    assert verdict.risk <= RiskLevel.LOW
    assert any(s.startswith("narrative:") for s in verdict.signals)
    # the same worry asked about is a member's concern, not a story
    asked = _STORY + " can a mod check on him?"
    assert judge(asked).risk == RiskLevel.MEDIUM and judge(asked).third_party


def test_a_long_post_about_other_people_is_not_a_statement_about_me(judge) -> None:  # type: ignore[no-untyped-def]
    rant = (
        "honestly the comment section under that article was a mess. half of them were saying "
        "people like him should die, the other half were arguing about taxes, and nobody read "
        "past the headline before posting."
    )
    assert judge(rant).risk <= RiskLevel.LOW
    mine = (
        "honestly the comment section under that article was a mess and it got to me. "
        "i read it all night and now i want to die, i can't shake it off."
    )
    assert judge(mine).risk >= RiskLevel.HIGH


def test_a_short_message_without_a_subject_is_still_the_senders(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("he left. want to die").risk >= RiskLevel.HIGH
    assert judge("suicide. again. it's all i think about").risk >= RiskLevel.HIGH


def test_own_self_harm_talk_and_eating_disorders_are_medium(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("cutting helps me calm down when everything is loud").risk == RiskLevel.MEDIUM
    assert judge("my ed has been so loud all week").risk == RiskLevel.MEDIUM
    assert judge("i made myself throw up after dinner again").risk == RiskLevel.MEDIUM
    assert judge("i don't cut anymore").risk <= RiskLevel.LOW
    # "not everyone" is not a negation of what the sender does
    assert judge("not everyone does sh for the same reason, for me it's control").risk == (
        RiskLevel.MEDIUM
    )


def test_a_recent_self_harm_act_is_high_and_a_named_time_to_die_is_critical(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("i cut myself again this evening").risk == RiskLevel.HIGH
    assert judge("really want to sh tonight").risk == RiskLevel.HIGH
    assert judge("i want to die tonight").risk == RiskLevel.CRITICAL
    assert judge("i want to cut myself, the razor is in my hand").risk == RiskLevel.CRITICAL


def test_self_harm_as_a_school_topic_is_not_a_disclosure(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("my essay on self harm prevention is due friday").risk <= RiskLevel.LOW
    assert judge("self harming again").risk == RiskLevel.HIGH


def test_talking_at_length_about_ones_own_cuts_scars_and_urges_is_medium(judge) -> None:  # type: ignore[no-untyped-def]
    talk = (
        "summer is coming and i dread wearing shorts because of the scars. the urges have "
        "been quieter since i threw away the last razor"
    )
    verdict = judge(talk)
    assert verdict.risk == RiskLevel.MEDIUM and "self_harm_talk" in verdict.signals
    # one such word is not enough, and without "i"/"my" it is not about the sender
    assert judge("i got a paper cut and the scar is tiny").risk <= RiskLevel.LOW
    assert judge("razors, blades and scars: a history of barbering").risk <= RiskLevel.LOW


def test_a_song_quoted_or_named_is_not_a_disclosure(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("🎵 i don't wanna die, i sometimes wish i'd never been born 🎵").risk <= (
        RiskLevel.LOW
    )
    assert judge("that new song about wanting to end it is so good").risk <= RiskLevel.LOW
    # but hearing a song and then saying it about oneself is a disclosure
    heard = judge("i heard a song today and now i'm thinking about wanting to end it")
    assert heard.risk >= RiskLevel.HIGH


def test_kys_at_someone_else_is_harassment_but_kms_is_self(judge) -> None:  # type: ignore[no-untyped-def]
    other = judge("kys noob")
    assert other.harassment and other.risk == RiskLevel.NONE
    self_ = judge("i should just kys honestly")
    assert not self_.harassment and self_.risk >= RiskLevel.HIGH
    taunt = judge("you're such a loser, go jump off a bridge")
    assert taunt.harassment and taunt.risk == RiskLevel.NONE


def test_hyperbole_about_a_trivial_thing_is_low(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("this class is so boring i want to kms lol").risk == RiskLevel.LOW
    assert judge("i want to kms").risk == RiskLevel.HIGH
    assert judge("ok i'll do it tomorrow, the dishes can wait").risk == RiskLevel.NONE
    assert judge("i'll actually do it this time").risk >= RiskLevel.HIGH
    assert judge("oh great another monday, kill me now").risk == RiskLevel.LOW  # sarcasm
    assert judge("i'm so done with life rn 😂 my cat knocked over my coffee").risk == RiskLevel.LOW
    assert judge("oh great, i want to die").risk == RiskLevel.HIGH  # no trivial trigger


def test_an_exclamation_about_a_trivial_thing_is_low_without_a_laugh(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("kill me now, i have a 3 hour meeting").risk == RiskLevel.LOW
    assert judge("kms this calc homework makes zero sense").risk == RiskLevel.LOW
    assert judge("just stepped on a lego. goodbye cruel world").risk >= RiskLevel.HIGH  # no trigger
    assert judge("kms. i can't do this anymore").risk >= RiskLevel.HIGH
    # only exclamations: a plain statement next to a trivial word keeps its level
    assert judge("i want to die, this exam was the last straw").risk >= RiskLevel.HIGH


def test_telling_oneself_to_kys_is_the_senders_own_risk(judge) -> None:  # type: ignore[no-untyped-def]
    verdict = judge("literally tell myself to kys every morning")
    assert not verdict.harassment and verdict.risk >= RiskLevel.HIGH


def test_to_die_for_is_an_idiom_only_about_a_thing(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("this cake is to die for").risk == RiskLevel.NONE
    assert judge("i'd die for a coffee rn").risk == RiskLevel.NONE
    assert judge("been wanting to die for weeks").risk >= RiskLevel.HIGH
    assert judge("i've wanted to die for a long time").risk >= RiskLevel.HIGH


def test_pills_taken_a_while_ago_are_an_attempt_even_if_now_regretted(judge) -> None:  # type: ignore[no-untyped-def]
    text = "took the pills an hour ago and now i feel sick and i dont want to die anymore"
    assert judge(text).risk == RiskLevel.CRITICAL
    assert judge("idk what i took but it was the whole strip").risk == RiskLevel.CRITICAL
    assert judge("i took my pills this morning like the doctor said").risk == RiskLevel.NONE


def test_more_third_party_reports(judge) -> None:  # type: ignore[no-untyped-def]
    for text in (
        "little sister told me she wishes she was dead",
        "my brother took his meds all at once and is acting weird",
        "gf sent me a goodbye message and isn't answering her phone",
        "friend told me about her suicide plan",
        "bf's been self harming and i don't know what to do",
        "cousin gave away all his stuff",
    ):
        verdict = judge(text)
        assert verdict.third_party, text
        assert verdict.risk <= RiskLevel.MEDIUM, text


def test_bye_forever_is_a_farewell(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("bye forever").risk >= RiskLevel.HIGH


def test_minimising_is_recognised(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("you misunderstood, i'm fine").minimising
    assert judge("jk").minimising


def test_broken_pattern_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("patterns:\n  - id: x\n    kind: nonsense\n", "utf-8")
    with pytest.raises(PatternError, match=r"bad\.yml"):
        load_pattern_set(tmp_path)


def test_not_gonna_lie_is_a_filler_not_a_negation(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("not gonna lie sewerslide is looking real attractive rn").risk >= RiskLevel.HIGH
    assert judge("i would never kill myself").risk <= RiskLevel.LOW


def test_a_relapse_that_names_last_night_is_recent_whatever_came_before(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("relapsed last night after 200 days clean from self harm").risk == RiskLevel.HIGH
    assert judge("i used to cut myself when i was 15").risk <= RiskLevel.MEDIUM


def test_a_parent_wishing_their_child_dead_is_about_the_sender(judge) -> None:  # type: ignore[no-untyped-def]
    rejected = judge("my dad says he'd rather have a dead son than a gay one")
    assert not rejected.third_party and rejected.risk == RiskLevel.MEDIUM
    assert judge("mom said she'd rather i was dead than a lesbian").risk >= RiskLevel.HIGH


def test_a_plea_for_help_is_medium_but_help_with_a_task_is_not(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("i really need help").risk == RiskLevel.MEDIUM
    assert judge("someone please help me").risk == RiskLevel.MEDIUM
    assert judge("can someone help me with my maths homework").risk == RiskLevel.NONE


def test_not_going_to_do_it_reassures(judge) -> None:  # type: ignore[no-untyped-def]
    verdict = judge("i'm not gonna do it, don't worry")
    assert verdict.minimising and verdict.risk <= RiskLevel.LOW
    assert judge("i'm not going to do it but i want to be dead").risk >= RiskLevel.HIGH


def test_a_long_post_is_judged_sentence_by_sentence_for_cues_and_jokes(judge) -> None:  # type: ignore[no-untyped-def]
    show = (
        "so my week has been wild, got a parking ticket and the landlord is raising rent again. "
        "i've decided i'm going off the bridge this weekend so the rent isnt my problem anymore. "
        "anyway the new season of that baking show is out have u seen it"
    )
    assert judge(show).risk == RiskLevel.CRITICAL
    wedding = (
        "my sister's wedding was beautiful, i gave a speech and everyone laughed lol. the whole "
        "time i kept thinking they'd all be fine if i disappeared for good. the dj played our "
        "song from when we were kids though, that was nice"
    )
    assert judge(wedding).risk >= RiskLevel.HIGH
