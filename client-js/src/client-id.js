/**
 * A random client id, new for every page load: 128 bits from
 * crypto.getRandomValues in base 36, about 26 characters of [0-9a-z] (the
 * server takes 1-64 characters of [A-Za-z0-9_-]); without Web Crypto,
 * Math.random and the time. It identifies no user and is kept nowhere but in
 * the page (and, inside unsent batches, in the tab's sessionStorage).
 */
export const clientId = (g) => {
  try {
    return [...g.crypto.getRandomValues(new Uint32Array(4))].map((x) => x.toString(36)).join('');
  } catch (e) {
    return Math.random().toString(36).slice(2) + Date.now().toString(36);
  }
};
