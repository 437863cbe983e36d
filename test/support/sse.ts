// A minimal Server-Sent Events reader for tests: events in arrival order, waited for by predicate.
export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export interface SseReader {
  events: SseEvent[];
  /** Resolves with the first event (from `from` on) that matches; rejects when the stream ends first. */
  waitFor(match: (e: SseEvent) => boolean, what: string, from?: number): Promise<SseEvent>;
  /** Resolves once the server has closed the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<{ status: number; reader?: SseReader; body?: string }> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  if (res.status !== 200 || !res.body) return { status: res.status, body: await res.text() };
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('data: ')) event.data += line.slice(6);
          }
          if (block.split('\n').some((l) => !l.startsWith(':'))) events.push(event);
          for (const wake of waiters) wake();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      for (const wake of waiters) wake();
    }
  })();
  return {
    status: res.status,
    reader: {
      events,
      ended,
      close: () => abort.abort(),
      waitFor(match, what, from = 0) {
        return new Promise((resolve, reject) => {
          const check = () => {
            const found = events.slice(from).find(match);
            if (found) {
              waiters.delete(check);
              resolve(found);
            } else if (done) {
              waiters.delete(check);
              reject(new Error(`stream ended before ${what}; got ${JSON.stringify(events.map((e) => e.event))}`));
            }
          };
          waiters.add(check);
          check();
        });
      },
    },
  };
}
