import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { type Behaviour, type FaultServer, bytesAllowed, requestedRange } from '../helpers/fault-server.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { expectImageBuilt, openWithSeed, rangeRequests, runDownload, useFaultPage } from '../helpers/fault-page.ts';

/**
 * 24 chunks of 128 KiB; the seed holds the even ones, so the plan fetches the
 * 12 odd ones: 12 requests of 128 KiB, each a separate range a fault can hit.
 */
const CHUNK = 128 << 10;
const chunks = Array.from({ length: 24 }, (_, i) => randomBytes(CHUNK, 5100 + i));
const image = concat(chunks);
const seed = concat(chunks.filter((_, i) => i % 2 === 0));
const PLAN = { bytes: 12 * CHUNK, requests: 12 };

const label = (b: Behaviour) => (typeof b === 'object' && 'status' in b ? `HTTP ${b.status}` : String(b));

/** A mirror's requests from request `from` on (its records, as a FaultServer for bytesAllowed). */
const since = (m: FaultServer, from: number): FaultServer => ({ ...m, requests: m.requests.slice(from), bytesSent: m.requests.slice(from).reduce((n, r) => n + r.bytesSent, 0) });

/** What of `failed` was not verified was asked again by a later good request: the rest of its range, to its end. */
function expectRetried(failed: FaultServer['requests'], good: FaultServer['requests']) {
  for (const f of failed) {
    const [start, end] = requestedRange(f.range, image.length)!;
    const retry = good.find((g) => g.at > f.at && requestedRange(g.range, image.length)![1] === end);
    expect(retry, `a retry of ${f.range}`).toBeDefined();
    expect(requestedRange(retry!.range, image.length)![0]).toBeGreaterThanOrEqual(start);
  }
}

describe('transient mirror faults in the page', () => {
  const env = useFaultPage(image, 1);

  const cases: { behaviour: Behaviour; fault: string; problem: RegExp }[] = [
    { behaviour: 'short', fault: 'mirror closes the connection half-way through a range (short body)', problem: /connection lost after|short body/ },
    { behaviour: 'reset', fault: 'mirror resets the connection a quarter into a range', problem: /connection lost after/ },
    { behaviour: { status: 503 }, fault: 'mirror answers 503 Service Unavailable', problem: /HTTP 503/ },
    { behaviour: 'wrong-range', fault: 'mirror sends other bytes than the range asked for (wrong Content-Range)', problem: /sent bytes \d+-\d+ when asked for \d+-\d+/ },
    { behaviour: 'corrupt', fault: 'mirror sends a range with one byte changed', problem: /sent bad data \(block \d+/ },
  ];

  it.each(cases)('$fault: retried, the image is verified, and only what the faulty answers lacked is fetched again', async ({ behaviour, fault, problem }) => {
    const [mirror] = env.fixture.mirrors;
    const before = { requests: mirror.requests.length, bytes: mirror.bytesSent };
    // Request 0 is the page's 1-byte check of the mirror; two of the download's requests fail.
    const faulty = new Set([before.requests + 2, before.requests + 5]);
    mirror.behave((n) => (faulty.has(n) ? behaviour : 'ok'));
    const { context, page, errors } = await openWithSeed(env, seed, PLAN);
    const { ok, text } = await runDownload(page);
    expect(ok, text).toBe(true);

    // Verified, and the file in the browser's storage is the image.
    await expectImageBuilt(page, image);
    // The mirror answered each planned range correctly once; what the two faulty answers lacked was asked again.
    const served = since(mirror, before.requests);
    const requests = rangeRequests(served);
    const good = requests.filter((r) => r.behaviour === 'ok');
    const bad = requests.filter((r) => r.behaviour !== 'ok');
    expect(bad.length).toBe(2);
    expect(good.length).toBe(PLAN.requests);
    expectRetried(bad, good);
    // Bytes sent: the check and the plan, plus at most the two faulty ranges again.
    expect(served.bytesSent).toBeGreaterThanOrEqual(1 + PLAN.bytes);
    expect(served.bytesSent).toBeLessThanOrEqual(bytesAllowed(1 + PLAN.bytes, [served], image.length));
    // The result says which mirror had trouble and what it was.
    const mirrors = (await page.getByTestId('result-mirrors').textContent()) ?? '';
    expect(mirrors).toContain(`${mirror.url}: ${requests.length} requests, `);
    expect(mirrors).toMatch(/ verified, 2 failed \(/);
    expect(mirrors).toMatch(problem);
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault,
      cases: 1,
      outcome: `image verified (SHA-256 read back from the browser file); ${label(behaviour)} on 2 of ${PLAN.requests} ranges, the unverified rest of each asked again; bytes within plan + failed requests; result names the mirror and the problem`,
    });
  });
});

describe('one bad mirror among good ones in the page', () => {
  const env = useFaultPage(image, 3);

  // A mirror ignoring Range is set aside at its first answer; the others after 3 failures in a row,
  // unless the good mirrors have finished first (each failed range is retried on another mirror).
  const cases: { behaviour: Behaviour; fault: string; problem: RegExp; setAside?: true }[] = [
    { behaviour: { status: 500 }, fault: 'one mirror of three always answers 500', problem: /HTTP 500/ },
    { behaviour: 'corrupt', fault: 'one mirror of three always sends corrupted data', problem: /sent bad data/ },
    { behaviour: 'full-200', fault: 'one mirror of three ignores Range (200 with the whole file)', problem: /does not support Range requests/, setAside: true },
  ];

  it.each(cases)('$fault: its ranges go to the others, and the result names it', async ({ behaviour, fault, problem, setAside }) => {
    const [good1, bad, good2] = env.fixture.mirrors;
    const start = env.fixture.mirrors.map((m) => ({ requests: m.requests.length, bytes: m.bytesSent }));
    good1.behave(() => 'ok');
    good2.behave(() => 'ok');
    bad.behave(() => behaviour);
    const { context, page, errors } = await openWithSeed(env, seed, PLAN);
    const { ok, text } = await runDownload(page);
    expect(ok, text).toBe(true);
    await expectImageBuilt(page, image);

    const [fromGood1, fromBad, fromGood2] = env.fixture.mirrors.map((m, i) => since(m, start[i].requests));
    // The bad mirror was tried; what it did not deliver was fetched from the good ones.
    const badRequests = rangeRequests(fromBad);
    expect(badRequests.length).toBeGreaterThan(0);
    // Set aside at its first answer: at most the 2 requests it had in flight then (6 connections over 3 mirrors).
    if (setAside) expect(badRequests.length).toBeLessThanOrEqual(2);
    const good = [...rangeRequests(fromGood1), ...rangeRequests(fromGood2)];
    expect(good.every((r) => r.behaviour === 'ok')).toBe(true);
    expectRetried(badRequests, good);
    // Bytes: the good mirrors sent at most the plan (and their checks), nothing twice; with the bad one's
    // answers, at most the plan plus the ranges it failed (one that ignores Range pushes the whole file instead).
    const goodSent = fromGood1.bytesSent + fromGood2.bytesSent;
    expect(goodSent).toBeLessThanOrEqual(2 + PLAN.bytes);
    expect(goodSent + fromBad.bytesSent).toBeGreaterThanOrEqual(2 + PLAN.bytes);
    if (behaviour === 'full-200') expect(goodSent).toBe(2 + PLAN.bytes);
    else expect(goodSent + fromBad.bytesSent).toBeLessThanOrEqual(bytesAllowed(3 + PLAN.bytes, [fromGood1, fromBad, fromGood2], image.length));
    // The result names the bad mirror, what it did, and that the others took over its ranges.
    const lines = await page.getByTestId('result-mirror').allTextContents();
    expect(lines).toHaveLength(3);
    const badLine = lines.find((l) => l.startsWith(bad.url)) ?? '';
    expect(badLine).toContain(`${bad.url}: ${badRequests.length} request${badRequests.length === 1 ? '' : 's'}, `);
    expect(badLine).toContain(`${badRequests.length} failed (`);
    expect(badLine).toMatch(problem);
    expect(badLine).toMatch(/of its ranges fetched from the other mirrors/);
    const wasSetAside = /set aside/.test(badLine);
    if (setAside) expect(wasSetAside).toBe(true);
    for (const g of [good1, good2]) expect(lines.find((l) => l.startsWith(g.url))).not.toMatch(/failed/);
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault,
      cases: 1,
      outcome: `image verified; the bad mirror failed ${badRequests.length} request${badRequests.length === 1 ? '' : 's'}${wasSetAside ? ' and was set aside' : ''}, what it did not deliver came from the 2 good ones; bytes within plan + failed requests; result names the bad mirror, what it did, and that its ranges were taken over`,
    });
  });
});
