/**
 * One environment: a version picker and the tabs Details, Context, Build log, Versions and
 * Timeline, with the actions Build/Rebuild, Archive/Restore, Download YAML and Compare. With
 * `?asOf=` every read is of that time and every action is hidden (a past view is read-only).
 */
import { useEffect, useRef, useState } from "preact/hooks"
import {
  api,
  ApiError,
  followLog,
  type ContextEntry,
  type EnvironmentContainer,
  type EnvironmentVersion,
  type LogLine
} from "./api.ts"
import {
  ErrorMessage,
  Loading,
  StatusBadge,
  TabPanel,
  Tabs,
  TagList,
  asApiError,
  formatTime,
  parseTags,
  tagsText,
  useAsync,
  VersionSelect
} from "./components.tsx"
import { environmentPath, href, navigate } from "./router.ts"

const TABS = [
  { id: "details", label: "Details" },
  { id: "context", label: "Context" },
  { id: "log", label: "Build log" },
  { id: "versions", label: "Versions" },
  { id: "timeline", label: "Timeline" }
] as const

/** The version part of an EnvironmentVersion's `name` (`env:3` or `3`). */
export const versionOf = (version: EnvironmentVersion): string => {
  const fromId = version.id?.split("/versions/").pop()
  return fromId && fromId !== version.id ? decodeURIComponent(fromId) : (version.name.split(":").pop() ?? version.name)
}

const download = (fileName: string, text: string) => {
  const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }))
  const anchor = document.createElement("a")
  anchor.href = url
  anchor.download = fileName
  document.body.append(anchor)
  anchor.click()
  anchor.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

const DetailsTab = ({
  name,
  version,
  readOnly,
  onChanged
}: {
  name: string
  version: EnvironmentVersion
  readOnly: boolean
  onChanged: () => void
}) => {
  const properties = version.properties
  const image = properties.terrarium?.image
  const [editing, setEditing] = useState(false)
  const [description, setDescription] = useState(properties.description ?? "")
  const [tags, setTags] = useState(tagsText(properties.tags))
  const [error, setError] = useState<ApiError | undefined>()
  const [saving, setSaving] = useState(false)
  useEffect(() => {
    setDescription(properties.description ?? "")
    setTags(tagsText(properties.tags))
  }, [version])
  const save = async (event: Event) => {
    event.preventDefault()
    const parsed = parseTags(tags)
    if (parsed.error) return setError(new ApiError({ title: "Check the tags", status: 400, detail: parsed.error, field: "tags" }))
    setSaving(true)
    setError(undefined)
    try {
      await api.patchVersion(name, versionOf(version), { description, tags: parsed.tags })
      setEditing(false)
      onChanged()
    } catch (cause) {
      setError(asApiError(cause))
    } finally {
      setSaving(false)
    }
  }
  return (
    <>
      <dl class="facts">
        <dt>Build status</dt>
        <dd>
          <StatusBadge status={image?.status} />
          {image?.builtAt ? <span class="muted"> {formatTime(image.builtAt)}</span> : null}
          {image?.failure ? (
            <span class="error-inline">
              {" "}
              {image.failure.reason}: {image.failure.message}
            </span>
          ) : null}
        </dd>
        <dt>Image</dt>
        <dd>
          <code>{image?.reference ?? properties.image ?? "—"}</code>
        </dd>
        <dt>Digest</dt>
        <dd>
          <code class="hash">{image?.digest ?? "—"}</code>
        </dd>
        <dt>Canonical hash</dt>
        <dd>
          <code class="hash">{properties.terrarium?.canonicalHash ?? "—"}</code>
        </dd>
        {properties.image && image?.reference && image.reference !== properties.image ? (
          <>
            <dt>Base image</dt>
            <dd>
              <code>{properties.image}</code>
            </dd>
          </>
        ) : null}
        {properties.build ? (
          <>
            <dt>Dockerfile</dt>
            <dd>
              <code>{properties.build.dockerfilePath ?? "Dockerfile"}</code>
              {properties.build.contextUri ? <span class="muted"> in {properties.build.contextUri}</span> : null}
            </dd>
          </>
        ) : null}
        <dt>OS</dt>
        <dd>{properties.osType ?? "Linux"}</dd>
        <dt>Labels</dt>
        <dd>{(properties.terrarium?.labels ?? []).join(", ") || "—"}</dd>
        <dt>Created</dt>
        <dd>
          {formatTime(version.systemData?.createdAt)}
          {version.systemData?.createdBy ? ` by ${version.systemData.createdBy}` : ""}
        </dd>
        <dt>Archived</dt>
        <dd>{properties.isArchived ? "yes" : "no"}</dd>
        <dt>Environment variables</dt>
        <dd>
          {Object.keys(properties.environmentVariables ?? {}).length === 0 ? (
            <span class="muted">none</span>
          ) : (
            <ul class="plain" aria-label="Environment variables">
              {Object.entries(properties.environmentVariables ?? {}).map(([key, value]) => (
                <li key={key}>
                  <code>
                    {key}={value}
                  </code>
                </li>
              ))}
            </ul>
          )}
        </dd>
        {!editing ? (
          <>
            <dt>Description</dt>
            <dd>{properties.description || <span class="muted">none</span>}</dd>
            <dt>Tags</dt>
            <dd>
              <TagList tags={properties.tags} />
            </dd>
          </>
        ) : null}
      </dl>
      {editing ? (
        <form class="card" onSubmit={save} aria-label="Edit description and tags">
          <div class="field">
            <label for="edit-description">Description</label>
            <input id="edit-description" value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="edit-tags">Tags (one name=value a line)</label>
            <textarea id="edit-tags" class="code" rows={4} value={tags} onInput={(event) => setTags(event.currentTarget.value)} />
          </div>
          <ErrorMessage error={error} />
          <div class="actions">
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={saving}>
              Save
            </button>
          </div>
        </form>
      ) : !readOnly ? (
        <button type="button" onClick={() => setEditing(true)}>
          Edit description and tags
        </button>
      ) : null}
      {properties.condaFile ? (
        <>
          <h3>Conda file</h3>
          <pre class="code-block" tabIndex={0} aria-label="Conda file">
            {properties.condaFile}
          </pre>
        </>
      ) : null}
    </>
  )
}

interface TreeNode {
  readonly name: string
  readonly path: string
  readonly children: Map<string, TreeNode>
  readonly entry?: ContextEntry
}

const treeOf = (entries: ReadonlyArray<ContextEntry>): TreeNode => {
  const root: TreeNode = { name: "", path: "", children: new Map() }
  for (const entry of entries) {
    let node = root
    const parts = entry.path.split("/").filter((part) => part !== "")
    parts.forEach((part, index) => {
      const path = parts.slice(0, index + 1).join("/")
      let child = node.children.get(part)
      if (!child) {
        child = { name: part, path, children: new Map(), ...(index === parts.length - 1 ? { entry } : {}) }
        node.children.set(part, child)
      }
      node = child
    })
  }
  return root
}

const TreeView = ({ node, open }: { node: TreeNode; open: (path: string) => void }) => (
  <ul>
    {[...node.children.values()]
      .sort((a, b) => Number(b.children.size > 0) - Number(a.children.size > 0) || a.name.localeCompare(b.name))
      .map((child) =>
        child.children.size > 0 ? (
          <li key={child.path}>
            <details open>
              <summary>{child.name}/</summary>
              <TreeView node={child} open={open} />
            </details>
          </li>
        ) : (
          <li key={child.path}>
            <button type="button" class="link" onClick={() => open(child.path)}>
              {child.name}
            </button>
            {child.entry?.size !== undefined ? <span class="muted"> {child.entry.size} B</span> : null}
          </li>
        )
      )}
  </ul>
)

const ContextTab = ({ name, version }: { name: string; version: string }) => {
  const context = useAsync(() => api.context(name, version), [name, version])
  const [file, setFile] = useState<{ path: string; text?: string; error?: ApiError }>()
  const open = async (path: string) => {
    setFile({ path })
    try {
      setFile({ path, text: await api.contextFile(name, version, path) })
    } catch (cause) {
      setFile({ path, error: asApiError(cause) })
    }
  }
  if (context.loading && !context.data) return <Loading />
  if (context.error?.status === 404) return <p class="empty">This version has no build context (it starts from an image).</p>
  return (
    <div class="context">
      <ErrorMessage error={context.error} />
      {context.data ? (
        context.data.files.length === 0 ? (
          <p class="empty">This version has no build context.</p>
        ) : (
          <nav aria-label="Build context files" class="tree">
            <TreeView node={treeOf(context.data.files)} open={(path) => void open(path)} />
          </nav>
        )
      ) : null}
      {file ? (
        <section aria-label={`File ${file.path}`}>
          <h3>
            <code>{file.path}</code>
          </h3>
          <ErrorMessage error={file.error} />
          {file.text !== undefined ? (
            <pre class="code-block" tabIndex={0}>
              {file.text}
            </pre>
          ) : file.error ? null : (
            <Loading />
          )}
        </section>
      ) : null}
    </div>
  )
}

const LogTab = ({
  name,
  version,
  buildId,
  past,
  onEnded
}: {
  name: string
  version: string
  buildId: string | undefined
  /** A past view: the log is of the build the version's image had then (`buildId`), never a later one. */
  past: boolean
  onEnded: () => void
}) => {
  const builds = useAsync(async () => (past ? { value: [] } : api.listBuilds(name, version)), [name, version, buildId, past])
  const chosen = buildId ?? (past ? undefined : builds.data?.value.find((build) => build.buildId !== null)?.buildId ?? undefined)
  const [lines, setLines] = useState<ReadonlyArray<LogLine>>([])
  const [ended, setEnded] = useState<string | undefined>()
  const [error, setError] = useState<ApiError | undefined>()
  const bottom = useRef<HTMLPreElement>(null)
  useEffect(() => {
    if (!chosen) return
    setLines([])
    setEnded(undefined)
    setError(undefined)
    return followLog(chosen, {
      line: (line) => setLines((previous) => [...previous, line]),
      end: (status) => {
        setEnded(status)
        onEnded()
      },
      error: setError
    })
  }, [chosen])
  useEffect(() => {
    const element = bottom.current
    if (element) element.scrollTop = element.scrollHeight
  }, [lines])
  if (builds.loading && !builds.data && !buildId) return <Loading />
  if (!chosen) return <p class="empty">{past ? "No build of this version then." : "No build yet. Use Build to make this version's image."}</p>
  return (
    <>
      <p>
        Build <code>{chosen}</code>{" "}
        {ended ? (
          <span role="status" data-testid="log-status">
            finished: <StatusBadge status={ended} />
          </span>
        ) : (
          <span role="status" data-testid="log-status">
            <StatusBadge status="running" /> following live…
          </span>
        )}
      </p>
      <ErrorMessage error={builds.error ?? error} />
      <pre class="log" role="log" aria-label="Build log" tabIndex={0} ref={bottom} data-testid="build-log">
        {lines.map((line) => line.text).join("\n")}
      </pre>
    </>
  )
}

const VersionsTab = ({ name, asOf, readOnly, current }: { name: string; asOf: string | undefined; readOnly: boolean; current: string }) => {
  const versions = useAsync(() => api.listVersions(name, { listViewType: "All", ...(asOf ? { asOf } : {}), top: 100 }), [name, asOf])
  const [from, setFrom] = useState<string>("")
  const [to, setTo] = useState<string>(current)
  const [error, setError] = useState<ApiError | undefined>()
  const toggle = async (version: EnvironmentVersion) => {
    setError(undefined)
    try {
      if (version.properties.isArchived) await api.restoreVersion(name, versionOf(version))
      else await api.archiveVersion(name, versionOf(version))
      versions.reload()
    } catch (cause) {
      setError(asApiError(cause))
    }
  }
  if (versions.loading && !versions.data) return <Loading />
  const rows = versions.data?.value ?? []
  return (
    <>
      <ErrorMessage error={versions.error ?? error} />
      <table class="grid">
        <caption class="visually-hidden">Versions of {name}</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Build status</th>
            <th scope="col">Created</th>
            <th scope="col">Archived</th>
            <th scope="col">Description</th>
            {!readOnly ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const version = versionOf(row)
            return (
              <tr key={version}>
                <td data-label="Version">
                  <a href={href(environmentPath(name), { version })} aria-current={version === current ? "page" : undefined}>
                    {version}
                  </a>
                </td>
                <td data-label="Build status">
                  <StatusBadge status={row.properties.terrarium?.image?.status} />
                </td>
                <td data-label="Created">{formatTime(row.systemData?.createdAt)}</td>
                <td data-label="Archived">{row.properties.isArchived ? "yes" : "no"}</td>
                <td data-label="Description">{row.properties.description ?? ""}</td>
                {!readOnly ? (
                  <td data-label="Actions">
                    <button type="button" onClick={() => void toggle(row)} aria-label={`${row.properties.isArchived ? "Restore" : "Archive"} version ${version}`}>
                      {row.properties.isArchived ? "Restore" : "Archive"}
                    </button>
                  </td>
                ) : null}
              </tr>
            )
          })}
        </tbody>
      </table>
      {rows.length > 1 ? (
        <form
          class="filters"
          aria-label="Compare versions"
          onSubmit={(event) => {
            event.preventDefault()
            navigate(href(`${environmentPath(name)}/compare`, { from: from || versionOf(rows[rows.length - 1]!), to }))
          }}
        >
          <VersionSelect id="compare-from" label="Compare from" value={from} versions={rows.map(versionOf)} onChange={setFrom} none="(oldest)" />
          <VersionSelect id="compare-to" label="to" value={to} versions={rows.map(versionOf)} onChange={setTo} />
          <button type="submit">Compare</button>
        </form>
      ) : null}
    </>
  )
}

const TimelineTab = ({ name, asOf }: { name: string; asOf: string | undefined }) => {
  const events = useAsync(() => api.events(name, undefined, asOf), [name, asOf])
  if (events.loading && !events.data) return <Loading />
  return (
    <>
      <ErrorMessage error={events.error} />
      <ol class="timeline" aria-label="Audit timeline">
        {(events.data?.value ?? []).map((event) => {
          const at = event.occurredAt
          return (
            <li key={String(event.position)}>
              <span class="event-type">{event.eventType}</span>
              {event.summary ? <span>: {event.summary}</span> : null}
              {event.version ? <span> version {event.version}</span> : null}
              <span class="muted">
                {" "}
                {formatTime(at)}
                {event.actor ? ` by ${event.actor}` : ""}
              </span>
              {!asOf ? (
                <>
                  {" "}
                  {/* The event's log position names that point exactly (several events share a millisecond). */}
                  {/* The visible words begin the link's name (WCAG 2.5.3); the position tells the links apart. */}
                  <a href={href(environmentPath(name), { asOf: String(event.position) }, false)}>
                    view as of then<span class="visually-hidden"> (event {event.position})</span>
                  </a>
                </>
              ) : null}
            </li>
          )
        })}
      </ol>
    </>
  )
}

/**
 * `latest` is the newest active version; an archived environment has none, so its page shows
 * its newest version, archived or not (as Studio still opens an archived environment).
 */
const latestOrNewest = async (name: string, requested: string, asOf: string | undefined): Promise<EnvironmentVersion> => {
  try {
    return await api.getVersion(name, requested, asOf)
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404 || requested !== "latest") throw error
    const all = await api.listVersions(name, { listViewType: "All", ...(asOf ? { asOf } : {}), top: 100 })
    const newest = [...all.value].sort((a, b) => (b.systemData?.createdAt ?? "").localeCompare(a.systemData?.createdAt ?? ""))[0]
    if (!newest) throw error
    return api.getVersion(name, versionOf(newest), asOf)
  }
}

export const EnvironmentPage = ({ name, params, asOf }: { name: string; params: URLSearchParams; asOf: string | undefined }) => {
  const readOnly = asOf !== undefined
  const tab = TABS.some((candidate) => candidate.id === params.get("tab")) ? params.get("tab")! : "details"
  const requested = params.get("version") ?? "latest"
  const container = useAsync<EnvironmentContainer>(() => api.getEnvironment(name, asOf), [name, asOf])
  const versions = useAsync(() => api.listVersions(name, { listViewType: "All", ...(asOf ? { asOf } : {}), top: 100 }), [name, asOf])
  const version = useAsync(async () => {
    const found = await latestOrNewest(name, requested, asOf)
    if (found.properties.terrarium?.image || asOf) return found
    // A version's image status comes with it when the server adds it, else from its image route.
    const image = await api.image(name, found.name).catch(() => undefined)
    return image ? { ...found, properties: { ...found.properties, terrarium: { ...found.properties.terrarium, image } } } : found
  }, [name, requested, asOf])
  const [actionError, setActionError] = useState<ApiError | undefined>()
  const [notice, setNotice] = useState<string | undefined>()
  const [buildId, setBuildId] = useState<string | undefined>()
  const [working, setWorking] = useState(false)

  const go = (changes: Record<string, string | undefined>) =>
    navigate(href(environmentPath(name), { version: params.get("version") ?? undefined, tab: tab === "details" ? undefined : tab, ...changes }), true)

  const act = async (what: () => Promise<void>) => {
    setActionError(undefined)
    setNotice(undefined)
    setWorking(true)
    try {
      await what()
    } catch (cause) {
      setActionError(asApiError(cause))
    } finally {
      setWorking(false)
    }
  }

  const current = version.data ? versionOf(version.data) : requested
  const image = version.data?.properties.terrarium?.image
  const built = image?.status === "Built"
  // In a past view the environment is read as it was then (the API answers asOf from the log).
  const archived = container.data?.properties.isArchived === true

  const build = () =>
    act(async () => {
      // Rebuild asks for a fresh build of a built image (noCache); Build reuses one that exists.
      const result = await api.startBuild(name, current, built)
      if (result.buildId && !result.cacheHit) {
        setBuildId(result.buildId)
        go({ tab: "log" })
        setNotice(`Build ${result.buildId} started.`)
      } else {
        setNotice("An image for this definition already exists; nothing to build.")
      }
      version.reload()
    })

  const toggleArchive = () =>
    act(async () => {
      const updated = archived ? await api.restoreEnvironment(name) : await api.archiveEnvironment(name)
      container.set(updated)
      setNotice(archived ? `${name} restored.` : `${name} archived.`)
      version.reload()
      versions.reload()
    })

  const downloadYaml = () =>
    act(async () => {
      const exported = await api.exportFiles(name, current, "azureml-v2")
      const entry = exported.files.find((file) => file.path === exported.entry) ?? exported.files.find((file) => file.text !== undefined)
      if (entry?.text === undefined) throw new ApiError({ title: "Nothing to download", status: 0, detail: "the export has no YAML file" })
      download(`${name}-${current}.yml`, entry.text)
    })

  if (container.error || version.error) {
    return (
      <section>
        <h1>{name}</h1>
        <ErrorMessage error={container.error ?? version.error} />
        <p>
          <a href={href("/environments")}>Back to the environments</a>
        </p>
      </section>
    )
  }
  if (!container.data || !version.data) return <Loading />
  // A curated environment is the catalog's: every workspace sees it, none changes it.
  const curated = container.data.properties.environmentType === "Curated"
  const unchangeable = readOnly || curated

  return (
    <section aria-labelledby="env-title">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href("/environments")}>Environments</a> <span aria-hidden="true">/</span> <span>{name}</span>
      </nav>
      <div class="page-head">
        <h1 id="env-title">
          {name}
          {archived ? <span class="badge badge-none">archived</span> : null}
        </h1>
        <div class="field inline">
          <label for="version-picker">Version</label>
          <select id="version-picker" value={current} onChange={(event) => go({ version: event.currentTarget.value })}>
            {(versions.data?.value ?? []).map((row) => (
              <option key={versionOf(row)} value={versionOf(row)}>
                {versionOf(row)}
                {row.properties.isArchived ? " (archived)" : ""}
              </option>
            ))}
            {versions.data?.value.some((row) => versionOf(row) === current) ? null : <option value={current}>{current}</option>}
          </select>
        </div>
      </div>
      <div class="toolbar" role="toolbar" aria-label="Actions">
        {!unchangeable ? (
          <>
            <button type="button" class="primary" onClick={() => void build()} disabled={working}>
              {built ? "Rebuild" : "Build"}
            </button>
            <button type="button" onClick={() => void toggleArchive()} disabled={working}>
              {archived ? "Restore" : "Archive"}
            </button>
          </>
        ) : null}
        <button type="button" onClick={() => void downloadYaml()} disabled={working}>
          Download YAML
        </button>
        <a class="button" href={href(`${environmentPath(name)}/compare`, { to: current })}>
          Compare
        </a>
      </div>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={actionError} />
      <Tabs tabs={TABS} selected={tab} onSelect={(id) => go({ tab: id === "details" ? undefined : id })} label="Version views" idPrefix="version" />
      <TabPanel idPrefix="version" selected={tab}>
        {tab === "details" ? <DetailsTab name={name} version={version.data} readOnly={unchangeable} onChanged={version.reload} /> : null}
        {tab === "context" ? <ContextTab name={name} version={current} /> : null}
        {tab === "log" ? (
          <LogTab name={name} version={current} buildId={asOf ? image?.buildId ?? undefined : buildId} past={readOnly} onEnded={version.reload} />
        ) : null}
        {tab === "versions" ? <VersionsTab name={name} asOf={asOf} readOnly={unchangeable} current={current} /> : null}
        {tab === "timeline" ? <TimelineTab name={name} asOf={asOf} /> : null}
      </TabPanel>
    </section>
  )
}
