// The part of autocannon's API the HTTP benchmark uses (the package ships no types).
declare module "autocannon" {
  interface Histogram { readonly average: number; readonly p50: number; readonly p99: number }
  interface Result {
    readonly requests: Histogram
    readonly latency: Histogram
    readonly errors: number
    readonly non2xx: number
  }
  interface Options {
    readonly url: string
    readonly connections?: number
    readonly duration?: number
    readonly headers?: Record<string, string>
    readonly requests?: ReadonlyArray<Record<string, unknown>>
  }
  const autocannon: (options: Options) => Promise<Result>
  export default autocannon
}
