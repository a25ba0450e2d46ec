/**
 * The images of a memory engine kept in a directory, one JSON file per image, so that several
 * processes share one engine (the CLI's tests of many processes racing to build one hash, where
 * a process that starts after the build has ended must find the image, not rebuild it as
 * vanished). A file is written whole and renamed into place, so a reader never sees half of it;
 * pruning an image is removing its file.
 *
 * @since 0.2.0
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { ImageShelf } from "./MemoryImageBuilder.ts"

/**
 * A shelf in `directory` (made when the first image is kept).
 *
 * @since 0.2.0
 * @category constructors
 */
export const directoryShelf = (directory: string): ImageShelf => {
  // An image name holds `/` and `:`; encoded, it is one file name.
  const fileOf = (image: string) => join(directory, `${encodeURIComponent(image)}.json`)
  return {
    get: (image) => {
      try {
        return JSON.parse(readFileSync(fileOf(image), "utf8"))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
        throw error
      }
    },
    set: (info) => {
      mkdirSync(directory, { recursive: true })
      const file = fileOf(info.image)
      const partial = `${file}.${crypto.randomUUID()}.partial`
      writeFileSync(partial, JSON.stringify(info))
      renameSync(partial, file)
    },
    delete: (image) => rmSync(fileOf(image), { force: true })
  }
}
