// The simulated WhatsApp Web, part 1: Meta's module runtime, as WhatsApp Web >= 2.3000 ships it.
//
// WhatsApp Web defines its modules with `__d(id, deps, factory)` and exposes them through the
// global `require`, `importNamespace` and `require("__debug").modulesMap`. The real
// @wppconnect/wa-js finds everything it uses through exactly these globals
// (wa-js src/loader/index.ts: `setupMetaLoaderWatcher` traps the assignment of `__d` and
// `require`; `runMetaLoader` reads `require("__debug").modulesMap`, keeps ids matching
// /^(?:use)?WA/, and loads a module with `ErrorGuard.skipGuardGlobal(true);
// importNamespace(id)`). Nothing here knows about wa-js: the worker injects the real bundle
// before this script runs, as it does on web.whatsapp.com.
(() => {
  const modulesMap = Object.create(null);

  function define(id, deps, factory) {
    if (modulesMap[id]) throw new Error(`Module ${id} defined twice`);
    modulesMap[id] = { id, dependencies: deps || [], factory, exports: undefined, loading: false };
  }

  function load(id) {
    if (id === "__debug") return { modulesMap };
    const entry = modulesMap[id];
    if (!entry) throw new Error(`Requiring unknown module "${id}"`);
    if (entry.exports === undefined) {
      if (entry.loading) throw new Error(`Circular require of "${id}"`);
      entry.loading = true;
      const module = { exports: {} };
      try {
        entry.factory(window, load, load, load, module, module.exports);
      } finally {
        entry.loading = false;
      }
      entry.exports = module.exports;
    }
    return entry.exports;
  }

  window.ErrorGuard = { skipGuardGlobal() {}, applyWithGuard: (fn, ctx, args) => fn.apply(ctx, args) };
  window.importNamespace = load;
  window.importDefault = (id) => load(id).default;
  // The site's own scripts reach the runtime through these names.
  window.__simDefine = define;
  window.__simRequire = load;
  // A release that stops exposing the runtime as `__d`/`require` (the simulator's "site
  // changed" switch, POST /control/site): wa-js's loader never starts, WPP never gets ready.
  if (window.__simSiteChanged) return;
  // Assigned last and as plain assignments: the setter traps of an injected loader fire here.
  window.__d = define;
  window.require = load;
})();
