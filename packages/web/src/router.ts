/**
 * The page's addresses, in the History API: every view has a URL that reloads to the same view
 * (the server answers `index.html` for any path that is not the API's). `?asOf=` stays on every
 * link while it is set, so a past view stays past until the user leaves it.
 */
import { useEffect, useState } from "preact/hooks"

export type Route =
  | { readonly page: "list" }
  | { readonly page: "create" }
  | { readonly page: "environment"; readonly name: string }
  | { readonly page: "compare"; readonly name: string }
  | { readonly page: "notFound" }

export const parseRoute = (pathname: string): Route => {
  const parts = pathname.split("/").filter((part) => part !== "").map(decodeURIComponent)
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "environments")) return { page: "list" }
  if (parts[0] !== "environments") return { page: "notFound" }
  if (parts.length === 2 && parts[1] === "new") return { page: "create" }
  if (parts.length === 2) return { page: "environment", name: parts[1]! }
  if (parts.length === 3 && parts[2] === "compare") return { page: "compare", name: parts[1]! }
  return { page: "notFound" }
}

export interface Location {
  readonly route: Route
  readonly params: URLSearchParams
}

const current = (): Location => ({ route: parseRoute(location.pathname), params: new URLSearchParams(location.search) })

const listeners = new Set<() => void>()
addEventListener("popstate", () => listeners.forEach((listener) => listener()))

/** The current location; re-renders when it changes. */
export const useLocation = (): Location => {
  const [value, setValue] = useState(current)
  useEffect(() => {
    const listener = () => setValue(current())
    listeners.add(listener)
    return () => void listeners.delete(listener)
  }, [])
  return value
}

/** The asOf of the current address, if the page shows the past. */
export const currentAsOf = (): string | undefined => new URLSearchParams(location.search).get("asOf") ?? undefined

/** An address inside the page, keeping `asOf` unless told otherwise. */
export const href = (
  path: string,
  params: Record<string, string | undefined> = {},
  keepAsOf = true
): string => {
  const search = new URLSearchParams()
  const asOf = currentAsOf()
  if (keepAsOf && asOf !== undefined && !("asOf" in params)) search.set("asOf", asOf)
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(name, value)
  const text = search.toString()
  return text === "" ? path : `${path}?${text}`
}

export const navigate = (to: string, replace = false): void => {
  if (replace) history.replaceState(null, "", to)
  else history.pushState(null, "", to)
  listeners.forEach((listener) => listener())
  if (!replace) window.scrollTo(0, 0)
}

/** Follows a same-page link without reloading (a modified click still opens a new tab). */
export const onLinkClick = (event: MouseEvent): void => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return
  }
  const anchor = (event.target as Element | null)?.closest?.("a")
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return
  const url = new URL(anchor.href, location.href)
  if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return
  event.preventDefault()
  navigate(url.pathname + url.search)
}

export const environmentPath = (name: string) => `/environments/${encodeURIComponent(name)}`
