/**
 * `{{...}}` template placeholders, as the curated environments of azureml-assets use them
 * (`azureml-core=={{latest-pypi-version}}`, `mldesigner=={{latest-pypi-version:pre}}`).
 *
 * Their value is only known to the publishing pipeline, so an importer can do no better than drop
 * the version clause that holds one and keep the package unpinned, saying so in a warning.
 *
 * @since 0.1.0
 */

/**
 * Matches one placeholder.
 *
 * @since 0.1.0
 * @category placeholders
 */
export const PLACEHOLDER = /\{\{[^{}]*\}\}/

/**
 * True when the text holds a `{{...}}` placeholder.
 *
 * @since 0.1.0
 * @category placeholders
 */
export const hasPlaceholder = (text: string): boolean => PLACEHOLDER.test(text)

/**
 * Removes every version clause whose version is a placeholder (`=={{x}}`, `~= {{x}}`, conda
 * `={{x}}`), tidying the commas left behind. Placeholders elsewhere are left in place (so the
 * spec parser rejects them rather than silently guessing).
 *
 * @example
 * ```ts
 * stripVersionPlaceholders("azureml-metrics[image]~={{latest-pypi-version}}")
 * // { text: "azureml-metrics[image]", placeholders: ["{{latest-pypi-version}}"] }
 * ```
 *
 * @since 0.1.0
 * @category placeholders
 */
export const stripVersionPlaceholders = (
  text: string
): { readonly text: string; readonly placeholders: ReadonlyArray<string> } => {
  const placeholders: Array<string> = []
  const stripped = text.replace(/\s*(?:===|~=|==|!=|<=|>=|<|>|=)\s*(\{\{[^{}]*\}\})/g, (_, placeholder: string) => {
    placeholders.push(placeholder)
    return ""
  })
  if (placeholders.length === 0) return { text, placeholders }
  const tidied = stripped
    .replace(/,\s*(?=,)/g, "") // `a,,b` → `a,b`
    .replace(/([\]\w.*])\s*,\s*(?=;|$)/g, "$1") // trailing comma before a marker or the end
    .replace(/([A-Za-z0-9_.\]-])\s*,\s*/, (m, c: string, offset: number, whole: string) =>
      // a comma straight after the name or extras (the first clause was the placeholder)
      /^[A-Za-z0-9_.-]+(?:\[[^\]]*\])?$/.test(whole.slice(0, offset + 1)) ? `${c}` : m
    )
    .trim()
  return { text: tidied, placeholders }
}
