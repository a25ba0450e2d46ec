/**
 * Compare two versions of an environment: what changed in the definition (fields, whether a
 * change needs a new image) and in its packages, as the API's diff says, with both definitions
 * side by side.
 */
import { api, type EnvironmentVersion } from "./api.ts"
import { ErrorMessage, Loading, useAsync, VersionSelect } from "./components.tsx"
import { versionOf } from "./EnvironmentPage.tsx"
import { environmentPath, href, navigate } from "./router.ts"

interface DefinitionDiff {
  readonly packages?: ReadonlyArray<{ kind: string; manager: string; name: string; from?: string; to?: string }>
  readonly channels?: { added: ReadonlyArray<string>; removed: ReadonlyArray<string>; reordered: boolean }
  readonly variables?: ReadonlyArray<{ kind: string; variable: string; from?: string; to?: string }>
  readonly fields?: ReadonlyArray<{ field: string; from?: string; to?: string; buildRelevant: boolean }>
  readonly buildRelevant?: boolean
}

/** The API answers `{ from, to, diff }`; `diff` is the domain's DefinitionDiff. */
const diffOf = (body: { diff: unknown }): DefinitionDiff => body.diff as DefinitionDiff

const definitionText = (version: EnvironmentVersion): string => {
  const p = version.properties
  const lines: Array<string> = []
  if (p.image) lines.push(`image: ${p.image}`)
  if (p.build?.contextUri) lines.push(`build.contextUri: ${p.build.contextUri}`)
  if (p.build?.dockerfilePath) lines.push(`build.dockerfilePath: ${p.build.dockerfilePath}`)
  if (p.condaFile) lines.push(`conda file:\n${p.condaFile}`)
  for (const [name, value] of Object.entries(p.environmentVariables ?? {})) lines.push(`env ${name}=${value}`)
  if (p.terrarium?.canonicalHash) lines.push(`hash: ${p.terrarium.canonicalHash}`)
  return lines.join("\n")
}

export const ComparePage = ({ name, params, asOf }: { name: string; params: URLSearchParams; asOf: string | undefined }) => {
  const versions = useAsync(() => api.listVersions(name, { listViewType: "All", ...(asOf ? { asOf } : {}), top: 100 }), [name, asOf])
  const all = versions.data?.value ?? []
  const from = params.get("from") ?? (all.length > 1 ? versionOf(all[all.length - 1]!) : undefined)
  const to = params.get("to") ?? (all.length > 0 ? versionOf(all[0]!) : undefined)
  const ready = from !== undefined && to !== undefined
  const diff = useAsync(async () => (ready ? diffOf(await api.diff(name, from, to, asOf)) : undefined), [name, from, to, asOf])
  const left = useAsync(async () => (from ? api.getVersion(name, from, asOf) : undefined), [name, from, asOf])
  const right = useAsync(async () => (to ? api.getVersion(name, to, asOf) : undefined), [name, to, asOf])
  const pick = (side: "from" | "to", value: string) =>
    navigate(href(`${environmentPath(name)}/compare`, { from, to, [side]: value }), true)
  const d = diff.data
  const empty = d && !d.packages?.length && !d.fields?.length && !d.variables?.length && !d.channels?.added.length && !d.channels?.removed.length
  return (
    <section aria-labelledby="compare-title">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href("/environments")}>Environments</a> <span aria-hidden="true">/</span>{" "}
        <a href={href(environmentPath(name))}>{name}</a> <span aria-hidden="true">/</span> <span>Compare</span>
      </nav>
      <h1 id="compare-title">Compare versions of {name}</h1>
      <ErrorMessage error={versions.error} />
      <form class="filters" aria-label="Versions to compare" onSubmit={(event) => event.preventDefault()}>
        <VersionSelect id="diff-from" label="From version" value={from ?? ""} versions={all.map(versionOf)} onChange={(v) => pick("from", v)} />
        <VersionSelect id="diff-to" label="To version" value={to ?? ""} versions={all.map(versionOf)} onChange={(v) => pick("to", v)} />
      </form>
      {versions.data && !ready ? <p class="empty">This environment has one version; there is nothing to compare.</p> : null}
      <ErrorMessage error={diff.error} />
      {diff.loading && ready ? <Loading /> : null}
      {d ? (
        <div class="diff" data-testid="diff">
          {empty ? <p class="empty">The two definitions are the same.</p> : null}
          {d.buildRelevant !== undefined ? (
            <p>{d.buildRelevant ? "These changes need a new image." : "No change needs a new image."}</p>
          ) : null}
          {d.fields?.length ? (
            <table class="grid">
              <caption>Definition</caption>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Needs a new image</th>
                </tr>
              </thead>
              <tbody>
                {d.fields.map((change) => (
                  <tr key={change.field}>
                    <td data-label="Field">
                      <code>{change.field}</code>
                    </td>
                    <td data-label="From" class="removed">
                      {change.from ?? "—"}
                    </td>
                    <td data-label="To" class="added">
                      {change.to ?? "—"}
                    </td>
                    <td data-label="Needs a new image">{change.buildRelevant ? "yes" : "no"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {d.packages?.length ? (
            <table class="grid">
              <caption>Packages</caption>
              <thead>
                <tr>
                  <th scope="col">Change</th>
                  <th scope="col">Package</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                </tr>
              </thead>
              <tbody>
                {d.packages.map((change) => (
                  <tr key={`${change.manager}:${change.name}`} class={`pkg-${change.kind}`}>
                    <td data-label="Change">{change.kind}</td>
                    <td data-label="Package">
                      {change.name} <span class="muted">({change.manager})</span>
                    </td>
                    <td data-label="From">{change.from ?? "—"}</td>
                    <td data-label="To">{change.to ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {d.channels && (d.channels.added.length || d.channels.removed.length || d.channels.reordered) ? (
            <p>
              Channels: {d.channels.added.length ? `added ${d.channels.added.join(", ")}` : ""}
              {d.channels.removed.length ? ` removed ${d.channels.removed.join(", ")}` : ""}
              {d.channels.reordered ? " (reordered)" : ""}
            </p>
          ) : null}
          {d.variables?.length ? (
            <ul aria-label="Environment variable changes">
              {d.variables.map((change) => (
                <li key={change.variable}>
                  {change.kind} <code>{change.variable}</code> {change.from !== undefined ? `from ${change.from}` : ""}{" "}
                  {change.to !== undefined ? `to ${change.to}` : ""}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {left.data && right.data ? (
        <div class="side-by-side">
          <section aria-label={`Version ${from}`}>
            <h2>Version {from}</h2>
            <pre class="code-block" tabIndex={0}>
              {definitionText(left.data)}
            </pre>
          </section>
          <section aria-label={`Version ${to}`}>
            <h2>Version {to}</h2>
            <pre class="code-block" tabIndex={0}>
              {definitionText(right.data)}
            </pre>
          </section>
        </div>
      ) : null}
    </section>
  )
}
