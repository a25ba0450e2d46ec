/**
 * Credentials written into URLs (`https://user:token@pypi.example.org/simple`), found so that a
 * definition carrying them can be refused.
 *
 * A definition is frozen into `Registered` events, and the event log is append-only: a token that
 * got in could never be taken out again, and anyone who can read the registry could read it.
 * Private indexes and channels are common, so the rule is explicit: URLs are written without
 * credentials, and the credentials are configured by reference where the image is built (a netrc
 * file or keyring for pip, `.condarc` for conda, a secret reference for a registry).
 *
 * Credentials written as references to environment variables, pip's `${NAME}` form
 * (`https://${PIP_USER}:${PIP_TOKEN}@host/simple`, expanded by pip where it installs), hold no
 * secret and are accepted.
 *
 * @since 0.1.0
 */
/** A URL's `scheme://userinfo@`, where it starts (`index`, at the scheme) and ends (`end`, after the `@`). */
interface UserInfo {
  readonly scheme: string
  readonly userInfo: string
  readonly index: number
  readonly end: number
}

const isSchemeChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2e || c === 0x2d

const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)

/** Ends a user-info: whitespace (what `\\s` matches), `/`, `?`, `#` (RFC 3986 §3.2.1); `@` closes it. */
const endsUserInfo = (c: number): boolean =>
  c === 0x2f || c === 0x3f || c === 0x23 || c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 ||
  c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f ||
  c === 0x3000 || c === 0xfeff

/**
 * Every `scheme://userinfo@` in `text`, as the pattern `([A-Za-z][A-Za-z0-9+.-]*)://([^\s/?#@]+)@`
 * finds them, but in one pass: each `://` is found by search, its scheme read backwards and its
 * user-info forwards, and neither reading can cross another `://`. The pattern itself backtracks
 * over every run of letters, quadratic in a long text (64 KiB of letters took seconds).
 */
function* userInfos(text: string): Generator<UserInfo> {
  for (let at = text.indexOf("://"); at !== -1; at = text.indexOf("://", at + 3)) {
    let start = at
    while (start > 0 && isSchemeChar(text.charCodeAt(start - 1))) start--
    while (start < at && !isLetter(text.charCodeAt(start))) start++
    if (start === at) continue
    let end = at + 3
    while (end < text.length && text.charCodeAt(end) !== 0x40 && !endsUserInfo(text.charCodeAt(end))) end++
    if (end === at + 3 || end === text.length || text.charCodeAt(end) !== 0x40) continue
    yield { scheme: text.slice(start, at), userInfo: text.slice(at + 3, end), index: start, end: end + 1 }
  }
}

/**
 * An SSH URL names its user (`git+ssh://git@github.com/org/repo.git`); the credential is the SSH
 * key, which never appears in the URL. A password there is still a secret.
 */
const isSshUser = (scheme: string, userInfo: string): boolean => /ssh$/i.test(scheme) && !userInfo.includes(":")

/**
 * User-info made only of environment-variable references as pip expands them (`${NAME}`, upper
 * case letters, digits and `_`): a user, or a user and a password, each one reference. The
 * secret is in the environment of whoever installs, never in the definition.
 */
const VARIABLE_REFERENCES = /^\$\{[A-Z0-9_]+\}(?::\$\{[A-Z0-9_]+\})?$/

/** True when the user-info of a URL holds a secret: not an SSH user name, not references only. */
const holdsSecret = (scheme: string, userInfo: string): boolean =>
  !isSshUser(scheme, userInfo) && !VARIABLE_REFERENCES.test(userInfo)

/**
 * True when `text` holds a URL with credentials in its user-info: `user:password@` on any
 * scheme, or a bare `token@` on any scheme but SSH ones (where the user name is no secret);
 * user-info made only of `${NAME}` references is no credential. `text` may be a whole option
 * line (`--editable git+https://token@host/repo.git`).
 *
 * @example
 * ```ts
 * hasUrlCredentials("https://u:t@pypi.example.org/simple") // true
 * hasUrlCredentials("https://ghp_abc@github.com/org/repo.git") // true
 * hasUrlCredentials("git+ssh://git@github.com/org/repo.git") // false
 * hasUrlCredentials("https://${PIP_USER}:${PIP_TOKEN}@pypi.example.org/simple") // false
 * ```
 *
 * @since 0.1.0
 * @category credentials
 */
export const hasUrlCredentials = (text: string): boolean => {
  for (const { scheme, userInfo } of userInfos(text)) if (holdsSecret(scheme, userInfo)) return true
  return false
}

/**
 * `text` with the user-info of every URL that carries credentials replaced by `***`, so that an
 * error message can show where the problem is without repeating the secret.
 *
 * @since 0.1.0
 * @category credentials
 */
export const redactUrlCredentials = (text: string): string => {
  let redacted = ""
  let from = 0
  for (const { scheme, userInfo, index, end } of userInfos(text)) {
    if (!holdsSecret(scheme, userInfo)) continue
    redacted += `${text.slice(from, index)}${scheme}://***@`
    from = end
  }
  return redacted + text.slice(from)
}

/**
 * The message of every refusal: what is wrong and what to do instead.
 *
 * @since 0.1.0
 * @category credentials
 */
export const URL_CREDENTIALS_MESSAGE =
  "a URL must not carry credentials (user:token@host): definitions are kept forever in the event log. " +
  "Write the URL without them and configure the credentials by reference where the image is built " +
  "(a netrc file or keyring for pip, .condarc for conda)"

/**
 * The refusal of `text` when it carries credentials, else `undefined`: `${what} "…" carries
 * credentials; …` with the credentials redacted and `URL_CREDENTIALS_MESSAGE` after it. `what`
 * names the field or option as the reader knows it (`pip option --extra-index-url`, `the conda
 * channel`). Every place that refuses credentials words it this way.
 *
 * @example
 * ```ts
 * urlCredentialsProblem("channel", "https://u:t@conda.example.org/forge")
 * // 'channel "https://***@conda.example.org/forge" carries credentials; a URL must not …'
 * ```
 *
 * @since 0.1.0
 * @category credentials
 */
export const urlCredentialsProblem = (what: string, text: string): string | undefined =>
  hasUrlCredentials(text) ? `${what} "${redactUrlCredentials(text)}" carries credentials; ${URL_CREDENTIALS_MESSAGE}` : undefined

/**
 * An image reference with credentials before its registry, without a scheme
 * (`user:token@registry.example.org/team/image:tag`): user-info, `@`, a host (and port), `/`. The
 * reference grammar has no such form, so it is no image anyone could pull; a digest after `@`
 * (`ubuntu:22.04@sha256:…`) has no `/` and is not taken for one.
 */
const IMAGE_USER_INFO = /^([^\s/@]+)@[^\s/@:]+(?::\d+)?\//

/**
 * True when an image reference carries credentials: in a URL (`docker://user:token@host/…`) or
 * before its registry (`user:token@registry.example.org/image`).
 *
 * @since 0.1.0
 * @category credentials
 */
export const hasImageCredentials = (reference: string): boolean => {
  if (hasUrlCredentials(reference)) return true
  const userInfo = IMAGE_USER_INFO.exec(reference)?.[1]
  return userInfo !== undefined && !VARIABLE_REFERENCES.test(userInfo)
}

/**
 * The refusal of an image reference that carries credentials, else `undefined`, with the
 * credentials redacted (the rest of the reference is short and shows which one it is).
 *
 * @since 0.1.0
 * @category credentials
 */
export const imageCredentialsProblem = (what: string, reference: string): string | undefined =>
  hasImageCredentials(reference)
    ? `${what} "${redactUrlCredentials(reference).replace(IMAGE_USER_INFO, (whole, userInfo: string) => `***${whole.slice(userInfo.length)}`)}" carries credentials; ` +
      "an image reference must not carry credentials: definitions are kept forever in the event log. Give the registry's " +
      "credentials as secret references (docker.baseImageRegistry username and password: env:NAME, file:PATH, keyvault:VAULT/NAME)"
    : undefined

/**
 * The refusal of free text (a description, a variable's value, the Dockerfile text) that holds a
 * URL with credentials, else `undefined`. Only the scheme and host of the first such URL are
 * quoted, never the text around it: free text can be long, and other secrets may sit beside it
 * (in the URL's path or query, or further on).
 *
 * @example
 * ```ts
 * textCredentialsProblem("the Dockerfile text", "RUN pip install --index-url https://u:t@pypi.example.org/simple x")
 * // 'the Dockerfile text carries credentials in a URL ("https://***@pypi.example.org/…"); a URL must not …'
 * ```
 *
 * @since 0.1.0
 * @category credentials
 */
export const textCredentialsProblem = (what: string, text: string): string | undefined => {
  for (const { scheme, userInfo, end } of userInfos(text)) {
    if (!holdsSecret(scheme, userInfo)) continue
    const host = /^[^\s/?#"'`<>@]{0,255}/.exec(text.slice(end, end + 256))?.[0] ?? ""
    const excerpt = `${scheme}://***@${host}/…`
    return `${what} carries credentials in a URL ("${excerpt}"); ${URL_CREDENTIALS_MESSAGE}`
  }
  return undefined
}
