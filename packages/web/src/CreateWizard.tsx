/**
 * The Create wizard: where the environment starts from (a curated environment, a Docker image
 * with a conda file, a Dockerfile typed here, or an uploaded build context), then its packages
 * and environment variables, its tags, and a review that shows the canonical hash and whether an
 * image for it already exists before anything is created.
 *
 * The page parses nothing itself: every check goes through the API's preview route, which reads
 * the conda file and the requirements with the same parsers as the CLI and appends nothing.
 */
import type { ComponentChildren } from "preact"
import { useEffect, useRef, useState } from "preact/hooks"
import { api, ApiError, type Preview, type VersionProperties } from "./api.ts"
import { ErrorMessage, Loading, StatusBadge, TagList, asApiError, parseTags, useAsync } from "./components.tsx"
import { environmentPath, navigate } from "./router.ts"
import { entriesOfFiles, tarOf, textEntry } from "./tar.ts"

type Source = "curated" | "image" | "dockerfile" | "upload"

const SOURCES: ReadonlyArray<{ id: Source; label: string; hint: string }> = [
  { id: "curated", label: "Start from a curated environment", hint: "Copy a curated environment's image and packages." },
  { id: "image", label: "Docker image and conda file", hint: "A base image, with packages from a conda file." },
  { id: "dockerfile", label: "Dockerfile", hint: "Write a Dockerfile here (no build context)." },
  { id: "upload", label: "Upload a build context", hint: "A folder with a Dockerfile and the files it copies." }
]

const STEPS = ["Source", "Customise", "Tags", "Review"] as const

const EXAMPLE_CONDA = `name: project
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - requests==2.32.3
`

interface Draft {
  name: string
  description: string
  source: Source
  curated: string
  image: string
  dockerfile: string
  dockerfilePath: string
  files: ReadonlyArray<File>
  contextUri: string
  condaFile: string
  environmentVariables: string
  tags: string
}

const emptyDraft: Draft = {
  name: "",
  description: "",
  source: "image",
  curated: "",
  image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
  dockerfile: "FROM python:3.11-slim\nRUN pip install --no-cache-dir numpy\n",
  dockerfilePath: "Dockerfile",
  files: [],
  contextUri: "",
  condaFile: EXAMPLE_CONDA,
  environmentVariables: "",
  tags: ""
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/

/**
 * The body the API receives, from the draft (also what the review shows). A Dockerfile typed in
 * the editor is uploaded as a one-file build context before the preview, like an uploaded folder.
 */
const propertiesOf = (draft: Draft): { properties?: VersionProperties; error?: string } => {
  const tags = parseTags(draft.tags)
  if (tags.error) return { error: `Tags, ${tags.error}` }
  const variables = parseTags(draft.environmentVariables)
  if (variables.error) return { error: `Environment variables, ${variables.error}` }
  const common: VersionProperties = {
    ...(draft.description.trim() ? { description: draft.description.trim() } : {}),
    tags: tags.tags,
    ...(Object.keys(variables.tags).length > 0 ? { environmentVariables: variables.tags } : {}),
    ...(draft.condaFile.trim() && draft.source !== "dockerfile" && draft.source !== "upload" ? { condaFile: draft.condaFile } : {})
  }
  switch (draft.source) {
    case "curated":
    case "image":
      return { properties: { ...common, image: draft.image.trim() } }
    case "dockerfile":
      return { properties: { ...common, build: { contextUri: draft.contextUri, dockerfilePath: "Dockerfile" } } }
    case "upload":
      return { properties: { ...common, build: { contextUri: draft.contextUri, dockerfilePath: draft.dockerfilePath.trim() || "Dockerfile" } } }
  }
}

const Field = ({ id, label, hint, children }: { id: string; label: string; hint?: string; children: ComponentChildren }) => (
  <div class="field">
    <label for={id}>{label}</label>
    {hint ? (
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    ) : null}
    {children}
  </div>
)

const CuratedPicker = ({ draft, update }: { draft: Draft; update: (changes: Partial<Draft>) => void }) => {
  const curated = useAsync(() => api.listEnvironments({ environmentType: "Curated", top: 200 }), [])
  const [copying, setCopying] = useState(false)
  const [error, setError] = useState<ApiError | undefined>()
  const pick = async (name: string) => {
    update({ curated: name })
    if (name === "") return
    setCopying(true)
    setError(undefined)
    try {
      const version = await api.getVersion(name, "latest")
      const properties = version.properties
      update({
        curated: name,
        image: properties.image ?? "",
        condaFile: properties.condaFile ?? "",
      })
    } catch (cause) {
      setError(asApiError(cause))
    } finally {
      setCopying(false)
    }
  }
  return (
    <Field id="curated" label="Curated environment">
      <select id="curated" value={draft.curated} onChange={(event) => void pick(event.currentTarget.value)}>
        <option value="">Choose one…</option>
        {(curated.data?.value ?? []).map((row) => (
          <option key={row.name} value={row.name}>
            {row.name}
          </option>
        ))}
      </select>
      {curated.loading ? <Loading label="Loading curated environments…" /> : null}
      {copying ? <Loading label="Copying its definition…" /> : null}
      {!copying && draft.curated && draft.image ? (
        <p role="status" data-testid="curated-copied">
          Copied from {draft.curated}: image <code>{draft.image}</code>
          {draft.condaFile ? " and its conda file" : ""}.
        </p>
      ) : null}
      <ErrorMessage error={curated.error ?? error} />
    </Field>
  )
}

const SourceStep = ({ draft, update }: { draft: Draft; update: (changes: Partial<Draft>) => void }) => {
  const [uploading, setUploading] = useState(false)
  const [uploadError, setUploadError] = useState<ApiError | undefined>()
  const upload = async (files: ReadonlyArray<File>) => {
    update({ files, contextUri: "" })
    if (files.length === 0) return
    setUploading(true)
    setUploadError(undefined)
    try {
      const { contextUri } = await api.uploadContext(tarOf(await entriesOfFiles(files)))
      update({ files, contextUri })
    } catch (cause) {
      setUploadError(asApiError(cause))
    } finally {
      setUploading(false)
    }
  }
  return (
    <>
      <Field id="env-name" label="Name" hint="Letters, digits, '-', '_' or '.', starting with a letter or digit.">
        <input
          id="env-name"
          value={draft.name}
          aria-describedby="env-name-hint"
          required
          onInput={(event) => update({ name: event.currentTarget.value })}
        />
      </Field>
      <Field id="env-description" label="Description">
        <input id="env-description" value={draft.description} onInput={(event) => update({ description: event.currentTarget.value })} />
      </Field>
      <fieldset class="sources">
        <legend>Start from</legend>
        {SOURCES.map((source) => (
          <label key={source.id} class="source">
            <input
              type="radio"
              name="source"
              value={source.id}
              checked={draft.source === source.id}
              onChange={() => update({ source: source.id })}
            />
            <span>
              <strong>{source.label}</strong>
              <span class="hint">{source.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {draft.source === "curated" ? <CuratedPicker draft={draft} update={update} /> : null}
      {draft.source === "image" ? (
        <Field id="image" label="Docker image" hint="A reference such as registry/name:tag or name@sha256:…">
          <input id="image" value={draft.image} aria-describedby="image-hint" onInput={(event) => update({ image: event.currentTarget.value })} />
        </Field>
      ) : null}
      {draft.source === "dockerfile" ? (
        <Field id="dockerfile" label="Dockerfile">
          <textarea
            id="dockerfile"
            class="code"
            rows={12}
            spellcheck={false}
            value={draft.dockerfile}
            onInput={(event) => update({ dockerfile: event.currentTarget.value })}
          />
        </Field>
      ) : null}
      {draft.source === "upload" ? (
        <>
          <Field id="context-files" label="Build context folder" hint="Choose the folder; its Dockerfile and the files it copies are uploaded.">
            <input
              id="context-files"
              type="file"
              multiple
              {...{ webkitdirectory: true }}
              aria-describedby="context-files-hint"
              onChange={(event) => void upload(Array.from(event.currentTarget.files ?? []))}
            />
          </Field>
          <Field id="dockerfile-path" label="Dockerfile path in the context">
            <input id="dockerfile-path" value={draft.dockerfilePath} onInput={(event) => update({ dockerfilePath: event.currentTarget.value })} />
          </Field>
          {uploading ? <Loading label="Uploading…" /> : null}
          {draft.contextUri ? (
            <p role="status">
              Uploaded {draft.files.length} file(s): <code>{draft.contextUri}</code>
            </p>
          ) : null}
          <ErrorMessage error={uploadError} />
        </>
      ) : null}
    </>
  )
}

const CustomiseStep = ({ draft, update }: { draft: Draft; update: (changes: Partial<Draft>) => void }) => (
  <>
    {draft.source === "image" || draft.source === "curated" ? (
      <Field
        id="conda-file"
        label="Conda file: conda and pip packages (YAML)"
        hint="Checked by the server with the same conda and pip parsers as the CLI when you go on; errors name the line."
      >
        <textarea
          id="conda-file"
          class="code"
          rows={12}
          spellcheck={false}
          aria-describedby="conda-file-hint"
          value={draft.condaFile}
          onInput={(event) => update({ condaFile: event.currentTarget.value })}
        />
      </Field>
    ) : null}
    <Field id="environment-variables" label="Environment variables" hint="One NAME=value a line.">
      <textarea
        id="environment-variables"
        class="code"
        rows={4}
        spellcheck={false}
        aria-describedby="environment-variables-hint"
        value={draft.environmentVariables}
        onInput={(event) => update({ environmentVariables: event.currentTarget.value })}
      />
    </Field>
  </>
)

const TagsStep = ({ draft, update }: { draft: Draft; update: (changes: Partial<Draft>) => void }) => (
  <Field id="tags" label="Tags" hint="One name=value a line (a name alone is a tag without a value).">
    <textarea
      id="tags"
      class="code"
      rows={5}
      aria-describedby="tags-hint"
      value={draft.tags}
      onInput={(event) => update({ tags: event.currentTarget.value })}
    />
  </Field>
)

const ReviewStep = ({ draft, preview }: { draft: Draft; preview: Preview | undefined }) => {
  const { properties } = propertiesOf(draft)
  return (
    <dl class="facts">
      <dt>Name</dt>
      <dd>{draft.name}</dd>
      <dt>Starts from</dt>
      <dd>
        {SOURCES.find((source) => source.id === draft.source)?.label}
        {draft.source === "curated" && draft.curated ? ` (${draft.curated})` : ""}
      </dd>
      {properties?.image ? (
        <>
          <dt>Image</dt>
          <dd>
            <code>{properties.image}</code>
          </dd>
        </>
      ) : null}
      <dt>Tags</dt>
      <dd>
        <TagList tags={properties?.tags} />
      </dd>
      <dt>Canonical hash</dt>
      <dd>
        <code class="hash" data-testid="canonical-hash">
          {preview?.canonicalHash ?? "—"}
        </code>
      </dd>
      <dt>Image for this hash</dt>
      <dd data-testid="image-exists">
        {preview === undefined ? (
          "—"
        ) : preview.imageExists ? (
          <>
            <StatusBadge status="Built" /> already exists: no build needed
          </>
        ) : (
          <>
            <StatusBadge status="NotBuilt" /> none yet: building it will make one
          </>
        )}
      </dd>
      {preview?.registeredAs ? (
        <>
          <dt>Already registered</dt>
          <dd>
            As version {preview.registeredAs}: creating returns that version, nothing new is added.
          </dd>
        </>
      ) : null}
      {preview?.warnings?.length ? (
        <>
          <dt>Warnings</dt>
          <dd>
            <ul>
              {preview.warnings.map((warning) => (
                <li key={warning}>{warning}</li>
              ))}
            </ul>
          </dd>
        </>
      ) : null}
    </dl>
  )
}

export const CreateWizard = ({ params }: { params: URLSearchParams }) => {
  const [draft, setDraft] = useState<Draft>(() => ({ ...emptyDraft, name: params.get("name") ?? "" }))
  const [step, setStep] = useState(0)
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState(false)
  const [preview, setPreview] = useState<Preview | undefined>()
  const heading = useRef<HTMLHeadingElement>(null)
  const update = (changes: Partial<Draft>) => {
    setDraft((previous) => ({ ...previous, ...changes }))
    setPreview(undefined)
  }
  // Focus moves to the step's heading, so a screen reader hears where it is.
  useEffect(() => heading.current?.focus(), [step])

  const localCheck = (): string | undefined => {
    if (step === 0) {
      if (!NAME_PATTERN.test(draft.name)) return "Name: a letter or digit, then up to 254 letters, digits, '-', '_' or '.'"
      if ((draft.source === "image" || draft.source === "curated") && draft.image.trim() === "") {
        return draft.source === "curated" ? "Choose a curated environment." : "Docker image: enter an image reference."
      }
      if (draft.source === "dockerfile" && draft.dockerfile.trim() === "") return "Dockerfile: it is empty."
      if (draft.source === "upload" && draft.contextUri === "") return "Build context: upload its files first."
    }
    return propertiesOf(draft).error
  }

  const runPreview = async (): Promise<boolean> => {
    const built = propertiesOf(draft)
    if (!built.properties) return false
    const result = await api.preview(draft.name, built.properties)
    setPreview(result)
    return true
  }

  const next = async () => {
    setError(undefined)
    const problem = localCheck()
    if (problem) {
      setError(new ApiError({ title: "Check this step", status: 400, detail: problem }))
      return
    }
    if (step === 0 && draft.source === "dockerfile") {
      setBusy(true)
      try {
        const { contextUri } = await api.uploadContext(tarOf([textEntry("Dockerfile", draft.dockerfile)]))
        setDraft((previous) => ({ ...previous, contextUri }))
      } catch (cause) {
        setError(asApiError(cause))
        return
      } finally {
        setBusy(false)
      }
    }
    // From Customise on, the server validates what was typed (the same parsers as the CLI).
    if (step >= 1) {
      setBusy(true)
      try {
        await runPreview()
      } catch (cause) {
        setError(asApiError(cause))
        return
      } finally {
        setBusy(false)
      }
    }
    setStep((value) => value + 1)
  }

  const create = async () => {
    const built = propertiesOf(draft)
    if (!built.properties) return
    setBusy(true)
    setError(undefined)
    try {
      const version = await api.createVersion(draft.name, built.properties)
      navigate(`${environmentPath(draft.name)}?version=${encodeURIComponent(version.name)}`)
    } catch (cause) {
      setError(asApiError(cause))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section aria-labelledby="wizard-title" class="wizard">
      <h1 id="wizard-title">Create environment</h1>
      <ol class="steps" aria-label="Steps">
        {STEPS.map((label, index) => (
          <li key={label} aria-current={index === step ? "step" : undefined} class={index < step ? "done" : undefined}>
            <span class="step-number">{index + 1}</span> {label}
          </li>
        ))}
      </ol>
      <form
        class="card"
        onSubmit={(event) => {
          event.preventDefault()
          void (step === STEPS.length - 1 ? create() : next())
        }}
      >
        <h2 tabIndex={-1} ref={heading}>
          Step {step + 1} of {STEPS.length}: {STEPS[step]}
        </h2>
        {step === 0 ? <SourceStep draft={draft} update={update} /> : null}
        {step === 1 ? <CustomiseStep draft={draft} update={update} /> : null}
        {step === 2 ? <TagsStep draft={draft} update={update} /> : null}
        {step === 3 ? <ReviewStep draft={draft} preview={preview} /> : null}
        <ErrorMessage error={error} />
        <div class="actions">
          {step > 0 ? (
            <button type="button" onClick={() => (setError(undefined), setStep((value) => value - 1))}>
              Back
            </button>
          ) : (
            <a class="button" href="/environments">
              Cancel
            </a>
          )}
          <button type="submit" class="primary" disabled={busy}>
            {step === STEPS.length - 1 ? "Create" : "Next"}
          </button>
        </div>
        {busy ? <Loading label="Checking with the server…" /> : null}
      </form>
    </section>
  )
}
