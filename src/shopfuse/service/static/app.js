// shopfuse web UI: plain JavaScript, no build step, no external resources.
// It talks only to the HTTP API (GET /info, GET /search, POST /search/image, GET /products/..., POST /tryon).
"use strict";

const PAGE_SIZE = 12;
// The API's own relevance cut-off (`depth`, 50): the UI's total is what `GET /search` says. Pages
// never reach past it (the last one asks for fewer hits), or the API would search deeper for them.
const DEPTH = 50;
const FACETS_SHOWN = 6;
const EXAMPLES = ["black leather shoes", "红色连衣裙", "robe rouge", "blaue Jeans", "analog watch"];
const WHY_LABELS = {
  text: "Text meaning",
  image: "Photo look",
  ocr: "Photo's text",
  video: "Video frames",
  speech: "Words heard",
  audio: "Sound",
  product: "Fused product",
  vector: "Meaning",
  lexical: "Matching words",
  text_query: "Your words",
  image_query: "Your photo",
};
const SHARE_KEYS = new Set(["vector", "lexical", "text_query", "image_query"]);

const state = {
  q: "",
  mode: "vector",
  page: 0,
  filters: new Map(), // attribute -> Set of values
  file: null, // the uploaded photo (a File), kept in memory only
  fileUrl: null,
};
const cache = { info: null, hits: new Map(), lastKey: null, lastBody: null, lastQuery: "" };

const $ = (selector) => document.querySelector(selector);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** Create an element with attributes and children; text is always set as text, never as HTML. */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "testid") node.dataset.testid = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "style") {
      // set through the CSSOM: the service's Content-Security-Policy refuses style attributes
      for (const [property, setting] of Object.entries(value)) node.style.setProperty(property, setting);
    }
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail || body);
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

async function info() {
  if (!cache.info) cache.info = await api("/info");
  return cache.info;
}

// ---------- filters as SQL ----------

/** A SQL identifier in backticks (attribute names come from /info, never from free input). */
function identifier(name) {
  return "`" + name.replaceAll("`", "``") + "`";
}

/** A value as a SQL literal of the attribute's stored type. */
function literal(value, type) {
  if ((type === "int64" || type === "float64") && value.trim() !== "" && Number.isFinite(Number(value))) {
    return String(Number(value));
  }
  if (type === "bool" && (value === "True" || value === "False" || value === "true" || value === "false")) {
    return value.toLowerCase();
  }
  return "'" + value.replaceAll("'", "''") + "'";
}

/** The `where` filter for the selected facet values: OR within an attribute, AND across them. */
function whereClause(types) {
  const parts = [];
  for (const [attr, values] of state.filters) {
    if (!values.size) continue;
    const list = [...values].map((v) => literal(v, types[attr])).join(", ");
    parts.push(`${identifier(attr)} IN (${list})`);
  }
  return parts.join(" AND ");
}

// ---------- the hash route ----------

function searchHash() {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  if (state.mode !== "vector") params.set("mode", state.mode);
  if (state.page) params.set("page", String(state.page + 1));
  for (const [attr, values] of state.filters) for (const v of values) params.append("f", `${attr}:${v}`);
  if (state.file) params.set("photo", "1");
  return "#/search?" + params.toString();
}

function readSearchHash(query) {
  const params = new URLSearchParams(query);
  state.q = params.get("q") || "";
  state.mode = params.get("mode") || "vector";
  state.page = Math.max(0, Number(params.get("page") || "1") - 1);
  state.filters = new Map();
  for (const f of params.getAll("f")) {
    const cut = f.indexOf(":");
    if (cut < 1) continue;
    const attr = f.slice(0, cut);
    if (!state.filters.has(attr)) state.filters.set(attr, new Set());
    state.filters.get(attr).add(f.slice(cut + 1));
  }
  if (!params.get("photo")) setPhoto(null);
}

/** Navigate to ``hash``; the results read "loading" until the new ones are shown. */
function go(hash) {
  byTestId("results").dataset.state = "loading";
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const hash = location.hash || "#/";
  const product = hash.match(/^#\/product\/([^?]+)(?:\?t=([0-9.]+))?$/);
  if (product) {
    showView("product");
    await renderProduct(decodeURIComponent(product[1]), product[2] ? Number(product[2]) : null);
    return;
  }
  const query = hash.startsWith("#/search?") ? hash.slice("#/search?".length) : "";
  readSearchHash(query);
  syncForm();
  showView("search", !(state.q || state.file));
  if (state.q || state.file) await runSearch();
  else renderHome();
}

function showView(name, home = false) {
  $("#search-view").hidden = name !== "search";
  $("#search-view").classList.toggle("home", home);
  $("#product-view").hidden = name !== "product";
}

function syncForm() {
  byTestId("search-input").value = state.q;
  byTestId("search-mode").value = state.mode;
}

// ---------- search ----------

async function runSearch() {
  const meta = await info();
  const types = meta.attributes || {};
  const facetLabels = Object.keys(types).filter((a) => types[a] === "string" || types[a] === "bool");
  const where = whereClause(types);
  const key = JSON.stringify([state.q, state.mode, state.page, where, state.fileUrl]);
  const status = byTestId("status");
  byTestId("results").dataset.state = "loading";
  status.textContent = "Searching…";
  status.classList.remove("error");
  const started = performance.now();
  let body = cache.hits.get(key);
  try {
    if (!body) {
      if (state.file) {
        const form = new FormData();
        form.append("file", state.file, state.file.name || "photo");
        form.append("k", String(pageSize()));
        form.append("offset", String(state.page * PAGE_SIZE));
        form.append("depth", String(DEPTH));
        form.append("facets", facetLabels.join(","));
        form.append("mode", state.mode);
        if (state.q) form.append("q", state.q);
        if (where) form.append("where", where);
        body = await api("/search/image", { method: "POST", body: form });
      } else {
        const params = new URLSearchParams({
          q: state.q,
          mode: state.mode,
          k: String(pageSize()),
          offset: String(state.page * PAGE_SIZE),
          depth: String(DEPTH),
          facets: facetLabels.join(","),
        });
        if (where) params.set("where", where);
        body = await api("/search?" + params.toString());
      }
      cache.hits.set(key, body);
    }
  } catch (error) {
    status.textContent = `Search failed: ${error.message}`;
    status.classList.add("error");
    byTestId("results").replaceChildren();
    byTestId("results").dataset.state = "error";
    byTestId("pager").hidden = true;
    return;
  }
  const ms = Math.round(performance.now() - started);
  cache.lastBody = body;
  cache.lastQuery = [state.q, state.file ? "your photo" : ""].filter(Boolean).join(" + ");
  renderResults(body, ms, types);
}

/** Hits to ask for on this page: a full page, but none past the relevance cut-off. */
function pageSize() {
  return Math.max(1, Math.min(PAGE_SIZE, DEPTH - state.page * PAGE_SIZE));
}

function renderHome() {
  byTestId("status").textContent = "";
  byTestId("facets").replaceChildren();
  byTestId("active-filters").replaceChildren();
  byTestId("pager").hidden = true;
  const examples = EXAMPLES.map((q) =>
    el("button", { type: "button", class: "example", onclick: () => submit(q) }, q),
  );
  byTestId("results").dataset.state = "home";
  byTestId("results").replaceChildren(
    el("div", { class: "empty", testid: "home" }, [
      el("h1", { text: "Find products by words, photos, or both" }),
      el("p", {
        text: "Type in any language, upload a photo, or combine them. Filter by attributes, open a product to see why it matched and what looks like it.",
      }),
      el("div", { class: "examples" }, examples),
    ]),
  );
  info()
    .then((meta) => {
      byTestId("status").textContent = `${meta.products.toLocaleString()} products in the catalogue`;
      byTestId("image-button").hidden = !meta.image_search;
    })
    .catch((error) => {
      byTestId("status").textContent = `The API is not answering: ${error.message}`;
    });
}

function renderResults(body, ms, types) {
  const { hits, total, offset } = body;
  const status = byTestId("status");
  const what = cache.lastQuery ? `for “${cache.lastQuery}”` : "";
  status.textContent = total
    ? `${offset + 1}–${offset + hits.length} of ${total} ${what} · ${ms} ms`
    : `No products ${what}${state.filters.size ? " with these filters" : ""}`;
  for (const hit of hits) cache.hits.set("hit:" + hit.id, { hit, query: cache.lastQuery });
  byTestId("results").replaceChildren(...hits.map((hit) => card(hit, "result")));
  byTestId("results").dataset.state = "ready";
  renderFacets(body.facets || {}, types);
  renderActiveFilters();
  const pages = Math.ceil(total / PAGE_SIZE);
  const pager = byTestId("pager");
  pager.hidden = pages <= 1;
  byTestId("page-info").textContent = `Page ${state.page + 1} of ${pages}`;
  byTestId("page-prev").disabled = state.page <= 0;
  byTestId("page-next").disabled = state.page + 1 >= pages;
}

function photoUrl(id, number = 0, size = 320) {
  return `/products/${encodeURIComponent(id)}/images/${number}?size=${size}`;
}

function photo(id, testid, size = 320, number = 0) {
  const img = el("img", { src: photoUrl(id, number, size), alt: "", loading: "lazy", testid });
  img.addEventListener("error", () => img.classList.add("missing"), { once: true });
  return el("div", { class: "photo" }, img);
}

function card(hit, kind) {
  const title = hit.title || hit.id;
  const facts = ["gender", "articleType", "baseColour", "product_type_name", "colour_group_name"]
    .map((a) => hit.attributes && hit.attributes[a])
    .filter(Boolean)
    .slice(0, 3)
    .join(" · ");
  return el(
    "a",
    { class: "card", href: `#/product/${encodeURIComponent(hit.id)}`, testid: `${kind}-card`, "data-id": hit.id },
    [
      photo(hit.id, `${kind}-image`),
      el("div", { class: "card-body" }, [
        el("div", { class: "card-title", testid: `${kind}-title`, title, text: title }),
        facts ? el("div", { class: "card-facts", text: facts }) : null,
        el("div", { class: "card-score", testid: `${kind}-score`, text: `score ${hit.score.toFixed(3)}` }),
        variants(hit, kind),
        why(hit.why || {}, hit.matched, `${kind}-why`),
        moments(hit, kind),
      ]),
    ],
  );
}

/** "+N variants" under a hit that stands for duplicate listings; their ids on hover. */
function variants(hit, kind) {
  const ids = hit.variants || [];
  if (!ids.length) return null;
  const text = `+${ids.length} variant${ids.length === 1 ? "" : "s"}`;
  return el("div", { class: "card-variants", testid: `${kind}-variants`, title: ids.join(", "), text });
}

/** Links to the parts of a hit's video that match the query ("▶ 00:03-00:06"), played from there. */
function moments(hit, kind) {
  if (!hit.moments || !hit.moments.length) return null;
  return el(
    "div",
    { class: "moments", testid: `${kind}-moments` },
    hit.moments.map((m) =>
      el("span", {
        class: "moment",
        role: "link",
        title: `score ${m.score.toFixed(3)}`,
        "data-start": String(m.start),
        text: `▶ ${m.label}`,
        onclick: (event) => {
          // inside the card's link: open the product with its video at this moment instead
          event.preventDefault();
          event.stopPropagation();
          location.hash = `#/product/${encodeURIComponent(hit.id)}?t=${m.start}`;
        },
      }),
    ),
  );
}

/** The "why" of a hit: per-modality similarities and, for merged rankings, each ranking's share. */
function why(parts, matched, testid) {
  const entries = Object.entries(parts);
  const shares = entries.filter(([k]) => SHARE_KEYS.has(k));
  const isShare = shares.length > 1 || (shares.length === 1 && entries.length > 1);
  const shareTotal = shares.reduce((sum, [, v]) => sum + v, 0) || 1;
  const rows = entries
    .sort(([a], [b]) => Number(SHARE_KEYS.has(b)) - Number(SHARE_KEYS.has(a)))
    .map(([key, value]) => {
      const share = isShare && SHARE_KEYS.has(key);
      const width = share ? value / shareTotal : Math.max(0, Math.min(1, key === "lexical" ? value / 20 : value));
      const shown = share ? `${Math.round((100 * value) / shareTotal)}%` : value.toFixed(3);
      return el("div", { class: "why-row" + (share ? " share" : ""), "data-key": key }, [
        el("span", { class: "why-label", text: WHY_LABELS[key] || (cache.info?.modality_labels || {})[key] || key }),
        el("span", { class: "why-bar" }, el("span", { style: { width: `${(100 * width).toFixed(1)}%` } })),
        el("span", { class: "why-value", text: shown }),
      ]);
    });
  for (const [attr, m] of Object.entries(matched || {})) {
    const p = typeof m.probability === "number" ? ` ${(100 * m.probability).toFixed(0)}%` : "";
    // a constraint the product probably does not meet is shown as such, not ticked
    const met = m.probability === undefined || m.probability >= 0.5;
    rows.push(el("div", { class: `why-row matched${met ? "" : " unmet"}`, text: `${met ? "✓" : "✗"} ${attr}: ${m.value ?? ""}${p}` }));
  }
  return el("div", { class: "why", testid }, rows);
}

function renderFacets(facets, types) {
  const groups = [];
  for (const [attr, counts] of Object.entries(facets)) {
    const selected = state.filters.get(attr) || new Set();
    const values = Object.entries(counts);
    for (const v of selected) if (!(v in counts)) values.push([v, 0]);
    if (values.length < 2 && !selected.size) continue;
    const options = values.map(([value, count], index) =>
      el("label", { class: "facet-option" + (index >= FACETS_SHOWN && !selected.has(value) ? " extra" : "") }, [
        el("input", {
          type: "checkbox",
          checked: selected.has(value),
          testid: "facet-option",
          "data-attr": attr,
          "data-value": value,
          onchange: (event) => toggleFilter(attr, value, event.target.checked),
        }),
        el("span", { class: "facet-value", text: value }),
        el("span", { class: "facet-count", text: String(count) }),
      ]),
    );
    const group = el("fieldset", { class: "facet-group", testid: "facet-group", "data-attr": attr }, [
      el("legend", { text: humanise(attr) }),
      ...options,
    ]);
    if (values.length > FACETS_SHOWN) {
      group.append(
        el("button", {
          type: "button",
          class: "facet-more",
          text: `Show all ${values.length}`,
          onclick: (event) => {
            group.classList.toggle("open");
            event.target.textContent = group.classList.contains("open") ? "Show fewer" : `Show all ${values.length}`;
          },
        }),
      );
    }
    groups.push(group);
  }
  byTestId("facets").replaceChildren(...(groups.length ? [el("h2", { text: "Filters" }), ...groups] : []));
}

function renderActiveFilters() {
  const chips = [];
  for (const [attr, values] of state.filters) {
    for (const value of values) {
      chips.push(
        el("button", {
          type: "button",
          class: "filter-chip",
          testid: "active-filter",
          title: "Remove this filter",
          text: `${humanise(attr)}: ${value} ×`,
          onclick: () => toggleFilter(attr, value, false),
        }),
      );
    }
  }
  if (chips.length) {
    chips.push(
      el("button", {
        type: "button",
        class: "filter-clear",
        testid: "clear-filters",
        text: "Clear all",
        onclick: () => {
          state.filters = new Map();
          state.page = 0;
          go(searchHash());
        },
      }),
    );
  }
  byTestId("active-filters").replaceChildren(...chips);
}

function toggleFilter(attr, value, on) {
  if (!state.filters.has(attr)) state.filters.set(attr, new Set());
  const values = state.filters.get(attr);
  if (on) values.add(value);
  else values.delete(value);
  if (!values.size) state.filters.delete(attr);
  state.page = 0;
  go(searchHash());
}

function humanise(name) {
  return name
    .replace(/_/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/^./, (c) => c.toUpperCase());
}

// ---------- product page ----------

/** The product's video, playing from ``start``, with its shots as buttons that seek to them. */
function videoBlock(id, product, start) {
  if (!product.video) return null;
  const player = el("video", {
    controls: "",
    preload: "metadata",
    testid: "product-video",
    src: `/products/${encodeURIComponent(id)}/video${start !== null ? `#t=${start}` : ""}`,
  });
  if (start !== null) player.autoplay = true;
  const shots = (product.moments || []).map((m) =>
    el("button", {
      type: "button",
      class: "moment",
      testid: "product-moment",
      "data-start": String(m.start),
      text: `▶ ${m.label}${m.text ? ` “${m.text}”` : ""}`,
      title: [m.shot, m.scene].filter(Boolean).map((v) => SCENE_WORDS[v] || humanise(v)).join(", ") || null,
      onclick: () => {
        player.currentTime = m.start;
        player.play().catch(() => {});
      },
    }),
  );
  return el("section", { class: "video-box" }, [
    el("h2", { text: "Video" }),
    player,
    shots.length ? el("div", { class: "moments", testid: "product-moments" }, shots) : null,
  ]);
}

const SCENE_WORDS = {
  studio: "Studio shot",
  indoor: "Indoors",
  outdoor: "Outdoors",
  shop_window: "Shop window",
  on_model: "On a model",
  flat_lay: "Flat lay",
  packshot: "Packshot",
  detail: "Close-up of a detail",
};

/** The main photo's scene and shot type (tagged from the photo at ingest), as two tags. */
function sceneTags(product) {
  const a = product.attributes || {};
  if (!a.scene && !a.shot) return null;
  const tag = (kind, value) =>
    value ? el("span", { class: `scene-tag ${kind}`, testid: `product-${kind}`, "data-value": value, text: SCENE_WORDS[value] || humanise(value) }) : null;
  return el("p", { class: "scene-tags", testid: "product-scene-shot", title: "Tagged from the main photo" }, [
    tag("scene", a.scene),
    tag("shot", a.shot),
  ]);
}

/** "Photo 2: Flat lay, studio shot" from the per-photo tags, where the store has them. */
function photoLabel(product, n) {
  const a = product.attributes || {};
  const shot = (a.photo_shots || "").split(", ")[n];
  const scene = (a.photo_scenes || "").split(", ")[n];
  const words = [shot, scene].filter(Boolean).map((v) => SCENE_WORDS[v] || humanise(v));
  return words.length ? `Photo ${n + 1}: ${words.join(", ")}` : `Photo ${n + 1}`;
}

/** "Try it on" for a wearable product (GET /tryon/kind/{id}): pick a photo, POST /tryon, show the PNG. */
function tryOnBlock(id) {
  const box = el("section", { class: "tryon", testid: "tryon", hidden: true });
  api(`/tryon/kind/${encodeURIComponent(id)}`).then((answer) => {
    if (!answer.wearable) return;
    const input = el("input", { type: "file", accept: "image/*", hidden: true, testid: "tryon-input" });
    const status = el("p", { class: "muted", testid: "tryon-status", text: answer.kind === "ring"
      ? "Upload a photo of your hand, fingers spread."
      : "Upload a photo of your face, looking at the camera." });
    const result = el("img", { class: "tryon-result", testid: "tryon-result", alt: "You wearing it", hidden: true });
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      status.className = "muted";
      status.textContent = "Trying it on…";
      const body = new FormData();
      body.append("photo", file);
      body.append("item", id);
      try {
        const response = await fetch("/tryon", { method: "POST", body });
        if (!response.ok) {
          const answer = await response.json().catch(() => ({}));
          const detail = answer.detail && answer.detail.message ? answer.detail.message : JSON.stringify(answer.detail || answer);
          throw new Error(detail);
        }
        if (result.src) URL.revokeObjectURL(result.src);
        result.src = URL.createObjectURL(await response.blob());
        result.hidden = false;
        status.textContent = "";
      } catch (error) {
        status.className = "status error";
        status.textContent = `Cannot try it on: ${error.message}`;
      }
      input.value = "";
    });
    box.replaceChildren(
      el("h2", { text: "Try it on" }),
      el("button", { type: "button", class: "tryon-button", testid: "tryon-button", onclick: () => input.click(),
        text: `Try ${answer.kind === "earrings" ? "them" : "it"} on` }),
      input,
      status,
      result,
    );
    box.hidden = false;
  }).catch(() => {});
  return box;
}

async function renderProduct(id, start = null) {
  const view = $("#product-view");
  view.replaceChildren(el("div", { class: "status", text: "Loading…" }));
  let product;
  let similar;
  try {
    [product, similar] = await Promise.all([
      api(`/products/${encodeURIComponent(id)}`),
      api(`/products/${encodeURIComponent(id)}/similar?k=6`).catch(() => ({ hits: [] })),
    ]);
  } catch (error) {
    view.replaceChildren(
      el("div", { class: "status error", testid: "product-error", text: `Cannot show ${id}: ${error.message}` }),
      backLink(),
    );
    return;
  }
  const images = product.images && product.images.length ? product.images : product.image ? [product.image] : [];
  const main = photo(id, "product-image", 640);
  const thumbs = images.map((_, n) =>
    el("button", {
      type: "button",
      class: "thumb",
      onclick: () => {
        main.querySelector("img").src = photoUrl(id, n, 640);
      },
    }, el("img", { src: photoUrl(id, n, 96), alt: photoLabel(product, n), title: photoLabel(product, n) })),
  );
  // scene and shot are shown as tags under the title; the per-photo lists as the thumbnails' titles
  const shownAsTags = new Set(["scene", "shot", "photo_scenes", "photo_shots"]);
  const rows = Object.entries(product.attributes || {})
    .filter(([name, v]) => v !== null && v !== "" && !shownAsTags.has(name))
    .map(([name, value]) =>
      el("tr", { testid: "product-attribute", "data-attr": name }, [
        el("th", { text: humanise(name) }),
        el("td", { text: String(value) }),
      ]),
    );
  if (product.lang) rows.push(el("tr", {}, [el("th", { text: "Language" }), el("td", { text: product.lang })]));
  rows.push(el("tr", {}, [el("th", { text: "Product id" }), el("td", { text: product.id })]));

  const seen = cache.hits.get("hit:" + id);
  let whyBlock;
  if (seen) {
    whyBlock = [
      el("h2", { text: `Why it matched “${seen.query}”` }),
      el("p", {
        class: "muted",
        text: Object.keys(seen.hit.why || {}).some((k) => SHARE_KEYS.has(k))
          ? `Score ${seen.hit.score.toFixed(3)}: the rankings' shares add up to it.`
          : `Score ${seen.hit.score.toFixed(3)}: its best similarity below.`,
      }),
      why(seen.hit.why || {}, seen.hit.matched, "product-why"),
    ];
  } else if (product.contributions && Object.keys(product.contributions).length) {
    whyBlock = [
      el("h2", { text: "What its search vector is made of" }),
      why(product.contributions, null, "product-why"),
    ];
  } else {
    whyBlock = [
      el("h2", { text: "Why" }),
      el("p", { class: "muted", testid: "product-why", text: "Open this product from a search to see why it matched." }),
    ];
  }

  view.replaceChildren(
    backLink(),
    el("article", { class: "product" }, [
      el("div", { class: "gallery" }, [main, thumbs.length > 1 ? el("div", { class: "thumbs" }, thumbs) : null]),
      el("div", { class: "details" }, [
        el("h1", { testid: "product-title", text: product.title || product.id }),
        sceneTags(product),
        product.description ? el("p", { class: "description", testid: "product-description", text: product.description }) : null,
        el("table", { class: "attributes", testid: "product-attributes" }, el("tbody", {}, rows)),
        product.ocr_text
          ? el("div", { class: "ocr", testid: "product-ocr" }, [
              el("h2", { text: "Text read in the photo" }),
              el("p", { text: product.ocr_text }),
            ])
          : null,
        videoBlock(id, product, start),
        tryOnBlock(id),
        el("section", { class: "why-box" }, whyBlock),
      ]),
    ]),
    el("section", { class: "similar" }, [
      el("h2", { text: "Similar items" }),
      el("p", { class: "muted", text: images.length ? "Products whose photos look like this one." : "Products whose text reads like this one." }),
      el("div", { class: "grid", testid: "similar-grid" }, similar.hits.map((hit) => card(hit, "similar"))),
    ]),
  );
  window.scrollTo(0, 0);
}

function backLink() {
  return el("a", {
    class: "back",
    href: cache.lastBody ? searchHash() : "#/",
    testid: "back-link",
    text: cache.lastBody ? "← Back to results" : "← Search",
  });
}

// ---------- the form ----------

function setPhoto(file) {
  if (state.fileUrl) URL.revokeObjectURL(state.fileUrl);
  state.file = file;
  state.fileUrl = file ? URL.createObjectURL(file) : null;
  byTestId("image-chip").hidden = !file;
  byTestId("image-preview").src = state.fileUrl || "";
  if (!file) byTestId("image-input").value = "";
}

function submit(q) {
  state.q = (q ?? byTestId("search-input").value).trim();
  state.mode = byTestId("search-mode").value;
  state.page = 0;
  state.filters = new Map();
  if (!state.q && !state.file) return;
  go(searchHash());
}

function init() {
  byTestId("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  byTestId("image-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    setPhoto(file);
    submit();
  });
  byTestId("image-clear").addEventListener("click", () => {
    setPhoto(null);
    if (state.q) submit();
    else go("#/");
  });
  const form = byTestId("search-form");
  form.addEventListener("dragover", (event) => {
    event.preventDefault();
    form.classList.add("dragging");
  });
  form.addEventListener("dragleave", () => form.classList.remove("dragging"));
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    form.classList.remove("dragging");
    const file = [...event.dataTransfer.files].find((f) => f.type.startsWith("image/"));
    if (file) {
      setPhoto(file);
      submit();
    }
  });
  byTestId("page-prev").addEventListener("click", () => {
    state.page = Math.max(0, state.page - 1);
    go(searchHash());
  });
  byTestId("page-next").addEventListener("click", () => {
    state.page += 1;
    go(searchHash());
  });
  window.addEventListener("hashchange", route);
  route();
}

init();
