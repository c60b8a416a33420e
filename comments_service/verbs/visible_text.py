"""What counts as blank: text that shows nothing on the page, however many characters it has.

A name of zero-width spaces or word joiners passes ``str.strip`` (they are not whitespace)
yet renders as nothing, so a comment would appear from nobody. Blank here means made only
of whitespace, format characters (Unicode category Cf: zero-width space, joiners, BOM,
bidirectional marks, tag characters...) and the other default-ignorable code points, plus
the few fillers that fonts draw as empty (Hangul fillers, the blank Braille pattern).
Such characters stay allowed *inside* visible text: the zero-width joiner builds emoji, and
right-to-left marks are needed in mixed-direction names.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside category Cf,
# which is checked by category, plus characters drawn as empty space.
_SHOWS_NOTHING = re.compile(
    "["
    "\u034f"            # combining grapheme joiner
    "\u115f\u1160"      # Hangul choseong and jungseong fillers
    "\u17b4\u17b5"      # Khmer inherent vowels
    "\u180b-\u180f"     # Mongolian free variation selectors and vowel separator
    "\u2800"            # Braille pattern blank
    "\u3164"            # Hangul filler
    "\ufe00-\ufe0f"     # variation selectors
    "\uffa0"            # halfwidth Hangul filler
    "\ufff0-\ufff8"     # unassigned, default ignorable
    "\U0001bca0-\U0001bca3"  # shorthand format controls
    "\U0001d173-\U0001d17a"  # musical symbol format controls
    "\U000e0000-\U000e0fff"  # tags and variation selectors supplement
    "]"
)


def shows_nothing(character: str) -> bool:
    """True for one character that leaves no visible mark by itself."""
    return (character.isspace() or unicodedata.category(character) == "Cf"
            or _SHOWS_NOTHING.match(character) is not None)


def is_blank(text: str) -> bool:
    """True when text is empty or made only of characters that show nothing."""
    return all(shows_nothing(character) for character in text)
