import { describe, expect, it } from 'vitest';
import {
  chunk,
  describeGraphError,
  nextLinkPath,
  parseBatchResponse,
  runBatches,
  type InnerRequest,
  type InnerResponse,
} from '../../src/clients/graph-batch.js';
import { WritePacer } from '../../src/http/pacer.js';

describe('nextLinkPath', () => {
  const base = 'https://graph.microsoft.com';
  it('keeps the whole link (path and query) on the Graph origin', () => {
    expect(
      nextLinkPath(
        'https://graph.microsoft.com/v1.0/groups/g/transitiveMembers/microsoft.graph.device?$count=true&$skiptoken=RFNwdAIAAQ',
        base,
      ),
    ).toBe('/v1.0/groups/g/transitiveMembers/microsoft.graph.device?$count=true&$skiptoken=RFNwdAIAAQ');
    expect(nextLinkPath('http://127.0.0.1:4321/beta/x?$skiptoken=a', 'http://127.0.0.1:4321')).toBe(
      '/beta/x?$skiptoken=a',
    );
  });
  it('strips a base path and refuses links outside it', () => {
    expect(nextLinkPath('https://proxy.example/graph/v1.0/x?a=1', 'https://proxy.example/graph/')).toBe('/v1.0/x?a=1');
    expect(() => nextLinkPath('https://proxy.example/other/v1.0/x', 'https://proxy.example/graph')).toThrow(
      /leaves the Graph base URL/,
    );
  });
  it('refuses a foreign host, scheme, port or credentials: the token must not go there', () => {
    for (const link of [
      'https://graph.microsoft.com.evil.example/v1.0/x',
      'http://graph.microsoft.com/v1.0/x',
      'https://graph.microsoft.com:8443/v1.0/x',
      'https://evil.example/v1.0/x',
    ])
      expect(() => nextLinkPath(link, base), link).toThrow(/refusing to send the token there/);
    expect(() => nextLinkPath('https://user:pw@graph.microsoft.com/v1.0/x', base)).toThrow(/refusing/);
    expect(() => nextLinkPath('/v1.0/x?$skiptoken=1', base)).toThrow(/not an absolute URL/);
  });
});

describe('Graph wire format', () => {
  it('error body {error:{code,message}} → code and detail; anything else → empty detail', () => {
    expect(
      describeGraphError(
        403,
        JSON.stringify({
          error: {
            code: 'Authorization_RequestDenied',
            message: 'Insufficient privileges',
            innerError: { 'request-id': 'r' },
          },
        }),
      ),
    ).toEqual({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges' });
    expect(describeGraphError(502, '<html>bad gateway</html>')).toEqual({ message: '' });
    expect(describeGraphError(400, JSON.stringify({ error: 'x' }))).toEqual({ message: '' });
  });
  it('$batch answers: header names lower-cased, missing fields named without their values', () => {
    expect(
      parseBatchResponse(
        JSON.stringify({
          responses: [
            {
              id: '1',
              status: 429,
              headers: { 'Retry-After': '2', 'Content-Type': 'application/json' },
              body: { error: { code: 'TooManyRequests' } },
            },
            { id: '2', status: 204 },
          ],
        }),
      ),
    ).toEqual([
      {
        id: '1',
        status: 429,
        headers: { 'retry-after': '2', 'content-type': 'application/json' },
        body: { error: { code: 'TooManyRequests' } },
      },
      { id: '2', status: 204, headers: {} },
    ]);
    const err = (() => {
      try {
        parseBatchResponse(JSON.stringify({ responses: [{ id: 'secretvalue123', status: '204' }] }));
      } catch (e) {
        return String(e);
      }
      return '';
    })();
    expect(err).toMatch(/unexpected response to POST \$batch: missing or mistyped responses.0.status/);
    expect(err).not.toContain('secretvalue123');
    expect(() => parseBatchResponse('not json')).toThrow(/not JSON/);
  });
});

describe('chunk', () => {
  it('splits into runs of at most n, in order', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 20)).toEqual([]);
    expect(
      chunk(
        Array.from({ length: 45 }, (_, i) => i),
        20,
      ).map((c) => c.length),
    ).toEqual([20, 20, 5]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });
});

const syncs = (n: number): InnerRequest[] =>
  Array.from({ length: n }, (_, i) => ({
    id: String(i + 1),
    method: 'POST',
    url: `/deviceManagement/managedDevices/d${i + 1}/syncDevice`,
    write: true,
  }));

/** A scripted $batch endpoint: `answer(id, attempt)` decides each item's fate. */
function harness(answer: (id: string, attempt: number) => Partial<InnerResponse>) {
  const clock = { t: 0 };
  const batches: string[][] = [];
  const attempts = new Map<string, number>();
  const slept: number[] = [];
  return {
    clock,
    batches,
    slept,
    deps: {
      now: () => clock.t,
      sleep: async (ms: number) => {
        slept.push(ms);
        clock.t += ms;
        await Promise.resolve();
      },
      random: () => 0.5,
      send: async (reqs: readonly InnerRequest[]) => {
        batches.push(reqs.map((r) => r.id));
        // Answers come back in reverse order: callers must match on id.
        return reqs
          .map((r) => {
            const a = (attempts.get(r.id) ?? 0) + 1;
            attempts.set(r.id, a);
            return { id: r.id, status: 204, headers: {}, ...answer(r.id, a) };
          })
          .reverse();
      },
    },
  };
}

describe('runBatches', () => {
  it('sends at most 20 per $batch and matches answers by id', async () => {
    const h = harness(() => ({}));
    const out = await runBatches(syncs(45), { ...h.deps, policy: { concurrency: 1 } });
    expect(h.batches.map((b) => b.length)).toEqual([20, 20, 5]);
    expect([...out.values()].every((a) => a.status === 204)).toBe(true);
    expect(out.size).toBe(45);
  });

  it('retries only the inner 429s, after their own Retry-After', async () => {
    const h = harness((id, a) =>
      a === 1 && (id === '3' || id === '7') ? { status: 429, headers: { 'retry-after': '2' } } : {},
    );
    const out = await runBatches(syncs(10), { ...h.deps, policy: { concurrency: 1 } });
    expect(h.batches).toEqual([
      ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
      ['3', '7'],
    ]);
    expect(h.slept).toEqual([2_000]);
    expect(out.get('3')?.status).toBe(204);
  });

  it('backs off exponentially (with jitter) when a 429 has no Retry-After, and gives up after the bound', async () => {
    const h = harness((id) => (id === '1' ? { status: 429 } : {}));
    const out = await runBatches(syncs(2), { ...h.deps, policy: { concurrency: 1, throttleAttempts: 4 } });
    // random()=0.5 → 3/4 of 1s, 2s, 4s
    expect(h.slept).toEqual([750, 1_500, 3_000]);
    expect(h.batches).toEqual([['1', '2'], ['1'], ['1'], ['1']]);
    expect(out.get('1')?.status).toBe(429);
  });

  it('retries inner 5xx a bounded number of times; 404 (device gone) and 403 are final', async () => {
    const h = harness((id) =>
      id === '1'
        ? { status: 503 }
        : id === '2'
          ? { status: 404, body: { error: { code: 'ResourceNotFound' } } }
          : id === '3'
            ? { status: 403 }
            : {},
    );
    const out = await runBatches(syncs(4), { ...h.deps, policy: { concurrency: 1, serverErrorAttempts: 3 } });
    expect(h.batches.filter((b) => b.includes('1'))).toHaveLength(3);
    expect(h.batches.filter((b) => b.includes('2'))).toHaveLength(1);
    expect(out.get('1')?.status).toBe(503);
    expect(out.get('2')?.status).toBe(404);
    expect(out.get('3')?.status).toBe(403);
    expect(out.get('4')?.status).toBe(204);
  });

  it('an item missing from the answer is retried, then reported with status 0', async () => {
    const h = harness(() => ({}));
    const send = h.deps.send;
    const out = await runBatches(syncs(3), {
      ...h.deps,
      policy: { concurrency: 1, serverErrorAttempts: 2 },
      send: async (r) => (await send(r)).filter((a) => a.id !== '2'),
    });
    expect(out.get('2')).toEqual({ id: '2', status: 0, headers: {} });
    expect(h.batches).toEqual([['1', '2', '3'], ['2']]);
  });

  it('takes write slots per batch (20 syncs = 20 slots) and holds the pacer on a 429', async () => {
    const h = harness((id, a) => (id === '5' && a === 1 ? { status: 429, headers: { 'retry-after': '3' } } : {}));
    const pacer = new WritePacer({
      writes: 40,
      windowMs: 10_000,
      marginMs: 0,
      clock: { now: h.deps.now, sleep: h.deps.sleep },
    });
    await runBatches(syncs(60), { ...h.deps, pacer, policy: { concurrency: 1 } });
    // Batch 2 waits out the 3 s hold; batch 3 waits for batch 1's slots (t=10 s); the retried
    // item waits for batch 2's (t=13 s).
    expect(h.batches.map((b) => b.length)).toEqual([20, 20, 20, 1]);
    expect(h.clock.t).toBe(13_000);
  });

  it('a batch mixing reads and writes takes exactly its writes', async () => {
    const h = harness(() => ({}));
    const pacer = new WritePacer({
      writes: 40,
      windowMs: 10_000,
      marginMs: 0,
      clock: { now: h.deps.now, sleep: h.deps.sleep },
    });
    const reqs: InnerRequest[] = [
      ...syncs(3),
      { id: 'r1', method: 'GET', url: '/deviceManagement/managedDevices/x', write: false },
    ];
    await runBatches(reqs, { ...h.deps, pacer, policy: { concurrency: 1 } });
    expect(h.batches).toEqual([['1', '2', '3', 'r1']]);
    expect(pacer.used()).toBe(3);
  });

  it('a batch size above the budget is clamped to the budget', async () => {
    const h = harness(() => ({}));
    const pacer = new WritePacer({
      writes: 5,
      windowMs: 1_000,
      marginMs: 0,
      clock: { now: h.deps.now, sleep: h.deps.sleep },
    });
    await runBatches(syncs(12), { ...h.deps, pacer, policy: { concurrency: 2 } });
    expect(h.batches.map((b) => b.length)).toEqual([5, 5, 2]);
  });

  it('an outer failure stops every worker and is thrown', async () => {
    let calls = 0;
    const h = harness(() => ({}));
    await expect(
      runBatches(syncs(100), {
        ...h.deps,
        policy: { concurrency: 3 },
        send: async () => {
          calls++;
          throw new Error('graph: network error');
        },
      }),
    ).rejects.toThrow('network error');
    expect(calls).toBeLessThanOrEqual(3);
  });
});
