// Site search over the Pagefind index, for the search page only.
//
// Progressive enhancement: the page's form works without this script (it leads to the list of
// all services). The script takes over the submit, asks Pagefind's JavaScript API for the
// results in the page's language (Pagefind picks the index from <html lang>), lists them as
// links and says how many were found in a role="status" region, which screen readers announce.
// A large site's index of a language is split into shards: the form's data-shards lists the
// folders of the shards other than the one in Pagefind's own bundle, and each is merged into the
// search, so that one query searches them all and Pagefind ranks the results together.
// If the index cannot be loaded (for instance a site opened straight from disk, where browsers
// refuse to fetch files), the form falls back to its plain behaviour.

const form = document.getElementById("search-form");
const input = document.getElementById("search-q");
const status = document.getElementById("search-status");
const results = document.getElementById("search-results");
const MAX_RESULTS = 30;
const OPTIONS = { excerptLength: 24 };
let engine = null;

function say(template, query, count) {
  status.textContent = template.replace("{query}", query).replace("{count}", String(count));
}

async function load() {
  if (engine === null) {
    const url = new URL("pagefind.js", new URL(form.dataset.bundle, document.baseURI));
    const module = await import(url.href);
    // Pagefind's order: options first (they set up the primary index), then the merged indexes
    // (each takes its own options), then init
    await module.options(OPTIONS);
    for (const shard of (form.dataset.shards || "").split(" ").filter(Boolean)) {
      // a path from the site's root, as Pagefind gives its own bundle, so that every result's
      // address is made the same way
      await module.mergeIndex(new URL(shard, document.baseURI).pathname, OPTIONS);
    }
    await module.init();
    engine = module;
  }
  return engine;
}

function text(html) {
  // Pagefind's excerpts are HTML with <mark> around the matches: keep their text only.
  return new DOMParser().parseFromString(html, "text/html").body.textContent || "";
}

async function run(query) {
  status.textContent = form.dataset.searching;
  const pagefind = await load();
  const search = await pagefind.search(query);
  const found = await Promise.all(search.results.slice(0, MAX_RESULTS).map((r) => r.data()));
  results.replaceChildren();
  if (found.length === 0) {
    say(form.dataset.none, query, 0);
    return;
  }
  const list = document.createElement("ol");
  for (const item of found) {
    const entry = document.createElement("li");
    const link = document.createElement("a");
    link.href = item.url;
    link.textContent = (item.meta && item.meta.title) || item.url;
    const excerpt = document.createElement("p");
    excerpt.textContent = text(item.excerpt);
    entry.append(link, excerpt);
    list.append(entry);
  }
  results.append(list);
  say(form.dataset.found, query, found.length);
}

form.addEventListener("submit", (event) => {
  const query = input.value.trim();
  event.preventDefault();
  if (!query) {
    say(form.dataset.empty, "", 0);
    input.focus();
    return;
  }
  run(query).then(
    () => history.replaceState(null, "", `?q=${encodeURIComponent(query)}`),
    () => form.submit(), // no index here: the plain form leads to the list of all services
  );
});

// Arriving from the search field in the site header: search at once.
const initial = new URLSearchParams(location.search).get("q");
if (initial && initial.trim()) {
  input.value = initial.trim();
  run(initial.trim()).catch(() => { status.textContent = form.dataset.unavailable; });
}
