"""Which country a person means: their words first, then the platform locale; never IP."""

from __future__ import annotations

import pytest

from bot.helplines.continents import RegionSummary
from bot.helplines.directory import HelplineDirectory
from bot.helplines.regions import continents, region_from_locale, resolve_region
from tests.fixtures.helplines.support import GOOD

CODES = frozenset({"GB", "US", "US-CA", "DE", "MX", "IE"})


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("UK", "GB"),
        ("u.k.", "GB"),
        ("england", "GB"),
        ("Scotland", "GB"),
        ("Great Britain", "GB"),
        ("United Kingdom", "GB"),
        ("GB", "GB"),
        ("gbr", "GB"),
        ("Deutschland", "DE"),
        ("germany", "DE"),
        ("Alemania", "DE"),
        ("Allemagne", "DE"),
        ("de", "DE"),
        ("usa", "US"),
        ("the states", "US"),
        ("United States of America", "US"),
        ("Estados Unidos", "US"),
        ("méxico", "MX"),
        ("MEXICO", "MX"),
        ("Éire", "IE"),
        ("I live in Germany", "DE"),
        ("Royaume-Uni", "GB"),
        ("Korea, Republic of", "KR"),  # no file, but the country is still known
        ("Brasil", "BR"),
        ("Türkiye", "TR"),
    ],
)
def test_country_names_in_common_forms(typed: str, expected: str) -> None:
    assert resolve_region(typed, CODES) == expected


def test_subdivision_only_when_it_has_a_file() -> None:
    assert resolve_region("California", CODES) == "US-CA"
    assert resolve_region("Texas", CODES) == "US"
    assert resolve_region("California", {"US"}) == "US"
    assert resolve_region("us-ca", CODES) == "US-CA"


@pytest.mark.parametrize("typed", ["", "   ", "hello there", "I feel awful", "x" * 500])
def test_other_text_is_not_a_region(typed: str) -> None:
    assert resolve_region(typed, CODES) is None


def test_everyday_words_are_not_read_as_country_codes() -> None:
    assert resolve_region("no", CODES) is None  # an answer, not Norway
    assert resolve_region("it", CODES) is None
    assert resolve_region("NO", CODES) == "NO"
    assert resolve_region("Norway", CODES) == "NO"
    assert resolve_region("in", CODES) is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-GB", "GB"),
        ("en_US", "US"),
        ("pt-BR", "BR"),
        ("pt_br", "BR"),
        ("zh-Hant-TW", "TW"),
        ("ja", "JP"),
        ("ko", "KR"),
        ("de", None),  # Germany, Austria or Switzerland: ask rather than guess
        ("en", None),
        ("es-419", None),  # Latin America is not one country
        ("xx-ZZ", None),
        ("", None),
        (None, None),
    ],
)
def test_region_from_platform_locale(locale: str | None, expected: str | None) -> None:
    assert region_from_locale(locale) == expected


def test_picker_groups_by_continent_sorted_by_name() -> None:
    directory = HelplineDirectory.load(GOOD)
    groups = continents(directory.regions())
    assert list(groups) == ["europe", "north-america"]  # the order of continents.yml
    assert [s.code for s in groups["europe"]] == ["IE", "GB"]  # Ireland before United Kingdom
    assert [s.code for s in groups["north-america"]] == ["US-CA", "US"]


def test_picker_follows_the_continent_file_order_and_lists_double_homes() -> None:
    directory = HelplineDirectory.load(GOOD)
    turkey = RegionSummary("TR", "Türkiye", "europe")
    groups = continents([*directory.regions(), turkey], directory.continent_map)
    assert list(groups) == ["europe", "north-america", "asia"]
    assert turkey in groups["europe"] and turkey in groups["asia"]


def test_regions_without_a_continent_go_under_other() -> None:
    assert list(continents([RegionSummary("XK", "Kosovo", None)])) == ["other"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("toronto", "CA"),
        ("I live in Glasgow", "GB"),
        ("i'm from Kraków", "PL"),
        ("München", "DE"),
        ("based in são paulo", "BR"),
        ("nyc", "US"),
    ],
)
def test_cities_and_towns_give_their_country(typed: str, expected: str) -> None:
    assert resolve_region(typed, CODES) == expected


def test_the_city_table_is_sound() -> None:
    import pycountry

    from bot.content import ContentPaths
    from bot.helplines.regions import _city_names, _country_names, _default_aliases_path

    cities = _city_names(ContentPaths.default().resources / "region_cities.yml")
    assert len(cities) > 500
    countries = _country_names(_default_aliases_path())
    for city, code in cities.items():
        assert pycountry.countries.get(alpha_2=code) is not None, (city, code)
        # a city named like a country must not send people to another country's helplines
        assert countries.get(city, code) == code, (city, code)
    for ambiguous in ("perth", "birmingham", "nice", "reading", "victoria"):
        assert ambiguous not in cities


def test_a_broken_city_table_costs_only_the_cities(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from bot.content import ContentPaths

    aliases = tmp_path / "region_aliases.yml"
    shutil.copy(ContentPaths.default().resources / "region_aliases.yml", aliases)
    (tmp_path / "region_cities.yml").write_text("cities: [toronto: CA\n", encoding="utf-8")
    assert resolve_region("toronto", CODES, aliases_path=aliases) is None
    assert resolve_region("germany", CODES, aliases_path=aliases) == "DE"
    assert "city names not loaded" in caplog.text
