/**
 * The release of the curated catalog that ships with this Terrarium (`packages/app/catalog/`),
 * written by `scripts/curated-catalog.ts` with the catalog: do not edit. Every start compares it
 * with the last release published into the database, and reads the catalog only when they differ.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 @category catalog */
export const CURATED_RELEASE = "azureml-assets-4b41f8ccbc01"

/** The SHA-256 digest of the catalog file. @since 0.1.0 @category catalog */
export const CURATED_DIGEST = "sha256:e507e450f61ade51e4d88b1b831c35830dbb5732abe4f99145aafb013c9de37f"

/** How many versions the catalog holds. @since 0.1.0 @category catalog */
export const CURATED_VERSIONS = 62
