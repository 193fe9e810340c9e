/** Types for `planer` (CoffeeScript, ships none): the plain-text entry point used by the cleaner. */
declare module 'planer' {
  const planer: { extractFrom(body: string, contentType: 'text/plain' | 'text/html', dom?: unknown): string };
  export default planer;
}
