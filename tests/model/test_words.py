"""The tokenizer of names and queries (:mod:`chordshare.model.words`), against a brute-force
character-by-character oracle."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from chordshare.model.manifest import FileRecord, Provider
from chordshare.model.records import record_problem, word_entries
from chordshare.model.words import MAX_WORDS_PER_NAME, word_problem, words_of
from tests.records.factory import provider, record


def oracle(text: str) -> list[str]:
    """Scan character by character: a word goes on while the class stays (decimal digit, or
    other alphanumeric: a letter, or a number that is not a digit such as a Roman numeral)."""
    out: list[str] = []
    current, kind = "", ""
    for ch in unicodedata.normalize("NFKC", text).casefold():
        k = "d" if ch.isdecimal() else "l" if ch.isalnum() else ""
        if k and k == kind:
            current += ch
            continue
        if current:
            out.append(current)
        current, kind = (ch, k) if k else ("", "")
    if current:
        out.append(current)
    kept = [w for w in out if len(w) > 1 or w.isdigit()]
    return list(dict.fromkeys(kept))


def test_examples() -> None:
    assert words_of("random20.bin") == ("random", "20", "bin")
    assert words_of("My_Holiday-Photos (2024).JPG") == ("my", "holiday", "photos", "2024", "jpg")
    assert words_of("a b c.d") == ()  # lone letters are no words
    assert words_of("part 2 v1") == ("part", "2", "1")
    assert words_of("Straße STRASSE") == ("strasse",)
    assert words_of("ｒａｎｄｏｍ２０") == ("random", "20")  # full-width folds to ASCII
    assert words_of("x" * 3 + ".x.xxx") == ("xxx",)


def test_a_long_name_is_indexed_under_its_first_sixteen_words() -> None:
    name = " ".join(f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(200))
    words = words_of(name)
    assert len(words) == MAX_WORDS_PER_NAME
    assert words[0] == "waa"
    assert len(word_entries(record(name[:255], provider(1, 10.0)))) <= MAX_WORDS_PER_NAME


names = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "Zs", "S")), min_size=1, max_size=60
)


@settings(max_examples=300)
@given(names)
def test_words_match_the_character_oracle(text: str) -> None:
    assert list(words_of(text, limit=10_000)) == oracle(text)


@settings(max_examples=200)
@given(names)
def test_every_word_is_one_word_and_a_word_of_the_name(text: str) -> None:
    for word in words_of(text):
        assert words_of(word) == (word,)
        assert word_problem(word, text) is None


def test_a_word_entry_must_carry_a_word_of_its_name_and_no_pinned_entry() -> None:
    r = record("random20.bin", provider(1, 10.0))
    (entry, *_) = word_entries(r)
    assert entry.word == "random"
    assert record_problem(entry) is None
    assert record_problem(FileRecord(r.manifest, r.providers, "holiday")) is not None
    pinned = FileRecord(r.manifest, (Provider(1, "h:1", "", 10.0, pinned=True),), "bin")
    assert "pinned" in (record_problem(pinned) or "")
