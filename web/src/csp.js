// Strict CSP support: the page allows <style> elements only with the nonce the server put into
// this response's <meta name="csp-nonce">. xterm.js creates <style> elements for its renderer, so
// every <style> made through document.createElement is stamped with the nonce at creation
// (before insertion, which is when the browser checks it). Nothing else is inline.
const meta = document.querySelector('meta[name="csp-nonce"]');
const nonce = meta ? meta.getAttribute("content") : "";
if (meta) meta.remove();
if (nonce && nonce !== "__CSP_NONCE__") {
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function (name, options) {
    const element = create.call(this, name, options);
    if (String(name).toLowerCase() === "style") element.setAttribute("nonce", nonce);
    return element;
  };
}
