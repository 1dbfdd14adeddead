// crmsync plan report: lists, searches and filters the records held as JSON in this page. Nothing is
// fetched, and every value is put in the page as text (textContent), never as HTML.
(function () {
  "use strict";
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const head = read("plan-head"), rows = read("plan-rows"), tail = read("plan-tail");
  const PAGE = 200;
  const $ = (id) => document.getElementById(id);
  const q = $("q"), status = $("status"), stream = $("stream"), cause = $("cause");
  const body = $("rows"), found = $("found"), more = $("more");
  // email and domain: the text, or the index of the field whose new value they are
  const said = (r, v) => (typeof v === "number" ? newValue(r[8][v]) : v);
  const newValue = (c) => (Array.isArray(c) ? c[1] : c);
  const keys = rows.map((r) => [r[0], r[3], r[4], said(r, r[6]), said(r, r[7])].join("\n").toLowerCase());
  const requests = requestIndex();
  let limit = PAGE;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  const shown = (v) => (v === null || v === undefined || v === "" ? "—" : typeof v === "string" ? v : JSON.stringify(v));

  function matches(i) {
    const r = rows[i];
    if (status.value && head.statuses[r[2]] !== status.value) return false;
    if (stream.value && tail.streams[r[1]] !== stream.value) return false;
    if (cause.value && !((r[9] || {}).p || []).includes(Number(cause.value))) return false;
    const words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    return words.every((w) => keys[i].includes(w));
  }

  function nameCell(r) {
    const td = el("td", null, "name");
    td.append(el("div", r[0]));
    td.append(el("div", [r[3], said(r, r[6]) || said(r, r[7])].filter(Boolean).join(" · "), "muted small"));
    return td;
  }

  function changesCell(r) {
    const td = el("td", null, "changes");
    const names = tail.fields[tail.streams[r[1]]] || [];
    (r[8] || []).forEach((c, f) => {
      if (c === null) return;
      const [old, now] = Array.isArray(c) ? c : [null, c];
      const line = el("div");
      line.append(el("code", names[f]), " ");
      if (old !== null) line.append(el("span", shown(old), "old"), " → ");
      line.append(el("span", shown(now), "new"));
      td.append(line);
    });
    const extra = r[9] || {};
    (extra.k || []).forEach(([f, old, now]) => {
      const line = el("div", null, "kept");
      line.append("kept (overwrite off) ", el("b", names[f]), ": " + shown(old) + ", not ", el("span", shown(now), "old"));
      td.append(line);
    });
    (extra.n || []).forEach((n) => td.append(el("div", tail.notes[n], "note small")));
    const ref = tail.streams[r[1]] + "/" + r[3];
    (requests.get(ref) || []).forEach((at) => td.append(requestOf(at)));
    return td;
  }

  function problemsCell(r) {
    const td = el("td", null, "problems");
    const extra = r[9] || {};
    (extra.p || []).forEach((i) => {
      const c = head.causes[i], line = el("div");
      line.append(el("code", c.code), " " + c.cause);
      td.append(line);
    });
    if (extra.r) td.append(el("div", extra.r, "reason"));
    if (extra.a) td.append(el("div", "candidates: " + extra.a.join(", "), "small"));
    return td;
  }

  function crmCell(r) {
    const td = el("td", null, "crm");
    if (r[5] && /^https?:\/\//i.test(r[5])) {
      const a = el("a", "View in CRM");
      a.href = r[5]; a.target = "_blank"; a.rel = "noopener noreferrer";
      td.append(a, el("div", r[4], "muted small"));
    } else if (r[4]) td.append(el("div", r[4], "small"));
    return td;
  }

  function row(r) {
    const tr = el("tr", null, "status-" + head.statuses[r[2]]);
    const badge = el("span", head.titles[r[2]], "badge status-" + head.statuses[r[2]]);
    const state = el("td", null, "tight"); state.append(badge);
    tr.append(nameCell(r), el("td", tail.streams[r[1]], "tight"), state, changesCell(r), problemsCell(r), crmCell(r));
    return tr;
  }

  function requestIndex() {  // with --requests: record ref -> [[request element, item position]]
    const index = new Map();
    document.querySelectorAll("#requests details[data-refs]").forEach((d) => {
      JSON.parse(d.dataset.refs).forEach((ref, pos) => {
        if (!index.has(ref)) index.set(ref, []);
        index.get(ref).push([d, pos]);
      });
    });
    return index;
  }

  function requestOf([d, pos]) {
    const shownBody = d.querySelectorAll("pre")[1].textContent;
    const summary = d.querySelector("summary").textContent;
    const box = el("details", null, "request");
    const kind = summary.split(" — ")[1].split(" ")[0];
    box.append(el("summary", "its " + kind + " request (item " + (pos + 1) + " of " + JSON.parse(d.dataset.refs).length + ")"));
    box.addEventListener("toggle", () => {
      if (box.children.length > 1) return;
      const place = d.dataset.items, whole = JSON.parse(shownBody);
      const item = place === "" ? whole : (place === "." ? whole : whole[place])[pos];
      const link = el("a", summary); link.href = "#" + d.id;
      box.append(link, el("pre", d.querySelector("pre.headers").textContent + "\n" + JSON.stringify(item, null, 2)));
    });
    return box;
  }

  function render() {
    const fragment = document.createDocumentFragment();
    let total = 0;
    for (let i = 0; i < rows.length; i++) {
      if (!matches(i)) continue;
      total++;
      if (total <= limit) fragment.append(row(rows[i]));
    }
    body.replaceChildren(fragment);
    if (!total) {
      const none = el("td", "No record matches.", "empty");
      none.colSpan = 6;
      const tr = el("tr"); tr.append(none); body.append(tr);
    }
    const of = total === rows.length ? "" : " of " + rows.length.toLocaleString("en-US");
    found.textContent = total.toLocaleString("en-US") + (total === 1 ? " record" : " records") + of +
      (total > limit ? " (showing the first " + limit.toLocaleString("en-US") + ")" : "");
    found.dataset.total = String(total);
    more.hidden = total <= limit;
  }

  let timer = 0;
  const again = () => {  // at once; typing over a very long plan waits for a pause
    limit = PAGE;
    clearTimeout(timer);
    if (rows.length > 20000) timer = setTimeout(render, 150); else render();
  };
  [q, status, stream, cause].forEach((input) => input.addEventListener("input", again));
  more.addEventListener("click", () => { limit += PAGE * 5; render(); });
  document.querySelectorAll("button[data-status]").forEach((b) => b.addEventListener("click", () => {
    status.value = status.value === b.dataset.status ? "" : b.dataset.status; again();
    $("records").scrollIntoView();
  }));
  document.querySelectorAll("button[data-cause]").forEach((b) => b.addEventListener("click", () => {
    cause.value = b.dataset.cause; again(); $("records").scrollIntoView();
  }));
  render();
})();
