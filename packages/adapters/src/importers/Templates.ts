/**
 * `{{key}}` templating in AzureML YAML (the curated spec.yaml files: `name: "{{asset.name}}"`).
 *
 * @since 0.1.0
 */

/**
 * Values for `{{key}}` placeholders, by key (`"asset.name"`).
 *
 * @since 0.1.0
 * @category templates
 */
export type TemplateValues = Readonly<Record<string, string>>

/**
 * Replaces every `{{ key }}` that has a value; returns the text and the placeholders left over.
 *
 * @since 0.1.0
 * @category templates
 */
export const applyTemplate = (
  text: string,
  values: TemplateValues | undefined
): { readonly text: string; readonly unresolved: ReadonlyArray<string> } => {
  const unresolved: Array<string> = []
  const replaced = text.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (whole, key: string) => {
    const value = values === undefined || !Object.hasOwn(values, key) ? undefined : values[key]
    if (value === undefined) {
      unresolved.push(whole)
      return whole
    }
    return value
  })
  return { text: replaced, unresolved }
}
