/**
 * The Environments web page: the shell (header, the API key asked once, the as-of banner) and
 * the views by address (router.ts).
 */
import { render } from "preact"
import { useEffect, useState } from "preact/hooks"
import { onUnauthorized, session } from "./api.ts"
import { ComparePage } from "./ComparePage.tsx"
import { CreateWizard } from "./CreateWizard.tsx"
import { EnvironmentList } from "./EnvironmentList.tsx"
import { EnvironmentPage } from "./EnvironmentPage.tsx"
import { formatTime } from "./components.tsx"
import { href, navigate, onLinkClick, useLocation } from "./router.ts"

const ApiKeyDialog = ({ onSaved, message }: { onSaved: () => void; message?: string }) => {
  const [key, setKey] = useState("")
  const [workspace, setWorkspace] = useState(session.workspace())
  const submit = (event: Event) => {
    event.preventDefault()
    if (key.trim() === "" || workspace.trim() === "") return
    session.save(key.trim(), workspace.trim())
    onSaved()
  }
  return (
    <section class="card key-dialog" aria-labelledby="key-title">
      <h1 id="key-title">Sign in to a workspace</h1>
      <p>
        Paste an API key made with <code>terrarium apikey create --workspace NAME</code>. It is kept in this tab only
        (sessionStorage) and sent with every request as a bearer token.
      </p>
      {message ? (
        <p class="error" role="alert">
          {message}
        </p>
      ) : null}
      <form onSubmit={submit}>
        <label for="workspace">Workspace</label>
        <input
          id="workspace"
          name="workspace"
          value={workspace}
          onInput={(event) => setWorkspace(event.currentTarget.value)}
          required
          autoComplete="off"
        />
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          required
          autoComplete="off"
        />
        <button type="submit" class="primary">
          Continue
        </button>
      </form>
    </section>
  )
}

const withoutAsOf = (): string => {
  const params = new URLSearchParams(location.search)
  params.delete("asOf")
  return href(location.pathname, Object.fromEntries(params), false)
}

const AsOfBanner = ({ asOf }: { asOf: string }) => (
  <div class="asof" role="note">
    <span>
      Read-only view as of <strong>{/^\d+$/.test(asOf) ? `log position ${asOf}` : formatTime(asOf)}</strong>. Nothing can be
      changed here.
    </span>
    <a href={withoutAsOf()}>Back to now</a>
  </div>
)

const App = () => {
  const { route, params } = useLocation()
  const [signedIn, setSignedIn] = useState(session.key() !== null)
  const [expired, setExpired] = useState(false)
  useEffect(
    () =>
      onUnauthorized(() => {
        session.forget()
        setExpired(true)
        setSignedIn(false)
      }),
    []
  )
  const asOf = params.get("asOf") ?? undefined
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href("/environments")}>
          Terrarium
        </a>
        <nav aria-label="Main">
          <a href={href("/environments")} aria-current={route.page === "list" ? "page" : undefined}>
            Environments
          </a>
        </nav>
        {signedIn ? (
          <span class="who">
            <span class="muted">Workspace</span> <strong>{session.workspace()}</strong>
            <button
              type="button"
              class="link"
              onClick={() => {
                session.forget()
                setSignedIn(false)
              }}
            >
              Sign out
            </button>
          </span>
        ) : null}
      </header>
      {asOf ? <AsOfBanner asOf={asOf} /> : null}
      <main id="main" tabIndex={-1}>
        {!signedIn ? (
          <ApiKeyDialog
            onSaved={() => {
              setExpired(false)
              setSignedIn(true)
            }}
            {...(expired ? { message: "The API key was refused; enter a valid key for this workspace." } : {})}
          />
        ) : route.page === "list" ? (
          <EnvironmentList params={params} asOf={asOf} />
        ) : route.page === "create" ? (
          asOf ? (
            <p>Creating is not possible in a past view.</p>
          ) : (
            <CreateWizard params={params} />
          )
        ) : route.page === "environment" ? (
          <EnvironmentPage name={route.name} params={params} asOf={asOf} />
        ) : route.page === "compare" ? (
          <ComparePage name={route.name} params={params} asOf={asOf} />
        ) : (
          <section>
            <h1>Not found</h1>
            <p>
              <a href="/environments" onClick={(event) => (event.preventDefault(), navigate("/environments"))}>
                Go to the environments
              </a>
            </p>
          </section>
        )}
      </main>
    </div>
  )
}

render(<App />, document.getElementById("app")!)
