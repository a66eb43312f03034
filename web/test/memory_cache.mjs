// An in-memory Cache-like object (match/put/delete/keys) for the registry client in Node, which
// has no Cache API: the persistent store of the tests that check what a client remembers.
export class MemoryCache {
  constructor() { this.entries = new Map(); }
  static key(req) { return typeof req === 'string' ? req : req.url; }
  async match(req) {
    const e = this.entries.get(MemoryCache.key(req));
    return e ? new Response(e.body.slice(), { headers: e.headers }) : undefined;
  }
  async put(req, res) {
    this.entries.set(MemoryCache.key(req), { body: new Uint8Array(await res.arrayBuffer()), headers: [...res.headers] });
  }
  async delete(req) { return this.entries.delete(MemoryCache.key(req)); }
  async keys() { return [...this.entries.keys()].map((url) => ({ url })); }
}
