/**
 * `.dockerignore` matching, case by case as Docker documents it and as moby/patternmatcher
 * behaves (its tests are the reference for the `**` and parent-directory cases).
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { parseDockerIgnore } from "../../src/build-context/DockerIgnore.ts"

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
    // Cleaning can leave a trailing space, which patternmatcher's New trims.
    check("a /\n**b /", { a: true, xb: true, "a ": false })
  })

  it("reads comments, blank lines, spaces and a BOM as Docker does", () => {
    check("\uFEFF# a comment\n\n  *.tmp  \r\n #not a comment\n", { "x.tmp": true, "# a comment": false, "#not a comment": true })
  })

  it("character classes and escapes", () => {
    check("[a-c].txt", { "a.txt": true, "c.txt": true, "d.txt": false })
    check("[^a].txt", { "b.txt": true, "a.txt": false })
    check("\\*.txt", { "*.txt": true, "a.txt": false })
    // An escaped letter stays a regular-expression escape, as in patternmatcher: `\b` is a word
    // boundary, not `b`.
    check("x\\b", { x: true, xb: false })
  })

  it("matches case-sensitively, as Docker on Linux", () => {
    check("*.LOG", { "debug.LOG": true, "debug.log": false })
  })

  it("reads regular-expression characters as plain characters", () => {
    // patternmatcher escapes `.+()|{}$`; moby 19.03 (which @balena/dockerignore ports) did not.
    check("c++\nfile(1).txt\na|b\nx{2}\nq\\(r", {
      "c++": true,
      "file(1).txt": true,
      "file1.txt": false,
      "a|b": true,
      a: false,
      "x{2}": true,
      xx: false,
      "q(r": true
    })
    // `^` too where patternmatcher compares the pattern as a string; in its regular expressions
    // `^` is an anchor, so `^*` excludes every path in Docker, and here.
    check("^**\n^x\n[^a]b", { "^a": true, "^x": true, a: false, cb: true, ab: false })
    check("^*", { a: true, "a/b": true })
  })

  it("reads a pattern that starts with ! or # once cleaned as plain text", () => {
    check("*\n!!keep\n/#tag", { "!keep": false, keep: true, "#tag": true })
  })

  it("** followed by plain text matches by suffix, as patternmatcher's suffixMatch", () => {
    check("**.log", { "a/debug.log": true, "x.log": true, ".log": true, "x.logs": false })
  })

  it("tries every parent directory, not only the one as deep as the pattern", () => {
    // `a**b` is `^a(.*/)?b$`: it matches the directory a/x/b, so it excludes a/x/b/c
    // (patternmatcher's MatchesOrParentMatches; its deprecated Matches, which the library ports,
    // tries only `a`). An exception makes the walk ask about files under excluded directories.
    check("a**b\n!nothing", { "a/x/b/c": true, "a/x/c": false })
  })

  it("refuses malformed patterns, naming the line", () => {
    const malformed = [
      ["ok\n[a", 2], // an unclosed class
      ["foo\\", 1], // a trailing escape
      ["a\n\n!", 3], // an exception of nothing
      ["x\n! /", 2], // the same once cleaned
      ["[]", 1],
      ["[^]", 1],
      ["[-a]", 1],
      ["[a-]", 1],
      ["[a-b-c]", 1],
      ["[z-a]", 1] // well formed for filepath.Match, but Go's regexp refuses the range
    ] as const
    for (const [text, line] of malformed) {
      const result = parseDockerIgnore(text)
      assert.isTrue(Result.isFailure(result), text)
      if (Result.isFailure(result)) assert.strictEqual(result.failure.line, line, text)
    }
  })
})
