/**
 * Unacknowledged batches outlive the page in sessionStorage (the tab's
 * session; never localStorage, never cookies), under the key 'pum:' + url.
 * save() stores the queue (the bodies) whenever the page is
 * hidden or unloaded; load() takes them out (and removes them) when the next
 * client for that url starts in the same tab. The bodies keep their own
 * client id and seq, so a batch that was delivered after all is only
 * acknowledged again by the server, not counted twice. A storage failure
 * (disabled, quota, SecurityError, bad JSON) just means nothing is kept.
 */
export const load = (g, k) => {
  try {
    const v = JSON.parse(g.sessionStorage.getItem(k)).map((e) => [e[0]]);
    g.sessionStorage.removeItem(k);
    return v;
  } catch (e) {
    return [];
  }
};

export const save = (g, k, q) => {
  try {
    g.sessionStorage.setItem(k, JSON.stringify(q));
  } catch (e) {}
};
