/**
 * The Environments web page in a real browser (Debian's Chromium, driven by playwright-core),
 * against a real `terrarium serve` process on PGlite with the in-memory image builder: sign in
 * with an API key, create an environment through the wizard, watch its build log stream, compare
 * two versions, archive it, and look at it as of before the archive. Every view is checked with
 * axe-core (no serious or critical violation) and photographed at 1280 and 390 px into
 * `.artifacts/web/` (git-ignored).
 *
 * The tests of this file share one server and one browser and run in order: each goes on from
 * what the one before left.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Page } from "playwright-core"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "../support/cli.ts"
import { launchBrowser, screenshot, seriousViolations, type Browser } from "../support/Browser.ts"
import { startServer, type TerrariumServer } from "../support/TerrariumServer.ts"

const NAME = "web-demo"

let server: TerrariumServer
let browser: Browser
let page: Page

/** The API as the test sees it (to check what the page did, or did not do). */
const apiGet = async (path: string): Promise<{ status: number; body: any }> => {
  const response = await fetch(`${server.url}/api/v1/workspaces/${server.workspace}${path}`, {
    headers: { authorization: `Bearer ${server.apiKey}` }
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
}

const apiPost = async (path: string, body: unknown): Promise<{ status: number; body: any }> => {
  const response = await fetch(`${server.url}/api/v1/workspaces/${server.workspace}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  return { status: response.status, body: await response.json() }
}

/** Axe finds no serious or critical problem; then the view is photographed at both widths. */
const checkView = async (name: string) => {
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([])
  await screenshot(page, `${name}-1280`)
  await page.setViewportSize({ width: 390, height: 844 })
  expect(await seriousViolations(page), `axe on ${name} at 390 px`).toEqual([])
  // Readable at 390 px: nothing wider than the window (no sideways scrolling of the page).
  const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")
  expect(overflow, `${name} is wider than 390 px`).toBeLessThanOrEqual(0)
  await screenshot(page, `${name}-390`)
  await page.setViewportSize({ width: 1280, height: 900 })
}

const CONDA_V1 = `name: web-demo
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - requests==2.32.3
`

const CONDA_V2 = CONDA_V1.replace("requests==2.32.3", "requests==2.32.4").replace("  - pip\n", "  - pip\n  - numpy=2.1\n")

describe("the Environments web page", () => {
  beforeAll(async () => {
    // The curated catalog on: the wizard's first source copies a curated environment.
    server = await startServer({ env: { TERRARIUM_CURATED_CATALOG: "on" } })
    browser = await launchBrowser()
    page = browser.page
    // How long a step waits for the page before the test fails (a build takes a few steps of the
    // in-memory builder; nothing here measures time).
    page.setDefaultTimeout(20_000)
  }, 600_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it("serves the page under / and asks for the API key once, keeping it in sessionStorage", async () => {
    await page.goto(`${server.url}/`)
    await page.getByRole("heading", { name: "Sign in to a workspace" }).waitFor()
    await checkView("sign-in")
    await page.getByRole("textbox", { name: "Workspace", exact: true }).fill(server.workspace)
    await page.getByLabel("API key").fill(server.apiKey)
    await page.getByRole("button", { name: "Continue" }).click()
    await page.getByRole("heading", { name: "Environments", level: 1 }).waitFor()
    expect(await page.evaluate<string | null>(`sessionStorage.getItem("terrarium.apiKey")`)).toBe(server.apiKey)
    expect(await page.evaluate<number>("localStorage.length")).toBe(0)
    // A reload keeps the key: the list shows without asking again.
    await page.reload()
    await page.getByRole("heading", { name: "Environments", level: 1 }).waitFor()
    expect(await page.getByLabel("API key").count()).toBe(0)
  })

  it("refuses a conda file the CLI's parser refuses, naming the line, and appends nothing", async () => {
    await page.getByRole("link", { name: "Create" }).click()
    await page.getByRole("heading", { name: "Create environment" }).waitFor()
    await page.getByLabel("Name", { exact: true }).fill(NAME)
    await page.getByLabel("Docker image", { exact: true }).fill("python:3.11-slim")
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Customise/ }).waitFor()
    await page.getByLabel(/Conda file/).fill("dependencies:\n  - python=3.11\n  - pip:\n      - 'requests >>= 2'\n")
    await page.getByRole("button", { name: "Next" }).click()
    const alert = page.getByRole("alert")
    await alert.waitFor()
    // The server's conda and pip parsers name the field and the line.
    expect(await alert.textContent()).toMatch(/condaFile\)?:4: invalid pip requirement/)
    expect((await apiGet(`/environments/${NAME}`)).status).toBe(404)
    // A conda spec (not a pip one) goes through the CLI's conda parser: its line is named too.
    await page.getByLabel(/Conda file/).fill("channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - 'numpy >>> 2'\n")
    await page.getByRole("button", { name: "Next" }).click()
    await expect.poll(async () => (await alert.textContent()) ?? "").toMatch(/condaFile\)?:5:/)
    expect((await apiGet(`/environments/${NAME}`)).status).toBe(404)
  })

  it("creates an environment through the wizard, showing the hash and that no image exists yet", async () => {
    await page.getByLabel(/Conda file/).fill(CONDA_V1)
    await page.getByLabel("Environment variables").fill("OMP_NUM_THREADS=1")
    await checkView("wizard-customise")
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Tags/ }).waitFor()
    await page.getByLabel("Tags", { exact: true }).fill("team=vision\nstage=dev")
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Review/ }).waitFor()
    const hash = (await page.getByTestId("canonical-hash").textContent())!.trim()
    expect(hash).toMatch(/[0-9a-f]{32,}/)
    expect(await page.getByTestId("image-exists").textContent()).toMatch(/none yet/)
    await checkView("wizard-review")
    await page.getByRole("button", { name: "Create" }).click()
    await page.getByRole("heading", { name: NAME, level: 1 }).waitFor()

    const created = await apiGet(`/environments/${NAME}/versions/latest`)
    expect(created.status).toBe(200)
    expect(created.body.properties.terrarium.canonicalHash).toBe(hash)
    expect(created.body.properties.tags).toEqual({ team: "vision", stage: "dev" })
    expect(created.body.properties.image).toBe("python:3.11-slim")
    expect(created.body.properties.environmentVariables).toEqual({ OMP_NUM_THREADS: "1" })
  })

  it("creates one from a Dockerfile typed in the editor, and shows its build context as a file tree", async () => {
    await page.goto(`${server.url}/environments/new`)
    await page.getByLabel("Name", { exact: true }).fill("from-dockerfile")
    // By keyboard: the sources are one radio group; an arrow key moves from the checked one to the next.
    await page.getByRole("radio", { name: /Docker image and conda file/ }).focus()
    await page.keyboard.press("ArrowDown")
    expect(await page.getByRole("radio", { name: /^Dockerfile/ }).isChecked()).toBe(true)
    await checkView("wizard-source")
    await page.getByLabel("Dockerfile", { exact: true }).fill("FROM python:3.11-slim\nRUN pip install --no-cache-dir numpy==2.1.3\n")
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Customise/ }).waitFor()
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Tags/ }).waitFor()
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Review/ }).waitFor()
    await page.getByRole("button", { name: "Create" }).click()
    await page.getByRole("heading", { name: "from-dockerfile", level: 1 }).waitFor()
    const created = await apiGet("/environments/from-dockerfile/versions/1")
    expect(created.body.properties.build.contextUri).toMatch(/^terrarium:\/\/build-contexts\/sha256:/)
    await page.getByRole("tab", { name: "Context" }).click()
    await page.getByRole("navigation", { name: "Build context files" }).getByRole("button", { name: "Dockerfile" }).click()
    await page.getByText("numpy==2.1.3").waitFor()
    await checkView("context")
  })

  it("creates one from a curated environment, copying its image and conda file", async () => {
    await page.goto(`${server.url}/environments/new`)
    await page.getByLabel("Name", { exact: true }).fill("from-curated")
    await page.getByRole("radio", { name: /curated environment/ }).check()
    const picker = page.getByRole("combobox", { name: "Curated environment" })
    await picker.locator("option").nth(1).waitFor({ state: "attached" })
    const curated = (await picker.locator("option").nth(1).textContent())!.trim()
    await picker.selectOption(curated)
    const source = await apiGet(`/environments/${curated}/versions/latest`)
    await page.getByTestId("curated-copied").getByText(source.body.properties.image).waitFor()
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Customise/ }).waitFor()
    expect(await page.getByLabel(/Conda file/).inputValue()).toBe(source.body.properties.condaFile ?? "")
    for (const step of [/Tags/, /Review/]) {
      await page.getByRole("button", { name: "Next" }).click()
      await page.getByRole("heading", { name: step }).waitFor()
    }
    await page.getByRole("button", { name: "Create" }).click()
    await page.getByRole("heading", { name: "from-curated", level: 1 }).waitFor()
    const created = await apiGet("/environments/from-curated/versions/1")
    expect(created.body.properties.image).toBe(source.body.properties.image)
    expect(created.body.properties.environmentType).toBe("UserCreated")
  })

  it("creates one from an uploaded build context folder", async () => {
    const folder = tempDir("terrarium-context-")
    try {
      mkdirSync(join(folder.path, "app/src"), { recursive: true })
      writeFileSync(join(folder.path, "app/Dockerfile"), "FROM python:3.11-slim\nCOPY src/ /app/\n")
      writeFileSync(join(folder.path, "app/src/main.py"), "print('hello')\n")
      await page.goto(`${server.url}/environments/new`)
      await page.getByLabel("Name", { exact: true }).fill("from-upload")
      await page.getByRole("radio", { name: /Upload a build context/ }).check()
      await page.getByLabel("Build context folder").setInputFiles(join(folder.path, "app"))
      await page.getByText(/Uploaded 2 file/).waitFor()
      for (const step of [/Customise/, /Tags/, /Review/]) {
        await page.getByRole("button", { name: "Next" }).click()
        await page.getByRole("heading", { name: step }).waitFor()
      }
      await page.getByRole("button", { name: "Create" }).click()
      await page.getByRole("heading", { name: "from-upload", level: 1 }).waitFor()
      await page.getByRole("tab", { name: "Context" }).click()
      const tree = page.getByRole("navigation", { name: "Build context files" })
      await tree.getByText("src/").waitFor()
      await tree.getByRole("button", { name: "main.py" }).click()
      await page.getByText("print('hello')").waitFor()
    } finally {
      folder.remove()
    }
  })

  it("lists it on the Custom tab with its build status, and finds it by search and tag", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Environments" }).click()
    const row = page.getByRole("row", { name: new RegExp(NAME) })
    await row.waitFor()
    expect(await row.textContent()).toMatch(/Not built/)
    await page.getByLabel("Tag (name or name=value)").fill("team=other")
    await page.getByRole("button", { name: "Apply filters" }).click()
    await page.getByText("No environments match.").waitFor()
    await page.getByLabel("Tag (name or name=value)").fill("team=vision")
    await page.getByLabel("Search by name", { exact: true }).fill("web-")
    await page.getByRole("button", { name: "Apply filters" }).click()
    await row.waitFor()
    await checkView("list")
    // Keyboard: the tabs move with the arrow keys; the Curated tab lists the catalog.
    await page.getByLabel("Tag (name or name=value)").fill("")
    await page.getByLabel("Search by name", { exact: true }).fill("")
    await page.getByRole("button", { name: "Apply filters" }).click()
    await page.getByRole("tab", { name: "Custom environments" }).focus()
    await page.keyboard.press("ArrowRight")
    expect(await page.getByRole("tab", { name: "Curated environments" }).getAttribute("aria-selected")).toBe("true")
    await page.getByRole("row", { name: /AzureML-/ }).first().waitFor()
    expect(await page.getByRole("row", { name: new RegExp(NAME) }).count()).toBe(0)
    await checkView("list-curated")
    await page.keyboard.press("ArrowLeft")
    await row.waitFor()
  })

  it("builds the version and shows its log as it streams, then the image's status and digest", async () => {
    await page.getByRole("link", { name: NAME }).click()
    await page.getByRole("button", { name: "Build" }).click()
    await page.getByRole("tab", { name: "Build log", selected: true }).waitFor()
    const status = page.getByTestId("log-status")
    await status.getByText("Built").waitFor({ timeout: 60_000 })
    const log = (await page.getByTestId("build-log").textContent()) ?? ""
    expect(log.split("\n").filter((line) => line.trim() !== "").length).toBeGreaterThan(0)
    await checkView("build-log")
    await page.getByRole("tab", { name: "Details" }).click()
    await page.getByText("Built", { exact: true }).first().waitFor()
    const image = await apiGet(`/environments/${NAME}/versions/1/image`)
    expect(image.body.status).toBe("Built")
    expect(await page.getByRole("tabpanel").textContent()).toContain(image.body.digest)
    await checkView("details")
  })

  it("Rebuild asks for a fresh build of a built image, and follows its log", async () => {
    const first = (await apiGet(`/environments/${NAME}/versions/1/builds`)).body.value[0].buildId as string
    // The log is followed over Server-Sent Events.
    const streamed = page.waitForRequest((request) => /\/builds\/[^/]+\/log\/stream$/.test(new URL(request.url()).pathname))
    await page.getByRole("toolbar", { name: "Actions" }).getByRole("button", { name: "Rebuild" }).click()
    await page.getByRole("status").getByText(/Build .* started\./).waitFor()
    await page.getByRole("tab", { name: "Build log", selected: true }).waitFor()
    await streamed
    await page.getByTestId("log-status").getByText("Built").waitFor({ timeout: 60_000 })
    const second = (await apiGet(`/environments/${NAME}/versions/1/builds`)).body.value[0].buildId as string
    expect(second).not.toBe(first)
    expect(await page.getByRole("tabpanel").textContent()).toContain(second)
  })

  it("the review step says when an image for the definition's hash exists already, and creating nothing appends nothing", async () => {
    await page.goto(`${server.url}/environments/new`)
    await page.getByLabel("Name", { exact: true }).fill(`${NAME}-twin`)
    await page.getByLabel("Docker image", { exact: true }).fill("python:3.11-slim")
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByLabel(/Conda file/).fill(CONDA_V1)
    await page.getByLabel("Environment variables").fill("OMP_NUM_THREADS=1")
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Tags/ }).waitFor()
    await checkView("wizard-tags")
    await page.getByRole("button", { name: "Next" }).click()
    await page.getByRole("heading", { name: /Review/ }).waitFor()
    const built = await apiGet(`/environments/${NAME}/versions/1`)
    expect((await page.getByTestId("canonical-hash").textContent())!.trim()).toBe(built.body.properties.terrarium.canonicalHash)
    expect(await page.getByTestId("image-exists").textContent()).toMatch(/already exists/)
    await page.getByRole("button", { name: "Back" }).click()
    await page.getByRole("heading", { name: /Tags/ }).waitFor()
    expect((await apiGet(`/environments/${NAME}-twin`)).status).toBe(404)
  })

  it("is usable by keyboard: every action is reached by Tab, shows its focus, and works with Enter or Space", async () => {
    await page.goto(`${server.url}/environments/${NAME}`)
    await page.getByRole("heading", { name: NAME, level: 1 }).waitFor()
    const reached = new Set<string>()
    const wanted = ["Rebuild", "Archive", "Download YAML", "Compare", "Details", "Edit description and tags"]
    await page.locator("body").focus()
    for (let i = 0; i < 40 && !wanted.every((name) => reached.has(name)); i++) {
      await page.keyboard.press("Tab")
      const focused = await page.evaluate<{ name: string; visible: boolean }>(`(() => {
        const element = document.activeElement
        const style = getComputedStyle(element)
        return {
          name: (element.getAttribute("aria-label") || element.textContent || "").trim(),
          visible: element.matches(":focus-visible") && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0
        }
      })()`)
      if (wanted.includes(focused.name)) {
        expect(focused.visible, `focus of ${focused.name} is not visible`).toBe(true)
        reached.add(focused.name)
      }
    }
    expect([...reached].sort()).toEqual([...wanted].sort())
    // Space presses a button; Enter follows a link or presses a button.
    await page.getByRole("button", { name: "Download YAML" }).focus()
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Space")])
    expect(download.suggestedFilename()).toBe(`${NAME}-1.yml`)
    await page.getByRole("button", { name: "Edit description and tags" }).focus()
    await page.keyboard.press("Enter")
    await page.getByRole("form", { name: "Edit description and tags" }).waitFor()
    await page.getByRole("button", { name: "Cancel" }).focus()
    await page.keyboard.press("Space")
    await page.getByRole("form", { name: "Edit description and tags" }).waitFor({ state: "detached" })
    await page.getByRole("tab", { name: "Details" }).focus()
    await page.keyboard.press("End")
    await page.getByRole("tab", { name: "Timeline", selected: true }).waitFor()
    await page.keyboard.press("Home")
    await page.getByRole("tab", { name: "Details", selected: true }).waitFor()
    await page.getByRole("toolbar", { name: "Actions" }).getByRole("link", { name: "Compare" }).focus()
    await page.keyboard.press("Enter")
    await page.getByRole("heading", { name: `Compare versions of ${NAME}` }).waitFor()
    await page.goto(`${server.url}/environments/${NAME}`)
    await page.getByRole("heading", { name: NAME, level: 1 }).waitFor()
  })

  it("edits the description and tags of a version, and downloads its YAML", async () => {
    await page.getByRole("button", { name: "Edit description and tags" }).click()
    await page.getByLabel("Description", { exact: true }).fill("Requests for the vision team")
    await page.getByLabel(/^Tags/).fill("team=vision\nstage=test")
    await page.getByRole("button", { name: "Save" }).click()
    await page.getByText("Requests for the vision team").waitFor()
    const edited = await apiGet(`/environments/${NAME}/versions/1`)
    expect(edited.body.properties.description).toBe("Requests for the vision team")
    expect(edited.body.properties.tags).toEqual({ team: "vision", stage: "test" })
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download YAML" }).click()])
    expect(download.suggestedFilename()).toBe(`${NAME}-1.yml`)
    const yaml = readFileSync((await download.path())!, "utf8")
    expect(yaml).toMatch(new RegExp(`name: ${NAME}`))
    expect(yaml).toMatch(/python:3\.11-slim/)
  })

  it("compares two versions: the definition and the packages that changed", async () => {
    const second = await apiPost(`/environments/${NAME}/versions`, {
      properties: { image: "python:3.11-slim", condaFile: CONDA_V2, tags: { team: "vision" } }
    })
    expect(second.status).toBe(201)
    await page.goto(`${server.url}/environments/${NAME}/compare?from=1&to=2`)
    const diff = page.getByTestId("diff")
    await diff.waitFor()
    const text = (await diff.textContent()) ?? ""
    expect(text).toMatch(/requests/)
    expect(text).toMatch(/2\.32\.3/)
    expect(text).toMatch(/2\.32\.4/)
    expect(text).toMatch(/numpy/)
    await checkView("compare")
  })

  let beforeArchive = ""

  it("archives the environment: gone from the default list, shown with 'Include archived'", async () => {
    beforeArchive = new Date().toISOString()
    await page.goto(`${server.url}/environments/${NAME}`)
    await page.getByRole("button", { name: "Archive" }).click()
    await page.getByRole("status").getByText(`${NAME} archived.`).waitFor()
    expect((await apiGet(`/environments/${NAME}`)).body.properties.isArchived).toBe(true)
    await page.getByRole("button", { name: "Restore" }).waitFor()
    await page.goto(`${server.url}/environments?archived=1`)
    const row = page.getByRole("row", { name: new RegExp(NAME) })
    await row.waitFor()
    expect(await row.textContent()).toMatch(/archived/)
    await page.getByLabel("Include archived").uncheck()
    await row.waitFor({ state: "detached" })
  })

  it("shows the past read-only with ?asOf: not archived then, and no action offered", async () => {
    await page.goto(`${server.url}/environments/${NAME}?asOf=${encodeURIComponent(beforeArchive)}`)
    await page.getByText(/Read-only view as of/).waitFor()
    await page.getByRole("heading", { name: NAME, level: 1 }).waitFor()
    expect(await page.getByRole("heading", { name: NAME, level: 1 }).textContent()).not.toMatch(/archived/)
    expect(await page.getByRole("button", { name: /^(Build|Rebuild|Archive|Restore)$/ }).count()).toBe(0)
    // The timeline of then ends before the archive.
    await page.getByRole("tab", { name: "Timeline" }).click()
    const timeline = page.getByRole("list", { name: "Audit timeline" })
    await timeline.waitFor()
    expect(await timeline.textContent()).not.toMatch(/Archived/)
    await checkView("as-of")
    // Links keep the past: the list is as of then too, and offers no Create.
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Environments" }).click()
    await page.getByRole("heading", { name: "Environments", level: 1 }).waitFor()
    expect(new URL(page.url()).searchParams.get("asOf")).toBe(beforeArchive)
    await page.getByText(/Read-only view as of/).waitFor()
    expect(await page.getByRole("link", { name: "Create" }).count()).toBe(0)
    // The list of then has the environment among the active ones: it was archived only later.
    const pastRow = page.getByRole("row", { name: new RegExp(NAME) })
    await pastRow.waitFor()
    expect(await pastRow.textContent()).not.toMatch(/archived/)
    // No tab of the past offers a change either: no edit on Details, no archive or restore of a version.
    const past = `${server.url}/environments/${NAME}?asOf=${encodeURIComponent(beforeArchive)}`
    await page.goto(past)
    await page.getByRole("heading", { name: NAME, level: 1 }).waitFor()
    await page.getByRole("tabpanel").getByText("Canonical hash").waitFor()
    expect(await page.getByRole("button", { name: "Edit description and tags" }).count()).toBe(0)
    await page.goto(`${past}&tab=versions`)
    await page.getByRole("table", { name: `Versions of ${NAME}` }).getByRole("row", { name: /^2 / }).waitFor()
    expect(await page.getByRole("button", { name: /^(Archive|Restore) version/ }).count()).toBe(0)
    // The wizard is not offered as of a past time, even by its address.
    await page.goto(`${server.url}/environments/new?asOf=${encodeURIComponent(beforeArchive)}`)
    await page.getByText("Creating is not possible in a past view.").waitFor()
    expect(await page.getByRole("button", { name: /^(Next|Create)$/ }).count()).toBe(0)
    // Compare works in the past too.
    await page.goto(`${server.url}/environments/${NAME}/compare?from=1&to=2&asOf=${encodeURIComponent(beforeArchive)}`)
    await page.getByTestId("diff").waitFor()
    await page.getByText(/Read-only view as of/).waitFor()
  })

  it("restores the archived environment: back in the default list", async () => {
    await page.goto(`${server.url}/environments/${NAME}`)
    await page.getByRole("toolbar", { name: "Actions" }).getByRole("button", { name: "Restore" }).click()
    await page.getByRole("status").getByText(`${NAME} restored.`).waitFor()
    expect((await apiGet(`/environments/${NAME}`)).body.properties.isArchived).toBe(false)
    await page.getByRole("toolbar", { name: "Actions" }).getByRole("button", { name: "Archive" }).waitFor()
    await page.goto(`${server.url}/environments`)
    await page.getByRole("row", { name: new RegExp(NAME) }).first().waitFor()
  })

  it("lists the versions on the Versions tab: archives and restores one, and picks two to compare", async () => {
    await page.goto(`${server.url}/environments/${NAME}?tab=versions`)
    const table = page.getByRole("table", { name: `Versions of ${NAME}` })
    await table.getByRole("row", { name: /^2 / }).waitFor()
    await checkView("versions")
    await page.getByRole("button", { name: "Archive version 2" }).click()
    await page.getByRole("button", { name: "Restore version 2" }).waitFor()
    expect((await apiGet(`/environments/${NAME}/versions/2`)).body.properties.isArchived).toBe(true)
    await page.getByRole("button", { name: "Restore version 2" }).click()
    await page.getByRole("button", { name: "Archive version 2" }).waitFor()
    expect((await apiGet(`/environments/${NAME}/versions/2`)).body.properties.isArchived).toBe(false)
    const compare = page.getByRole("form", { name: "Compare versions" })
    await compare.getByLabel("Compare from").selectOption("1")
    await compare.getByLabel("to", { exact: true }).selectOption("2")
    await compare.getByRole("button", { name: "Compare" }).click()
    await page.getByTestId("diff").waitFor()
    expect(new URL(page.url()).searchParams.get("from")).toBe("1")
    expect(new URL(page.url()).searchParams.get("to")).toBe("2")
  })

  it("shows the audit timeline, each event a link to the view as of then", async () => {
    await page.goto(`${server.url}/environments/${NAME}?tab=timeline`)
    const timeline = page.getByRole("list", { name: "Audit timeline" })
    await timeline.waitFor()
    const events = (await apiGet(`/environments/${NAME}/events`)).body.value as Array<{ position: number; eventType: string }>
    expect(await timeline.getByRole("listitem").count()).toBe(events.length)
    // Archiving and restoring version 2 are on it.
    expect(await timeline.textContent()).toMatch(/Archived[\s\S]*Restored|Restored[\s\S]*Archived/)
    await checkView("timeline")
    const first = events.find((event) => event.eventType === "Registered")!
    // The API's answers of then are held back a moment: while the past is being read, the page
    // shows nothing of now under the banner of then.
    let release = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const ofThen = (url: URL) => url.pathname.startsWith("/api/") && url.searchParams.get("asOf") === String(first.position)
    await page.route(ofThen, async (route) => {
      await held
      await route.continue()
    })
    await page.getByRole("link", { name: `view as of then (event ${first.position})` }).click()
    await page.getByText(`log position ${first.position}`).waitFor()
    expect(await page.getByLabel("Version", { exact: true }).count()).toBe(0)
    release()
    // As of its first version the environment had that one.
    await page.getByRole("heading", { name: NAME, level: 1 }).waitFor()
    await page.unrouteAll({ behavior: "wait" })
    expect(await page.getByLabel("Version", { exact: true }).locator("option").allTextContents()).toEqual(["1"])
    await page.getByRole("link", { name: "Back to now" }).click()
    await page.getByText(/Read-only view as of/).waitFor({ state: "detached" })
  })

  it("the version picker opens another version: its address and its details", async () => {
    await page.goto(`${server.url}/environments/${NAME}`)
    const picker = page.getByLabel("Version", { exact: true })
    await picker.waitFor()
    expect(await picker.inputValue()).toBe("2")
    await picker.selectOption("1")
    await page.waitForURL((url) => url.searchParams.get("version") === "1")
    const first = await apiGet(`/environments/${NAME}/versions/1`)
    await page.getByRole("tabpanel").getByText(first.body.properties.terrarium.canonicalHash).waitFor()
    expect(await page.getByRole("tabpanel").textContent()).not.toContain(
      (await apiGet(`/environments/${NAME}/versions/2`)).body.properties.terrarium.canonicalHash
    )
  })

  it("shows a curated environment read-only: no Build, Archive, edit, or version archive", async () => {
    const curated = (await apiGet("/environments?environmentType=Curated&$top=1")).body.value[0].name as string
    await page.goto(`${server.url}/environments/${curated}`)
    await page.getByRole("heading", { name: curated, level: 1 }).waitFor()
    await page.getByRole("tabpanel").getByText("Canonical hash").waitFor()
    const toolbar = page.getByRole("toolbar", { name: "Actions" })
    await toolbar.getByRole("button", { name: "Download YAML" }).waitFor()
    expect(await toolbar.getByRole("button", { name: /^(Build|Rebuild|Archive|Restore)$/ }).count()).toBe(0)
    expect(await page.getByRole("button", { name: "Edit description and tags" }).count()).toBe(0)
    await page.getByRole("tab", { name: "Versions" }).click()
    await page.getByRole("table", { name: `Versions of ${curated}` }).waitFor()
    expect(await page.getByRole("button", { name: /^(Archive|Restore) version/ }).count()).toBe(0)
  })
})
