"""Generated training and held-out text for the demo model: templated stories and small tasks.

Everything here is a pure function of a `random.Random`, so the same seed gives the same text.
Held-out items are defined by rules (`is_heldout_*`), not by seed alone: the training generator
skips them, so no evaluation item is ever trained on, whatever seed produces it.
"""

import random
import re
import zlib

NAMES = {
    "girl": ["Lily", "Mia", "Anna", "Zoe", "Ella", "Lucy", "Rosa", "Nina", "Ivy", "Ruby",
             "Sara", "Emma", "Maya", "Lena", "Alice", "Kate", "Nora", "Hana", "Tara", "Jade"],
    "boy": ["Tom", "Ben", "Sam", "Max", "Leo", "Jack", "Finn", "Omar", "Kai", "Hugo",
            "Tim", "Noah", "Luke", "Adam", "Paul", "Eli", "Ravi", "Ned", "Otto", "Dan"],
}
PRONOUNS = {"girl": ("she", "her", "her"), "boy": ("he", "his", "him")}
COLORS = ["red", "blue", "green", "yellow", "pink", "purple", "orange", "white", "black", "brown"]
OBJECTS = ["ball", "kite", "book", "hat", "drum", "boat", "shell", "box", "cup", "bell",
           "doll", "car", "sock", "spoon", "flag", "rock", "leaf", "key", "coat", "bag"]
PLACES = ["park", "beach", "forest", "garden", "school", "farm", "lake", "hill", "zoo", "market",
          "river", "library", "yard", "pond", "field"]
ANIMALS = ["dog", "cat", "bird", "rabbit", "frog", "duck", "bear", "fox", "mouse", "owl",
           "horse", "goat", "fish", "pig", "bee"]
GOOD_FEELINGS = ["happy", "glad", "proud", "excited", "calm", "cheerful"]
BAD_FEELINGS = ["sad", "scared", "worried", "upset", "lonely", "grumpy"]
HIDING = ["under a bench", "behind a tree", "next to a big rock", "in the tall grass",
          "under a bush", "near the gate"]
FOODS = ["apple", "cookie", "sandwich", "banana", "muffin", "pear", "carrot", "cake"]
WEATHER = ["rain", "wind", "snow", "storm"]

# Made-up countries and their capitals: facts the model has to memorise.
COUNTRIES = [
    ("Zorvia", "Mek"), ("Plimland", "Tor"), ("Quenta", "Vasso"), ("Brelia", "Dunmor"),
    ("Kastor", "Ilm"), ("Ombra", "Pell"), ("Fennick", "Rusa"), ("Talvane", "Odo"),
    ("Veluna", "Garro"), ("Drisk", "Namo"), ("Yorvale", "Beck"), ("Sunmar", "Holt"),
    ("Grellia", "Tavi"), ("Marrow", "Sel"), ("Nuvia", "Corran"), ("Ostrel", "Pim"),
    ("Hallow", "Ket"), ("Lumeria", "Dask"), ("Pentra", "Frin"), ("Rovik", "Lamo"),
    ("Sorrel", "Quin"), ("Trevan", "Mova"), ("Ulmar", "Jess"), ("Wendra", "Arko"),
]
CAPITAL = dict(COUNTRIES)

# Short words for the copy and reverse tasks.
WORDS = ["dog", "cat", "sun", "moon", "tree", "fish", "red", "blue", "cup", "hat", "star", "car",
         "book", "milk", "bird", "frog", "rain", "snow", "box", "bed", "pen", "map", "egg", "owl",
         "ship", "lamp", "door", "cake", "ring", "shoe", "king", "cow", "pig", "bee", "bus", "toy"]


def _bucket(*parts: object, modulus: int = 10) -> int:
    """A stable hash bucket (Python's own hash is salted per process)."""
    return zlib.crc32("|".join(map(str, parts)).encode()) % modulus


# Held-out rules: one combination in ten is reserved for evaluation and never generated for training.
def is_heldout_sum(a: int, b: int) -> bool:
    return _bucket("sum", a, b) == 0


def is_heldout_words(kind: str, words: list[str]) -> bool:
    return _bucket(kind, *words) == 0


def is_heldout_pair(a: str, b: str) -> bool:
    return _bucket("pair", a, b, modulus=5) == 0


def is_heldout_story(name: str, obj: str, place: str) -> bool:
    return _bucket("story", name, obj, place) == 0


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _articles(text: str) -> str:
    """'a owl' -> 'an owl': the templates write 'a' before every filled-in noun."""
    return re.sub(r"\b([Aa]) ([aeiou])", r"\1n \2", text)


def story(rng: random.Random, heldout: bool) -> tuple[str, str]:
    """One templated story and its one-sentence summary, from the training or held-out side."""
    while True:
        kind = rng.choice(["girl", "boy"])
        name = rng.choice(NAMES[kind])
        obj = rng.choice(OBJECTS)
        place = rng.choice(PLACES)
        if is_heldout_story(name, obj, place) == heldout:
            break
    he, his, him = PRONOUNS[kind]
    color = rng.choice(COLORS)
    animal = rng.choice(ANIMALS)
    good = rng.choice(GOOD_FEELINGS)
    bad = rng.choice(BAD_FEELINGS)
    opening = rng.choice([
        f"Once upon a time, there was a little {kind} named {name}.",
        f"There was once a {kind} called {name}.",
        f"{name} was a little {kind} who lived near the {place}.",
    ])
    plot = rng.choice(["lost", "share", "fear", "help", "weather"])
    if plot == "lost":
        where = rng.choice(HIDING)
        body = [
            f"{_cap(he)} had a {color} {obj}.",
            f"One day, {name} went to the {place} with {his} {obj}.",
            f"{name} played with the {obj} all day.",
            f"But then the {obj} was gone, and {name} felt {bad}.",
            f"{_cap(he)} looked and looked, and a {animal} helped {him} look.",
            f"At last, {name} found the {obj} {where}.",
            f"{name} was {good} again and took the {obj} home.",
        ]
        summary = f"{name} lost a {color} {obj} at the {place} and found it {where}."
    elif plot == "share":
        food = rng.choice(FOODS)
        body = [
            f"One day, {name} took a {food} to the {place}.",
            f"There {he} met a {animal} who looked {bad}.",
            f"The {animal} was hungry and had no food.",
            f"{name} gave half of the {food} to the {animal}.",
            f"The {animal} smiled, and {name} felt {good}.",
            f"They played with {his} {color} {obj} until the sun went down.",
        ]
        summary = f"{name} shared a {food} with a {animal} at the {place}."
    elif plot == "fear":
        body = [
            f"One night, {name} heard a noise near the {place}.",
            f"{_cap(he)} felt {bad} and held {his} {color} {obj} tight.",
            f"{name} took a lamp and went to look.",
            f"It was only a little {animal}!",
            f"The {animal} was lost, so {name} showed it the way home.",
            f"After that, {name} felt {good} and was not afraid any more.",
        ]
        summary = f"{name} heard a noise at the {place}, but it was only a lost {animal}."
    elif plot == "help":
        body = [
            f"One morning, {name} went to the {place}.",
            f"{_cap(he)} saw a {animal} that was stuck in a hole.",
            f"The {animal} looked {bad} and could not get out.",
            f"{name} used {his} {color} {obj} to help the {animal} climb out.",
            f"The {animal} jumped and ran in a circle.",
            f"{name} felt {good} because {he} had helped a friend.",
        ]
        summary = f"{name} helped a {animal} get out of a hole at the {place}."
    else:
        weather = rng.choice(WEATHER)
        body = [
            f"One day, {name} wanted to play at the {place} with {his} {color} {obj}.",
            f"But the {weather} came, and {name} had to stay inside.",
            f"{_cap(he)} felt {bad} and looked out of the window.",
            f"Then {his} {animal} came to sit with {name}.",
            f"They played a game, and soon the {weather} stopped.",
            f"{name} ran to the {place} and felt {good}.",
        ]
        summary = f"{name} waited for the {weather} to stop and then played at the {place}."
    return _articles(" ".join([opening, *body])), _articles(summary)


def sum_task(rng: random.Random, heldout: bool) -> tuple[str, str]:
    while True:
        a, b = rng.randrange(100), rng.randrange(100)
        if is_heldout_sum(a, b) == heldout:
            return f"{a}+{b}=?", str(a + b)


def _word_list(rng: random.Random, kind: str, heldout: bool) -> list[str]:
    while True:
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 4))]
        if is_heldout_words(kind, words) == heldout:
            return words


def copy_task(rng: random.Random, heldout: bool) -> tuple[str, str]:
    words = _word_list(rng, "copy", heldout)
    return "copy " + " ".join(words), " ".join(words)


def reverse_task(rng: random.Random, heldout: bool) -> tuple[str, str]:
    words = _word_list(rng, "reverse", heldout)
    return "reverse " + " ".join(words), " ".join(reversed(words))


def capital_task(rng: random.Random, heldout: bool) -> tuple[str, str]:
    """Training sees every single fact and most pairs; held-out items are the unseen pairs."""
    if not heldout and rng.random() < 0.4:
        country, city = rng.choice(COUNTRIES)
        return f"capital of {country}", city
    while True:
        (a, ca), (b, cb) = rng.sample(COUNTRIES, 2)
        if is_heldout_pair(a, b) == heldout:
            return f"capitals of {a} and {b}", f"{ca} and {cb}"


TASKS = {"sum": sum_task, "copy": copy_task, "reverse": reverse_task, "capital": capital_task}


def task_text(question: str, answer: str) -> str:
    return f"Q: {question} A: {answer}"


def summary_prompt(story_text: str) -> str:
    return f"Story: {story_text}\nSummary:"


def training_document(rng: random.Random) -> str:
    """One training document; the mixture is chosen so stories and tasks get similar token shares."""
    r = rng.random()
    if r < 0.20:
        # One or two stories a line each, so a newline followed by a new story is familiar text.
        return "\n".join(story(rng, False)[0] for _ in range(rng.randint(1, 2)))
    if r < 0.35:
        text, summary = story(rng, False)
        return f"{summary_prompt(text)} {summary}"
    kind = rng.choice(list(TASKS))
    return task_text(*TASKS[kind](rng, False))
