/**
 * What is taken as a wheel: a real one (built by setuptools), and the refusals: not a zip, no
 * .dist-info, no METADATA or WHEEL, a name or version that is not the file name's, entries that
 * leave the install folder, file names that are not wheel names. And the references a definition
 * lists: well-formed, named like the wheel, checked where definitions come in.
 */
import {
  formatWheelReference,
  packageSpecProblems,
  parseWheelFileName,
  parseWheelReference,
  privateWheelRequirementProblem,
  wheelBlobName
} from "@terrarium/domain"
import { Result } from "effect"
import { readFileSync } from "node:fs"
import { basename } from "node:path"
import { crc32, deflateRawSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parsePipRequirement } from "../../src/package-spec/PipSpec.ts"
import { readWheel } from "../../src/private-wheel/WheelArchive.ts"
import { buildWheelFiles } from "../../../../test/support/PackageIndex.ts"

/** A zip of `entries` (deflated unless `stored`), as zipfile writes one. */
const zip = (entries: ReadonlyArray<{ readonly name: string; readonly content: string; readonly stored?: boolean }>): Buffer => {
  const locals: Array<Buffer> = []
  const centrals: Array<Buffer> = []
  let offset = 0
  for (const entry of entries) {
    const raw = Buffer.from(entry.content)
    const data = entry.stored === true ? raw : deflateRawSync(raw)
    const name = Buffer.from(entry.name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(entry.stored === true ? 0 : 8, 8)
    local.writeUInt32LE(crc32(raw), 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(raw.length, 22)
    local.writeUInt16LE(name.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(entry.stored === true ? 0 : 8, 10)
    central.writeUInt32LE(crc32(raw), 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(raw.length, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, data)
    centrals.push(central, name)
    offset += local.length + name.length + data.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

const FILE = "demo_pkg-1.0-py3-none-any.whl"
const metadata = (name = "demo-pkg", version = "1.0") => `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n\nA description.\nName: not-this\n`
const WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
const wheelOf = (extra: ReadonlyArray<{ name: string; content: string; stored?: boolean }> = [], meta = metadata()) =>
  zip([
    { name: "demo_pkg.py", content: "VERSION = '1.0'\n" },
    { name: "demo_pkg-1.0.dist-info/METADATA", content: meta },
    { name: "demo_pkg-1.0.dist-info/WHEEL", content: WHEEL, stored: true },
    ...extra
  ])

let real: { readonly files: ReadonlyArray<string>; readonly remove: () => void } | undefined
beforeAll(async () => {
  real = await buildWheelFiles([{ name: "Demo.Real_Pkg", version: "2.0rc1", module: "demo_real_pkg" }])
}, 120_000)
afterAll(() => real?.remove())

describe("readWheel", () => {
  it("takes a wheel setuptools built, and one written here; names compare in PEP 503 form", () => {
    const file = real!.files[0]!
    const taken = readWheel(basename(file), readFileSync(file))
    // setuptools writes the name its own way; it is the same project in PEP 503 form.
    expect(taken).toMatchObject({ name: "Demo.Real-Pkg", version: "2.0rc1" })
    expect(readWheel(FILE, wheelOf())).toMatchObject({ name: "demo-pkg", version: "1.0" })
    expect(readWheel("Demo.Pkg-1.0-py3-none-any.whl", zip([
      { name: "Demo.Pkg-1.0.dist-info/METADATA", content: metadata("demo_PKG") },
      { name: "Demo.Pkg-1.0.dist-info/WHEEL", content: WHEEL }
    ]))).toMatchObject({ name: "demo_PKG" })
  })

  it.each([
    ["not a zip", FILE, Buffer.from("just text, not an archive"), "not a zip archive"],
    ["a zip without .dist-info", FILE, zip([{ name: "demo_pkg.py", content: "x" }]), "no .dist-info folder"],
    ["a zip without METADATA", FILE, zip([{ name: "demo_pkg-1.0.dist-info/WHEEL", content: WHEEL }]), "has no demo_pkg-1.0.dist-info/METADATA"],
    ["a zip without WHEEL", FILE, zip([{ name: "demo_pkg-1.0.dist-info/METADATA", content: metadata() }]), "has no demo_pkg-1.0.dist-info/WHEEL"],
    ["another project's .dist-info", FILE, zip([{ name: "other-1.0.dist-info/METADATA", content: metadata() }]), "not demo_pkg-1.0.dist-info"],
    ["a METADATA naming another project", FILE, wheelOf([], metadata("evil-pkg")), `names the project "evil-pkg"`],
    ["a METADATA with another version", FILE, wheelOf([], metadata("demo-pkg", "1.1")), `says version "1.1"`],
    ["a METADATA without a version", FILE, wheelOf([], "Metadata-Version: 2.1\nName: demo-pkg\n"), "has no Version"],
    ["an entry climbing out", FILE, wheelOf([{ name: "../../etc/cron.d/evil", content: "x" }]), "leaves the install folder"],
    ["an absolute entry", FILE, wheelOf([{ name: "/etc/evil", content: "x" }]), "leaves the install folder"],
    ["a backslash entry", FILE, wheelOf([{ name: "..\\evil", content: "x" }]), "leaves the install folder"],
    ["a .zip file name", "demo_pkg-1.0.zip", wheelOf(), "ends in .whl"],
    ["a file name with a folder", "../demo_pkg-1.0-py3-none-any.whl", wheelOf(), "PEP 427"],
    ["a file name without tags", "demo_pkg-1.0.whl", wheelOf(), "PEP 427"],
    ["an empty file", FILE, Buffer.alloc(0), "not a zip archive"],
    ["a truncated zip", FILE, wheelOf().subarray(0, 60), "not a zip archive"]
  ])("refuses %s, saying why", (_, fileName, bytes, reason) => {
    const result = readWheel(fileName, bytes)
    expect(typeof result).toBe("string")
    expect(result).toContain(reason)
  })
})

describe("private wheel references", () => {
  const sha256 = "a".repeat(64)
  const reference = formatWheelReference({ workspace: "team-1", fileName: FILE, sha256 })

  it("round-trip, and name where the bytes are kept: by workspace, project and digest", () => {
    expect(reference).toBe(`terrarium+wheel://team-1/${FILE}#sha256=${sha256}`)
    expect(parseWheelReference(reference)).toEqual({ workspace: "team-1", fileName: FILE, sha256 })
    expect(wheelBlobName({ workspace: "team-1", fileName: FILE, sha256 })).toBe(`wheels/team-1/demo-pkg/${sha256}/${FILE}`)
    expect(parseWheelFileName("pkg-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl")).toMatchObject({ distribution: "pkg", version: "1.0", build: "1" })
  })

  it.each([
    ["no digest", `terrarium+wheel://team-1/${FILE}`],
    ["a short digest", `terrarium+wheel://team-1/${FILE}#sha256=abc`],
    ["an upper-case workspace", `terrarium+wheel://Team/${FILE}#sha256=${sha256}`],
    ["a path in the file name", `terrarium+wheel://team-1/../x/${FILE}#sha256=${sha256}`],
    ["a file that is no wheel", `terrarium+wheel://team-1/demo.tar.gz#sha256=${sha256}`],
    ["a query", `terrarium+wheel://team-1/${FILE}?sig=x#sha256=${sha256}`]
  ])("refuses a reference with %s", (_, url) => {
    expect(typeof parseWheelReference(url)).toBe("string")
  })

  it("are pip requirements (bare or `name @ reference`) that the definition check takes, named like the wheel", () => {
    const bare = Result.getOrThrow(parsePipRequirement(reference))
    expect(bare).toMatchObject({ name: "demo-pkg", url: reference })
    expect(packageSpecProblems(bare)).toEqual([])
    const named = Result.getOrThrow(parsePipRequirement(`demo-pkg @ ${reference}`))
    expect(packageSpecProblems(named)).toEqual([])
    const misnamed = Result.getOrThrow(parsePipRequirement(`other @ ${reference}`))
    expect(privateWheelRequirementProblem(misnamed)).toContain(`the wheel ${FILE} is "demo-pkg"`)
    expect(packageSpecProblems(misnamed).map((p) => p.path)).toEqual([["url"]])
    const broken = Result.getOrThrow(parsePipRequirement(`terrarium+wheel://team-1/${FILE}`))
    expect(packageSpecProblems(broken)[0]?.issue).toContain("#sha256=<64 lower-case hex digits>")
  })
})
