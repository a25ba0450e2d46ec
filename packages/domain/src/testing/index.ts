/**
 * Test helpers for deciders, published as `@terrarium/domain/testing` for users' own deciders.
 *
 * @since 0.1.0
 */
export * from "./DeciderSpecification.ts"
