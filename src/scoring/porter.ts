// Porter stemmer, matching nltk.stem.porter.PorterStemmer() in its default
// NLTK_EXTENSIONS mode (the mode rouge-score constructs), checked against NLTK 3.10.3.

type Condition = ((stem: string) => boolean) | null;
type Rule = readonly [suffix: string, replacement: string, condition: Condition];

const VOWELS = new Set(["a", "e", "i", "o", "u"]);

const IRREGULAR_FORMS: Record<string, readonly string[]> = {
  sky: ["sky", "skies"],
  die: ["dying"],
  lie: ["lying"],
  tie: ["tying"],
  news: ["news"],
  inning: ["innings", "inning"],
  outing: ["outings", "outing"],
  canning: ["cannings", "canning"],
  howe: ["howe"],
  proceed: ["proceed"],
  exceed: ["exceed"],
  succeed: ["succeed"],
};

const POOL = new Map<string, string>();
for (const [key, forms] of Object.entries(IRREGULAR_FORMS)) {
  for (const form of forms) POOL.set(form, key);
}

function at(word: string, i: number): string {
  return word.charAt(i);
}

// A "y" is a consonant when it starts the word or follows a vowel; anything that is not
// a/e/i/o/u/y (digits included) is a consonant.
function consonantFlags(word: string): boolean[] {
  const flags: boolean[] = [];
  for (let i = 0; i < word.length; i++) {
    const ch = at(word, i);
    if (VOWELS.has(ch)) flags.push(false);
    else if (ch === "y") flags.push(i === 0 ? true : !flags[i - 1]);
    else flags.push(true);
  }
  return flags;
}

function isConsonant(word: string, i: number): boolean {
  return consonantFlags(word.slice(0, i + 1))[i] === true;
}

function measure(stem: string): number {
  const flags = consonantFlags(stem);
  let m = 0;
  for (let i = 0; i + 1 < flags.length; i++) {
    if (!flags[i] && flags[i + 1]) m++;
  }
  return m;
}

function hasPositiveMeasure(stem: string): boolean {
  return measure(stem) > 0;
}

function containsVowel(stem: string): boolean {
  return consonantFlags(stem).some((c) => !c);
}

function endsDoubleConsonant(word: string): boolean {
  const n = word.length;
  return n >= 2 && at(word, n - 1) === at(word, n - 2) && isConsonant(word, n - 1);
}

function endsCvc(word: string): boolean {
  const n = word.length;
  const last = at(word, n - 1);
  return (
    (n >= 3 &&
      isConsonant(word, n - 3) &&
      !isConsonant(word, n - 2) &&
      isConsonant(word, n - 1) &&
      last !== "w" &&
      last !== "x" &&
      last !== "y") ||
    (n === 2 && !isConsonant(word, 0) && isConsonant(word, 1))
  );
}

function dropSuffix(word: string, suffix: string): string {
  return suffix === "" ? word : word.slice(0, word.length - suffix.length);
}

// The first rule whose suffix matches decides, even when its condition fails (NLTK semantics).
function applyRuleList(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === "*d" && endsDoubleConsonant(word)) {
      const stem = word.slice(0, -2);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
    if (word.endsWith(suffix)) {
      const stem = dropSuffix(word, suffix);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
  }
  return word;
}

function step1a(word: string): string {
  if (word.endsWith("ies") && word.length === 4) return `${dropSuffix(word, "ies")}ie`;
  return applyRuleList(word, [
    ["sses", "ss", null],
    ["ies", "i", null],
    ["ss", "ss", null],
    ["s", "", null],
  ]);
}

function step1b(word: string): string {
  if (word.endsWith("ied")) {
    return dropSuffix(word, "ied") + (word.length === 4 ? "ie" : "i");
  }
  if (word.endsWith("eed")) {
    const stem = dropSuffix(word, "eed");
    return measure(stem) > 0 ? `${stem}ee` : word;
  }
  let intermediate: string | null = null;
  for (const suffix of ["ed", "ing"]) {
    if (word.endsWith(suffix)) {
      const candidate = dropSuffix(word, suffix);
      if (containsVowel(candidate)) {
        intermediate = candidate;
        break;
      }
    }
  }
  if (intermediate === null) return word;
  const lastChar = at(intermediate, intermediate.length - 1);
  return applyRuleList(intermediate, [
    ["at", "ate", null],
    ["bl", "ble", null],
    ["iz", "ize", null],
    ["*d", lastChar, () => lastChar !== "l" && lastChar !== "s" && lastChar !== "z"],
    ["", "e", (stem) => measure(stem) === 1 && endsCvc(stem)],
  ]);
}

function step1c(word: string): string {
  return applyRuleList(word, [
    ["y", "i", (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)],
  ]);
}

function step2(word: string): string {
  if (word.endsWith("alli") && hasPositiveMeasure(dropSuffix(word, "alli"))) {
    return step2(`${dropSuffix(word, "alli")}al`);
  }
  const m0 = hasPositiveMeasure;
  return applyRuleList(word, [
    ["ational", "ate", m0],
    ["tional", "tion", m0],
    ["enci", "ence", m0],
    ["anci", "ance", m0],
    ["izer", "ize", m0],
    ["bli", "ble", m0],
    ["alli", "al", m0],
    ["entli", "ent", m0],
    ["eli", "e", m0],
    ["ousli", "ous", m0],
    ["ization", "ize", m0],
    ["ation", "ate", m0],
    ["ator", "ate", m0],
    ["alism", "al", m0],
    ["iveness", "ive", m0],
    ["fulness", "ful", m0],
    ["ousness", "ous", m0],
    ["aliti", "al", m0],
    ["iviti", "ive", m0],
    ["biliti", "ble", m0],
    ["fulli", "ful", m0],
    ["logi", "log", () => hasPositiveMeasure(word.slice(0, -3))],
  ]);
}

function step3(word: string): string {
  const m0 = hasPositiveMeasure;
  return applyRuleList(word, [
    ["icate", "ic", m0],
    ["ative", "", m0],
    ["alize", "al", m0],
    ["iciti", "ic", m0],
    ["ical", "ic", m0],
    ["ful", "", m0],
    ["ness", "", m0],
  ]);
}

function step4(word: string): string {
  const m1 = (stem: string) => measure(stem) > 1;
  return applyRuleList(word, [
    ["al", "", m1],
    ["ance", "", m1],
    ["ence", "", m1],
    ["er", "", m1],
    ["ic", "", m1],
    ["able", "", m1],
    ["ible", "", m1],
    ["ant", "", m1],
    ["ement", "", m1],
    ["ment", "", m1],
    ["ent", "", m1],
    ["ion", "", (stem) => measure(stem) > 1 && (stem.endsWith("s") || stem.endsWith("t"))],
    ["ou", "", m1],
    ["ism", "", m1],
    ["ate", "", m1],
    ["iti", "", m1],
    ["ous", "", m1],
    ["ive", "", m1],
    ["ize", "", m1],
  ]);
}

function step5a(word: string): string {
  if (word.endsWith("e")) {
    const stem = dropSuffix(word, "e");
    const m = measure(stem);
    if (m > 1) return stem;
    if (m === 1 && !endsCvc(stem)) return stem;
  }
  return word;
}

function step5b(word: string): string {
  return applyRuleList(word, [["ll", "l", () => measure(word.slice(0, -1)) > 1]]);
}

/** Stems one word exactly as NLTK's PorterStemmer().stem(word) does. */
export function porterStem(word: string): string {
  let stem = word.toLowerCase();
  const irregular = POOL.get(stem);
  if (irregular !== undefined) return irregular;
  if (word.length <= 2) return stem;
  stem = step1a(stem);
  stem = step1b(stem);
  stem = step1c(stem);
  stem = step2(stem);
  stem = step3(stem);
  stem = step4(stem);
  stem = step5a(stem);
  stem = step5b(stem);
  return stem;
}
