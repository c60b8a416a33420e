"""The benchmark's fictional data: a 50-comment thread and generated articles.

Everything is derived from a fixed random seed, so every run and every server gets the
same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

TOP_LEVEL = 35
REPLIES = 15
SEED = 20261126

AUTHORS = [
    "Alex M.", "Priya", "Jonas K.", "Zoë", "Søren", "Mariam", "Tomás", "Ayşe", "Lena",
    "Kwame", "Ines", "Hiroshi", "Maya R.", "Olu", "Clara", "Dev", "Noor", "Rafael", "Sam",
    "美咲", "Ewa", "Jamie", "Farah", "Luca",
]

SENTENCES = [
    "Thank you for writing this so clearly; it put words to something I had felt for years.",
    "The section on sleep routines was the most useful part for me.",
    "I tried the breathing exercise before a difficult meeting and it helped more than I expected.",
    "My therapist mentioned something similar, and reading it laid out step by step made it click.",
    "It is reassuring to read that setbacks are a normal part of recovery.",
    "I would love a follow-up article about supporting a partner through this.",
    "Writing my worries down before bed has made the evenings calmer.",
    "The list of early warning signs is going on our fridge.",
    "I appreciated that the article did not promise quick fixes.",
    "Has anyone found a good way to keep a routine going during night shifts?",
    "Small steps really do add up; a short walk every morning changed my week.",
    "Reading the references section pointed me to a book our library had.",
    "It took me a long time to ask for help, and I wish I had read this sooner.",
    "The point about talking to a GP first is important and often skipped.",
    "Our support group read this together and it started a good conversation.",
    "I found the part about self-compassion hard to read, but in a good way.",
    "Could you say more about how long these changes usually take to feel different?",
    "Sharing this with my sister, who has been struggling since the move.",
]

LINKS = [
    "https://example.org/guides/sleep-diary",
    "https://example.net/workbook/worry-time.pdf",
]


@dataclass(frozen=True)
class SeedComment:
    """One comment of the seeded thread; parent is an index into the thread, not an id."""

    author: str
    email: str
    body: str
    parent: int | None


def thread() -> list[SeedComment]:
    """The 50-comment thread: 35 top-level comments, then 15 replies to some of them."""
    rng = random.Random(SEED)
    comments: list[SeedComment] = []
    for i in range(TOP_LEVEL + REPLIES):
        author = AUTHORS[i % len(AUTHORS)]
        count = rng.randint(4, 6)
        sentences = rng.sample(SENTENCES, count)
        if count >= 3:
            # A blank line makes two paragraphs, as readers write them.
            split = rng.randint(1, count - 1)
            body = " ".join(sentences[:split]) + "\n\n" + " ".join(sentences[split:])
        else:
            body = " ".join(sentences)
        if i % 9 == 4:
            body += f"\nThis helped me: {LINKS[i % len(LINKS)]}"
        parent = None if i < TOP_LEVEL else rng.randrange(TOP_LEVEL)
        comments.append(SeedComment(author=author, email=f"reader{i}@example.org",
                                    body=body, parent=parent))
    return comments


def small_thread(article_index: int) -> list[SeedComment]:
    """A couple of comments for the other articles, so counts are not all zero."""
    rng = random.Random(SEED + article_index)
    return [SeedComment(author=rng.choice(AUTHORS), email=f"other{article_index}-{j}@example.org",
                        body=" ".join(rng.sample(SENTENCES, 2)) + f" (note {article_index}-{j})",
                        parent=None)
            for j in range(article_index % 3 + 1)]


TOPICS = [
    "Sleep and low mood", "Worry that will not switch off", "Panic attacks", "Grief after a loss",
    "Talking to a GP about your mental health", "Supporting a friend", "Loneliness",
    "Burnout at work", "Starting therapy", "Self-compassion", "Anger", "Body image",
    "Exam stress", "Postnatal depression", "Living with chronic pain", "Caring for a parent",
]

PARAGRAPHS = [
    "Many people notice changes in how they feel long before they find words for them. "
    "Sleep may come later or break up in the night, appetite may shift, and things that "
    "used to be easy can start to feel like hard work. None of this means something is "
    "wrong with you as a person; it is a sign that you are carrying a lot.",
    "It can help to keep a short diary for two weeks. Note when you went to bed, how you "
    "slept, what you ate and one or two words for your mood. Patterns that are invisible "
    "day to day often stand out on paper, and a diary gives you something concrete to "
    "bring to an appointment.",
    "Talking to someone you trust is often the hardest step and the most useful one. You "
    "do not need to explain everything at once. Saying that you have not been feeling like "
    "yourself lately is enough to start, and most people are glad to have been asked.",
    "Professional help comes in many forms: a GP appointment, talking therapies, support "
    "groups, and helplines staffed by trained volunteers. Different approaches suit "
    "different people, and it is normal to try more than one before something fits.",
    "Recovery rarely runs in a straight line. Good weeks can be followed by harder ones, "
    "and that is not a sign of failure. What matters is the direction over months, not any "
    "single day, and noticing small improvements helps you keep going.",
]

LIST_ITEMS = [
    "keep regular times for going to bed and getting up",
    "move your body a little every day, even a short walk",
    "limit caffeine after midday and alcohol in the evening",
    "set aside fifteen minutes of worry time earlier in the day",
    "tell one person you trust how you have been feeling",
    "write down three things that went all right today",
]


def article_id(index: int) -> str:
    return f"bench-article-{index:04d}"


def write_docs(docs_dir: Path, count: int) -> list[str]:
    """Write count articles (with valid front matter) and a home page; return their ids."""
    rng = random.Random(SEED)
    docs_dir.mkdir(parents=True, exist_ok=True)
    (docs_dir / "index.md").write_text(
        "---\ntitle: Benchmark library\n---\n\n# Benchmark library\n\n"
        "Generated articles for the benchmark. Every name and text here is fictional.\n",
        encoding="utf-8")
    ids = []
    for i in range(1, count + 1):
        topic = TOPICS[i % len(TOPICS)]
        ident = article_id(i)
        ids.append(ident)
        sections = []
        for heading in ("What it can feel like", "Things that can help", "Getting support",
                        "Looking after yourself over time"):
            paragraphs = rng.sample(PARAGRAPHS, 3)
            items = rng.sample(LIST_ITEMS, 4)
            sections.append(
                f"## {heading}\n\n{paragraphs[0]}\n\n{paragraphs[1]}\n\n"
                + "".join(f"- {item};\n" for item in items)
                + f"\n{paragraphs[2]}\n")
        year = 1990 + i % 30
        front = (
            "---\n"
            f'title: "{topic} ({i})"\n'
            f'description: "A practical guide to {topic.lower()}: what it can feel like and '
            'what can help."\n'
            f"id: {ident}\n"
            f"updated: 2026-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
            "tags: [wellbeing, guide]\n"
            "comments: open\n"
            "references:\n"
            f'  - authors: ["Fictional, A. B.", "Example, C."]\n'
            f"    year: {year}\n"
            f'    title: "A fictional study of {topic.lower()}"\n'
            "    container: Journal of Example Studies\n"
            f"    volume: {i % 40 + 1}\n"
            "    pages: 100-110\n"
            f"    doi: 10.5555/bench.{i:04d}\n"
            f'  - authors: ["Sample, D."]\n'
            f"    year: {year + 2}\n"
            f'    title: "Living well with {topic.lower()}"\n'
            "    type: book\n"
            "    publisher: Example Press\n"
            "---\n\n")
        body = (f"# {topic} ({i})\n\n{PARAGRAPHS[i % len(PARAGRAPHS)]}\n\n"
                + "\n".join(sections))
        (docs_dir / f"topic-{i:04d}.md").write_text(front + body, encoding="utf-8")
    return ids
