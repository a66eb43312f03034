// A Cache-like object in memory (match, put, delete, keys): the persistent store of the registry
// client in Node tests, which have no Cache API (options.cache of loadFromServer).
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
