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
 * @since 0.1.0
 */
// `scheme://userinfo@`: the user-info part cannot hold `/`, `?`, `#` or `@` (RFC 3986 §3.2.1).
const USER_INFO = /([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s/?#@]+)@/g

/**
 * An SSH URL names its user (`git+ssh://git@github.com/org/repo.git`); the credential is the SSH
 * key, which never appears in the URL. A password there is still a secret.
 */
const isSshUser = (scheme: string, userInfo: string): boolean => /ssh$/i.test(scheme) && !userInfo.includes(":")

/**
 * True when `text` holds a URL with credentials in its user-info: `user:password@` on any
 * scheme, or a bare `token@` on any scheme but SSH ones (where the user name is no secret).
 * `text` may be a whole option line (`--editable git+https://token@host/repo.git`).
 *
 * @example
 * ```ts
 * hasUrlCredentials("https://u:t@pypi.example.org/simple") // true
 * hasUrlCredentials("https://ghp_abc@github.com/org/repo.git") // true
 * hasUrlCredentials("git+ssh://git@github.com/org/repo.git") // false
 * ```
 *
 * @since 0.1.0
 * @category credentials
 */
export const hasUrlCredentials = (text: string): boolean =>
  [...text.matchAll(USER_INFO)].some(([, scheme = "", userInfo = ""]) => !isSshUser(scheme, userInfo))

/**
 * `text` with the user-info of every URL that carries credentials replaced by `***`, so that an
 * error message can show where the problem is without repeating the secret.
 *
 * @since 0.1.0
 * @category credentials
 */
export const redactUrlCredentials = (text: string): string =>
  text.replace(USER_INFO, (whole, scheme: string, userInfo: string) =>
    isSshUser(scheme, userInfo) ? whole : `${scheme}://***@`)

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
