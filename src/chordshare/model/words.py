"""The words of a name: what a search matches, and what the DHT indexes a name under.

A name is indexed, like Kademlia's keyword search (Maymounkov and Mazières 2002, as eMule's Kad
network uses it), under each of its words as a DHT key of its own: a *word entry* (a record with
:attr:`chordshare.model.manifest.FileRecord.word` set) lives at the owner of the word's ring id
and says "this name, this content, these providers". A search asks the owner of each query word
and intersects.

Tokenizing (:func:`words_of`), the same for names and queries:

* the text is NFKC-normalized and case-folded (``Straße`` and ``STRASSE`` are one word, as are a
  full-width ``ｒａｎｄｏｍ`` and ``random``);
* words are maximal runs of letters or maximal runs of decimal digits (a "letter" is any
  alphanumeric character that is not a decimal digit: letters of every script, and numbers
  such as Roman numerals); everything else separates (``_`` included), and so does every
  boundary between a letter and a digit, so ``random20.bin`` gives ``random``, ``20``, ``bin``;
* a lone letter is dropped (``a``, ``s`` of ``it's``: too common to be worth a DHT key, and
  every name with one would load a single owner), a lone digit is kept (``part 2``, ``v1``);
* each word is kept once, in the order of its first appearance, and a name is indexed under at
  most :data:`MAX_WORDS_PER_NAME` of them.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS_PER_NAME = 16
"""Words a name is indexed under at most (its first 16 distinct ones): each costs one lookup and
one store per publish and republish, so a name of 200 words costs 17 stores, not 201. Words past
the 16th are not searchable. 16 covers every name of a normal file (a long descriptive name has
about 8-12 words)."""

MAX_QUERY_WORDS = 8
"""Words of one search at most: each is one lookup and one read at its owner, and a query of
more words than that narrows nothing a person would type."""

_WORD = re.compile(r"[^\W\d_]+|\d+")
"""A run of letters (alphanumerics that are not decimal digits or ``_``) or a run of decimal
digits."""


def words_of(text: str, limit: int = MAX_WORDS_PER_NAME) -> tuple[str, ...]:
    """The distinct words of ``text`` (see the module text), at most ``limit``."""
    found: dict[str, None] = {}
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text).casefold()):
        word = match.group()
        if len(word) == 1 and not word.isdigit():
            continue
        found.setdefault(word, None)
        if len(found) >= limit:
            break
    return tuple(found)


def word_problem(word: str, name: str) -> str | None:
    """Why ``name`` may not be indexed under ``word``, or ``None``: only the words
    :func:`words_of` gives the name are, so nobody can file a name under a word it lacks."""
    if word not in words_of(name):
        return f"{word!r} is not one of the indexed words of {name!r}"
    return None
