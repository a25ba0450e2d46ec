/**
 * Pieces every view shares: loading data, showing an API error, the build-status badge, tabs
 * that follow the WAI-ARIA tabs pattern (arrow keys move between them), tag chips, and a labelled
 * version picker.
 */
import type { ComponentChildren } from "preact"
import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import { ApiError, type Tags } from "./api.ts"

export interface Async<A> {
  readonly data: A | undefined
  readonly error: ApiError | undefined
  readonly loading: boolean
  readonly reload: () => void
  /** Shows data the page already has (an action's answer) without asking again. */
  readonly set: (data: A) => void
}

/**
 * Runs `load` whenever `deps` change; the answer of a stale run is dropped. A reload keeps the
 * data shown until the new answer comes; new `deps` (another version, another `asOf`) drop it at
 * once, so the page never shows one moment's data under another's address or banner.
 */
export const useAsync = <A,>(load: () => Promise<A>, deps: ReadonlyArray<unknown>): Async<A> => {
  const [state, setState] = useState<{ data?: A; error?: ApiError; loading: boolean }>({ loading: true })
  const [tick, setTick] = useState(0)
  const lastTick = useRef(tick)
  useEffect(() => {
    let live = true
    const reloading = lastTick.current !== tick
    lastTick.current = tick
    setState((previous) => (reloading ? { ...previous, loading: true } : { loading: true }))
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error: asApiError(error), loading: false })
    )
    return () => {
      live = false
    }
  }, [...deps, tick])
  const reload = useCallback(() => setTick((value) => value + 1), [])
  const set = useCallback((data: A) => setState({ data, loading: false }), [])
  return { data: state.data, error: state.error, loading: state.loading, reload, set }
}

export const asApiError = (error: unknown): ApiError =>
  error instanceof ApiError ? error : new ApiError({ title: "Unexpected error", status: 0, detail: String(error) })

export const ErrorMessage = ({ error }: { error: ApiError | undefined }) => {
  if (!error) return null
  const { problem } = error
  return (
    <div class="error" role="alert">
      <strong>{problem.title}</strong>
      {problem.detail && problem.detail !== problem.title ? <span> — {problem.detail}</span> : null}
      {problem.field ? (
        <div class="error-field">
          Field: <code>{problem.field}</code>
          {problem.line !== undefined ? `, line ${problem.line}` : ""}
        </div>
      ) : null}
      {problem._tag ? (
        <div class="error-tag">
          <code>
            {problem._tag}
            {problem.reason ? ` / ${problem.reason}` : ""}
          </code>
        </div>
      ) : null}
    </div>
  )
}

export const Loading = ({ label = "Loading…" }: { label?: string }) => (
  <p class="loading" role="status">
    {label}
  </p>
)

const STATUS_TEXT: Record<string, string> = {
  NotBuilt: "Not built",
  Queued: "Queued",
  Building: "Building",
  Built: "Built",
  Failed: "Failed"
}

const badgeClass = (status: string): string => {
  if (status === "Built") return "ok"
  if (status === "Failed") return "bad"
  if (status === "Building" || status === "Queued") return "busy"
  return "none"
}

/** The build status of a version's image, as a word (the colour only repeats it). */
export const StatusBadge = ({ status }: { status: string | undefined | null }) => {
  const value = status ?? "NotBuilt"
  return (
    <span class={`badge badge-${badgeClass(value)}`} data-status={value}>
      {STATUS_TEXT[value] ?? value}
    </span>
  )
}

export const TagList = ({ tags }: { tags: Tags | undefined }) => {
  const entries = Object.entries(tags ?? {})
  if (entries.length === 0) return <span class="muted">no tags</span>
  return (
    <ul class="tags" aria-label="Tags">
      {entries.map(([key, value]) => (
        <li key={key} class="tag">
          {value === "" ? key : `${key}: ${value}`}
        </li>
      ))}
    </ul>
  )
}

export interface TabSpec {
  readonly id: string
  readonly label: string
}

/** A tab list; Left/Right/Home/End move between tabs, as the ARIA practices describe. */
export const Tabs = ({
  tabs,
  selected,
  onSelect,
  label,
  idPrefix
}: {
  tabs: ReadonlyArray<TabSpec>
  selected: string
  onSelect: (id: string) => void
  label: string
  idPrefix: string
}) => {
  const list = useRef<HTMLDivElement>(null)
  const onKeyDown = (event: KeyboardEvent) => {
    const index = tabs.findIndex((tab) => tab.id === selected)
    let next = index
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length
    else if (event.key === "Home") next = 0
    else if (event.key === "End") next = tabs.length - 1
    else return
    event.preventDefault()
    onSelect(tabs[next]!.id)
    requestAnimationFrame(() => list.current?.querySelector<HTMLElement>(`#${idPrefix}-tab-${tabs[next]!.id}`)?.focus())
  }
  return (
    <div class="tablist" role="tablist" aria-label={label} ref={list} onKeyDown={onKeyDown}>
      {tabs.map((tab) => (
        <button
          type="button"
          role="tab"
          key={tab.id}
          id={`${idPrefix}-tab-${tab.id}`}
          aria-selected={tab.id === selected}
          aria-controls={`${idPrefix}-panel`}
          tabIndex={tab.id === selected ? 0 : -1}
          onClick={() => onSelect(tab.id)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  )
}

export const TabPanel = ({ idPrefix, selected, children }: { idPrefix: string; selected: string; children: ComponentChildren }) => (
  <div role="tabpanel" id={`${idPrefix}-panel`} aria-labelledby={`${idPrefix}-tab-${selected}`} tabIndex={0} class="tabpanel">
    {children}
  </div>
)

export const formatTime = (value: string | undefined): string => {
  if (!value) return "—"
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? value : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")
}

/** Parses `key=value` lines (or `key` alone) into tags, naming the first bad line. */
export const parseTags = (text: string): { tags: Record<string, string>; error?: string } => {
  const tags: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim()
    if (line === "") continue
    const equals = line.indexOf("=")
    const key = (equals < 0 ? line : line.slice(0, equals)).trim()
    if (key === "") return { tags, error: `line ${index + 1}: a tag needs a name before '='` }
    tags[key] = equals < 0 ? "" : line.slice(equals + 1).trim()
  }
  return { tags }
}

export const tagsText = (tags: Tags | undefined): string =>
  Object.entries(tags ?? {})
    .map(([key, value]) => (value === "" ? key : `${key}=${value}`))
    .join("\n")

/** A labelled picker of one version among `versions` (newest first, as the API lists them). */
export const VersionSelect = (props: {
  readonly id: string
  readonly label: string
  readonly value: string
  readonly versions: ReadonlyArray<string>
  readonly onChange: (version: string) => void
  /** An empty first choice, e.g. "(oldest)". */
  readonly none?: string | undefined
}) => (
  <div class="field">
    <label for={props.id}>{props.label}</label>
    <select id={props.id} value={props.value} onChange={(event) => props.onChange(event.currentTarget.value)}>
      {props.none === undefined ? null : <option value="">{props.none}</option>}
      {props.versions.map((version) => (
        <option key={version} value={version}>
          {version}
        </option>
      ))}
    </select>
  </div>
)
