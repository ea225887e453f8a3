/**
 * A page served over https may not fetch from http addresses (mixed content):
 * the browser blocks the request and says only "Failed to fetch". Such
 * mirrors are set aside up front with a message that says why. Loopback
 * addresses are exempt, as browsers treat them as secure.
 */
export function mixedContentProblem(mirror: string, pageUrl: string): string | null {
  const page = new URL(pageUrl);
  const target = new URL(mirror);
  if (page.protocol !== 'https:' || target.protocol !== 'http:') return null;
  if (/^(localhost|127(\.\d+){3}|\[::1\])$/.test(target.hostname)) return null;
  return `this page is served over https, and browsers do not let it download from an http address (mixed content); use the mirror's https address, or the command line (tessera get)`;
}
