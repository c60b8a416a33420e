/* Search on demand. Material's bundle downloads the whole search index (the text of every
   article) and parses it on the page's main thread at every first page view, so each page
   of a large library would load slower than the page itself needs. This holds that one
   request until the reader shows they want to search: pressing the search button,
   focusing the search field (also by its keyboard shortcuts), or arriving from a search
   result to be highlighted (?h=). Inlined in <head> so it runs before the bundle. If a
   Material upgrade loads the index another way, this holds nothing and search works as
   before, only eagerly. */
(function () {
  var INDEX = /\/search\/search_index\.json$/;
  var proto = XMLHttpRequest.prototype;
  var open = proto.open, send = proto.send;
  var isIndex = new WeakSet(), held = [], released = false;

  function release() {
    if (released) return;
    released = true;
    held.forEach(function (h) { send.apply(h[0], h[1]); });
    held = [];
  }

  proto.open = function (method, url) {
    if (INDEX.test(String(url).split(/[?#]/)[0])) isIndex.add(this);
    return open.apply(this, arguments);
  };
  proto.send = function () {
    if (!released && isIndex.has(this)) { held.push([this, arguments]); return; }
    return send.apply(this, arguments);
  };

  if (/[?&]h=/.test(location.search)) release();
  function wantsSearch(target) {
    return target instanceof Element &&
      !!target.closest("label[for='__search'], [data-md-component='search']");
  }
  document.addEventListener("focusin", function (e) { if (wantsSearch(e.target)) release(); });
  document.addEventListener("pointerdown", function (e) { if (wantsSearch(e.target)) release(); },
    true);
  document.addEventListener("change", function (e) {
    if (e.target instanceof Element && e.target.id === "__search") release();
  });
})();
