/**
 * The Environments list, as Studio shows it: Custom and Curated tabs, a search box, a tag filter,
 * an "include archived" switch and each row's build status. The filters live in the address, so
 * a filtered list can be reloaded, shared or opened as of a past time.
 */
import { useEffect, useState } from "preact/hooks"
import { api, type EnvironmentContainer, type Page } from "./api.ts"
import { ErrorMessage, Loading, StatusBadge, TabPanel, Tabs, TagList, formatTime, useAsync } from "./components.tsx"
import { environmentPath, href, navigate } from "./router.ts"

const TABS = [
  { id: "custom", label: "Custom environments" },
  { id: "curated", label: "Curated environments" }
] as const

export const EnvironmentList = ({ params, asOf }: { params: URLSearchParams; asOf: string | undefined }) => {
  const tab = params.get("tab") === "curated" ? "curated" : "custom"
  const search = params.get("q") ?? ""
  const tag = params.get("tag") ?? ""
  const archived = params.get("archived") === "1"
  const [searchText, setSearchText] = useState(search)
  const [tagText, setTagText] = useState(tag)
  useEffect(() => setSearchText(search), [search])
  useEffect(() => setTagText(tag), [tag])

  const go = (changes: Record<string, string | undefined>) => {
    const next = { tab, q: search, tag, archived: archived ? "1" : undefined, ...changes }
    navigate(href("/environments", { ...next, tab: next.tab === "custom" ? undefined : next.tab }), true)
  }

  const [more, setMore] = useState<ReadonlyArray<EnvironmentContainer>>([])
  const [nextLink, setNextLink] = useState<string | undefined>()
  const list = useAsync(async () => {
    const page = await api.listEnvironments({
      environmentType: tab === "curated" ? "Curated" : "UserCreated",
      listViewType: archived ? "All" : "ActiveOnly",
      ...(search ? { search } : {}),
      ...(tag ? { tag } : {}),
      ...(asOf ? { asOf } : {}),
      top: 50
    })
    setMore([])
    setNextLink(page.nextLink)
    return page
  }, [tab, search, tag, archived, asOf])

  const loadMore = async () => {
    if (!nextLink) return
    const page: Page<EnvironmentContainer> = await api.nextPage(nextLink)
    setMore((rows) => [...rows, ...page.value])
    setNextLink(page.nextLink)
  }

  const rows = [...(list.data?.value ?? []), ...more]
  return (
    <section aria-labelledby="list-title">
      <div class="page-head">
        <h1 id="list-title">Environments</h1>
        {!asOf ? (
          <a class="button primary" href="/environments/new">
            Create
          </a>
        ) : null}
      </div>
      <Tabs tabs={TABS} selected={tab} onSelect={(id) => go({ tab: id })} label="Environment kinds" idPrefix="kind" />
      <TabPanel idPrefix="kind" selected={tab}>
        <form
          class="filters"
          role="search"
          onSubmit={(event) => {
            event.preventDefault()
            go({ q: searchText.trim(), tag: tagText.trim() })
          }}
        >
          <div class="field">
            <label for="search">Search by name</label>
            <input id="search" type="search" value={searchText} onInput={(event) => setSearchText(event.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="tag-filter">Tag (name or name=value)</label>
            <input id="tag-filter" value={tagText} onInput={(event) => setTagText(event.currentTarget.value)} />
          </div>
          <button type="submit">Apply filters</button>
          <label class="check">
            <input type="checkbox" checked={archived} onChange={(event) => go({ archived: event.currentTarget.checked ? "1" : undefined })} />
            Include archived
          </label>
        </form>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && rows.length === 0 ? <p class="empty">No environments match.</p> : null}
        {rows.length > 0 ? (
          <table class="grid">
            <caption class="visually-hidden">{tab === "curated" ? "Curated environments" : "Custom environments"}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Latest version</th>
                <th scope="col">Build status</th>
                <th scope="col">Tags</th>
                <th scope="col">Description</th>
                <th scope="col">Last modified</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.name} class={row.properties.isArchived ? "archived" : undefined}>
                  <td data-label="Name">
                    <a href={href(environmentPath(row.name))}>{row.name}</a>
                    {row.properties.isArchived ? <span class="badge badge-none">archived</span> : null}
                  </td>
                  <td data-label="Latest version">
                    {row.properties.latestVersion ?? "—"}
                    {row.properties.terrarium?.versionCount && row.properties.terrarium.versionCount > 1 ? (
                      <span class="muted"> of {row.properties.terrarium.versionCount}</span>
                    ) : null}
                  </td>
                  <td data-label="Build status">
                    <StatusBadge status={row.properties.terrarium?.imageStatus} />
                  </td>
                  <td data-label="Tags">
                    <TagList tags={row.properties.tags} />
                  </td>
                  <td data-label="Description">{row.properties.description ?? ""}</td>
                  <td data-label="Last modified">{formatTime(row.systemData?.lastModifiedAt ?? row.systemData?.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {nextLink ? (
          <button type="button" onClick={() => void loadMore()}>
            Load more
          </button>
        ) : null}
      </TabPanel>
    </section>
  )
}
