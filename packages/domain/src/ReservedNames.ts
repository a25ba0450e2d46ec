/**
 * The name prefixes reserved for curated environments, and how a name is judged against them.
 *
 * AzureML reserves `AzureML` and `Microsoft` for the environments it curates. A name passes for a
 * curated one to a reader, not to a byte comparison, so a name is compared by its *skeleton* (in
 * the sense of Unicode TS #39, "confusable detection"): compatibility-normalised (NFKC: fullwidth
 * `ＡｚｕｒｅＭＬ` → `AzureML`), lower-cased, stripped of what a reader cannot see or skips over
 * (zero-width and other default-ignorable characters, combining marks, separators and
 * punctuation: `azure-ml`, `azure_ml`, `Azure ML`), with every letter that looks like another
 * (Cyrillic `а`, Greek `ο`, the digit `0`, `1` for `l`, `rn` for `m`) replaced by one
 * representative. A name is reserved when its skeleton starts with a reserved prefix's.
 *
 * Environment names are ASCII today (`EnvironmentName`), so most look-alikes are already refused
 * by that pattern; the fold is what keeps the rule true if names ever widen, and lets a caller
 * be told the real reason (the reserved prefix) rather than "not a letter".
 *
 * @since 0.1.0
 */

/**
 * The reserved prefixes, as AzureML spells them.
 *
 * @since 0.1.0
 * @category names
 */
export const RESERVED_PREFIXES = ["AzureML", "Microsoft"] as const

/**
 * Capitals that look like a Latin capital but lower-case to a letter that does not look like the
 * Latin one (Greek `Μ` → `μ`, Cyrillic `Н` → `н`): replaced before the text is lower-cased.
 */
const CAPITAL_LOOK_ALIKES: ReadonlyArray<readonly [string, string]> = [
  ["A", "ΑАᎪ"],
  ["B", "ΒВ"],
  ["E", "ΕЕ"],
  ["H", "ΗН"],
  ["I", "ΙІӀ"],
  ["K", "ΚК"],
  ["M", "ΜМ"],
  ["N", "Ν"],
  ["O", "ΟО"],
  ["P", "ΡР"],
  ["T", "ΤТ"],
  ["X", "ΧХ"],
  ["Y", "ΥҮ"],
  ["Z", "Ζ"]
]

/** Each character of a group → the group's representative. */
const lookAlikeMap = (groups: ReadonlyArray<readonly [string, string]>): ReadonlyMap<string, string> =>
  new Map(groups.flatMap(([to, from]) => Array.from(from, (c) => [c, to] as const)))

const CAPITAL = lookAlikeMap(CAPITAL_LOOK_ALIKES)

/**
 * One representative for each group of characters that look alike (lower case, after NFKC).
 * Only what can make a reserved prefix matters, but a look-alike of any Latin letter is listed
 * where it is common, so that the table reads as what it is.
 */
const LOOK_ALIKES: ReadonlyArray<readonly [string, string]> = [
  ["a", "аɑαａ"],
  ["c", "сϲᴄⅽ"],
  ["e", "еєεҽ℮"],
  ["f", "ғϝ"],
  ["l", "il1|ıɩιіӏǀⅰⅼ"],
  ["m", "мᴍϻⅿ"],
  ["o", "0оοσᴏօ"],
  ["p", "рρ"],
  ["r", "гʀᴦꭇ"],
  ["s", "ѕꜱʂ5"],
  ["t", "тτᴛ"],
  ["u", "υսᴜμµ"],
  ["x", "хχ"],
  ["y", "уγ"],
  ["z", "ᴢʐζ"]
]

const REPRESENTATIVE = lookAlikeMap(LOOK_ALIKES)

/** What a reader does not see, or reads past: invisible and format characters, marks, separators, punctuation. */
const UNSEEN = /[\p{Default_Ignorable_Code_Point}\p{M}\p{Z}\p{P}\p{S}\p{Cc}\p{Cf}]/gu

/**
 * The skeleton of a text: what it looks like, with look-alikes made equal (see the module's
 * description). Two texts that a reader could take for one another have the same skeleton.
 *
 * @since 0.1.0
 * @category names
 */
export const skeleton = (text: string): string => {
  const capitals = Array.from(text.normalize("NFKC"), (c) => CAPITAL.get(c) ?? c).join("")
  const plain = capitals.toLowerCase().normalize("NFD").replace(UNSEEN, "")
  return Array.from(plain, (c) => REPRESENTATIVE.get(c) ?? c).join("").replaceAll("rn", "m")
}

const PREFIX_SKELETONS = RESERVED_PREFIXES.map((prefix) => [prefix, skeleton(prefix)] as const)

/**
 * The reserved prefix a name starts with or imitates, or undefined: `AzureML` for `azureml-x`,
 * `AZUREMLfoo`, `Azure_ML.x` or `Аzureml` (a Cyrillic `А`); `Microsoft` for `Microsoft_x`,
 * `ｍｉｃｒｏｓｏｆｔ` or `Micro\u200Bsoft`.
 *
 * @since 0.1.0
 * @category names
 */
export const reservedPrefixOf = (name: string): (typeof RESERVED_PREFIXES)[number] | undefined => {
  const folded = skeleton(name)
  return PREFIX_SKELETONS.find(([, prefix]) => folded.startsWith(prefix))?.[0]
}
