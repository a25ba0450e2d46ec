/**
 * `.dockerignore` matching, case by case as Docker documents it and as moby/patternmatcher
 * behaves (its tests are the reference for the `**` and parent-directory cases).
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { parseDockerIgnore } from "../../src/importers/DockerIgnore.ts"

const ignore = (text: string) => Result.getOrThrow(parseDockerIgnore(text))

/** Asserts, for each path, whether the ignore file excludes it. */
const check = (text: string, expected: Record<string, boolean>) => {
  const matcher = ignore(text)
  for (const [path, excluded] of Object.entries(expected)) {
    assert.strictEqual(matcher.excludes(path), excluded, `${JSON.stringify(text)} excludes ${path}`)
  }
}

describe("parseDockerIgnore", () => {
  it("* and ? stay within one path segment", () => {
    check("*/temp*", { "somedir/temporary.txt": true, "somedir/temp": true, "temp.txt": false, "a/b/temp": false })
    check("*/*/temp*", { "a/b/temp.txt": true, "a/temp.txt": false })
    check("temp?", { tempa: true, temp: false, tempab: false, "temp/": false })
    check("*.log", { "debug.log": true, "logs/debug.log": false })
  })

  it("** matches any number of segments", () => {
    check("**/*.go", { "a.go": true, "x/y/a.go": true, "a.goo": false })
    check("**/node_modules", { node_modules: true, "a/node_modules": true, "a/node_modules/x/y.js": true })
    check("build/**", { "build/a": true, "build/a/b": true, build: false, builder: false })
    check("**", { a: true, "a/b": true })
    // A leading `**` is a suffix match, as in patternmatcher: `**foo` also excludes `barfoo`.
    check("**foo", { foo: true, barfoo: true, "a/barfoo": true, foobar: false })
    check("a/**/b", { "a/b": true, "a/x/b": true, "a/x/y/b": true, "a/x/c": false })
  })

  it("a pattern that matches a directory excludes what is beneath it", () => {
    check("build", { build: true, "build/out/x.o": true, "src/build": false, builder: false })
    check("docs/*", { "docs/a.md": true, "docs/sub/b.md": true, docs: false })
  })

  it("the last matching pattern decides; ! makes an exception", () => {
    check("*.md\n!README*.md\nREADME-secret.md", { "CHANGES.md": true, "README.md": false, "README-secret.md": true })
    check("build\n!build/keep.txt", { "build/keep.txt": false, "build/other.txt": true })
    assert.isTrue(ignore("a\n!b").hasExceptions)
    assert.isFalse(ignore("a\nb").hasExceptions)
  })

  it("cleans patterns like paths and drops a leading /", () => {
    check("/foo", { foo: true, "x/foo": false })
    check("./a//b/", { "a/b": true, "a/b/c": true })
    check("a/../b", { b: true, a: false })
  })

  it("reads comments, blank lines, spaces and a BOM as Docker does", () => {
    check("\uFEFF# a comment\n\n  *.tmp  \r\n #not a comment\n", { "x.tmp": true, "# a comment": false, "#not a comment": true })
  })

  it("character classes and escapes", () => {
    check("[a-c].txt", { "a.txt": true, "c.txt": true, "d.txt": false })
    check("[^a].txt", { "b.txt": true, "a.txt": false })
    check("\\*.txt", { "*.txt": true, "a.txt": false })
  })

  it("refuses malformed patterns, naming the line", () => {
    for (const [text, line] of [["ok\n[a", 2], ["foo\\", 1], ["a\n\n!", 3], ["[]", 1], ["[-a]", 1]] as const) {
      const result = parseDockerIgnore(text)
      assert.isTrue(Result.isFailure(result), text)
      if (Result.isFailure(result)) assert.strictEqual(result.failure.line, line, text)
    }
  })
})
