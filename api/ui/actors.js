"use strict";
// The live page of /debug/actors: polls the tree (relative URLs, so the page works under any
// prefix), computes rates from consecutive snapshots, and marks restarts and failures.
(function () {
  const POLL_MS = 500, GONE_MS = 5000;
  const $ = (id) => document.getElementById(id);
  const base = new URL("./", location.href); // .../debug/actors/
  const treeURL = new URL("../actors", base);
  let prev = null;          // last snapshot: {time: ms, byId: {id: actor}}
  let selected = null;      // actor ID whose messages are shown
  const rows = new Map();   // actor ID -> {tr, restarts, goneAt}
  let busy = false;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function flatten(actors, depth, out) {
    for (const a of actors || []) {
      out.push([a, depth]);
      flatten(a.children, depth + 1, out);
    }
    return out;
  }
  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }
  function took(ns) {
    if (!ns) return "";
    return ns < 1e6 ? (ns / 1e3).toFixed(0) + "µs" : (ns / 1e6).toFixed(1) + "ms";
  }
  function short(peer) { return peer && peer.length > 12 ? "…" + peer.slice(-8) : (peer || ""); }
  // who names the other side of a record: the peer it came from or went to, else the sender.
  function who(r) { return r.peer ? (r.dir === "out" ? "→ " : "") + short(r.peer) : (r.sender || ""); }
  function detailCell(d) { return el("td", d || "", /^(panic|dropped)|failed/.test(d || "") ? "err" : ""); }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.message || r.status + " " + r.statusText);
    return body;
  }

  async function poll() {
    if (busy || $("pause").checked) return;
    busy = true;
    try {
      const tree = await getJSON(treeURL);
      render(tree);
      if (selected) await showMessages(selected);
      $("status").textContent = "live · " + clock(tree.time);
      $("status").className = "live";
    } catch (e) {
      $("status").textContent = "stale: " + e.message;
      $("status").className = "stale";
    } finally {
      busy = false;
    }
  }

  function render(tree) {
    $("node").textContent = tree.role + " " + tree.node;
    const now = Date.parse(tree.time);
    const flat = flatten(tree.actors, 0, []);
    const byId = {};
    const tbody = $("tree").tBodies[0];
    let restarts = 0, failed = 0;
    const seen = new Set();
    flat.forEach(([a, depth], i) => {
      byId[a.id] = a;
      seen.add(a.id);
      restarts += a.restarts;
      let row = rows.get(a.id);
      if (!row) {
        const tr = el("tr");
        tr.dataset.id = a.id;
        for (let c = 0; c < 9; c++) tr.appendChild(el("td", "", [4, 6, 7, 8].includes(c) ? "n" : c === 5 ? "err" : ""));
        tr.addEventListener("click", () => select(a.id));
        row = { tr: tr, restarts: a.restarts };
        rows.set(a.id, row);
      }
      row.goneAt = 0;
      const tr = row.tr;
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
      const p = prev && prev.byId[a.id];
      let rate = "";
      if (p && now > prev.time) rate = ((a.messages - p.messages) * 1000 / (now - prev.time)).toFixed(1);
      const name = tr.cells[0];
      name.textContent = a.name;
      name.style.paddingLeft = (8 + depth * 16) + "px";
      if (a.restarts > 0) name.appendChild(el("span", "⟳" + a.restarts, "badge r"));
      const isFailed = !!a.last_error || a.state === "failed" || a.state === "restarting" || a.state === "stopping";
      if (a.last_error) { name.appendChild(el("span", "✖", "badge f")); failed++; }
      tr.cells[1].textContent = a.kind;
      tr.cells[2].textContent = a.state;
      tr.cells[3].textContent = a.behaviour || "";
      tr.cells[4].textContent = a.restarts;
      tr.cells[5].textContent = a.last_error ? clock(a.last_error_at) + " " + a.last_error : "";
      tr.cells[6].textContent = a.mailbox;
      tr.cells[7].textContent = a.messages;
      tr.cells[8].textContent = rate;
      tr.dataset.restarts = a.restarts;
      tr.dataset.state = a.state;
      tr.classList.toggle("restarted", a.restarts > 0);
      tr.classList.toggle("failed", isFailed);
      tr.classList.remove("gone");
      tr.classList.toggle("selected", a.id === selected);
      if (a.restarts > row.restarts) {
        // Restarted since the last look: flash it, and note when the page first showed it.
        tr.dataset.restartSeenAt = String(Date.now());
        tr.classList.remove("flash");
        void tr.offsetWidth;
        tr.classList.add("flash");
      }
      row.restarts = a.restarts;
    });
    // Actors gone since the last look stay a moment, struck through, then leave.
    let tail = flat.length;
    for (const [id, row] of rows) {
      if (seen.has(id)) continue;
      if (!row.goneAt) row.goneAt = Date.now();
      if (Date.now() - row.goneAt > GONE_MS) { row.tr.remove(); rows.delete(id); continue; }
      row.tr.classList.add("gone");
      row.tr.cells[2].textContent = "stopped";
      row.tr.cells[8].textContent = "";
      if (tbody.children[tail] !== row.tr) tbody.insertBefore(row.tr, tbody.children[tail] || null);
      tail++;
    }
    $("summary").textContent = flat.length + " actors · " + restarts + " restarts · " + failed + " with an error";
    prev = { time: now, byId: byId };
  }

  function select(id) {
    selected = id;
    $("detail").hidden = false;
    $("detail-id").textContent = id;
    for (const [rid, row] of rows) row.tr.classList.toggle("selected", rid === id);
    showMessages(id).catch((e) => { $("detail-note").textContent = e.message; });
  }

  async function showMessages(id) {
    const m = await getJSON(new URL("messages?id=" + encodeURIComponent(id), base));
    if (id !== selected) return;
    $("detail-note").textContent = m.kept === 0
      ? "this node keeps no recent messages: start it with --recent-messages N"
      : "the last " + m.kept + " messages; newest last";
    const tbody = $("messages").tBodies[0];
    const frag = document.createDocumentFragment();
    for (const r of m.messages) {
      const tr = el("tr");
      tr.appendChild(el("td", clock(r.at)));
      tr.appendChild(el("td", r.dir));
      tr.appendChild(el("td", r.type));
      const req = el("td", r.request || "");
      if (r.request) {
        req.style.cursor = "pointer";
        req.title = "show this request's path";
        req.addEventListener("click", () => { $("trace-id").value = r.request; trace(r.request); });
      }
      tr.appendChild(req);
      tr.appendChild(el("td", who(r)));
      tr.appendChild(detailCell(r.detail));
      tr.appendChild(el("td", took(r.took_ns), "n"));
      frag.appendChild(tr);
    }
    tbody.replaceChildren(frag);
  }

  async function trace(id) {
    $("trace-note").textContent = "asking…";
    try {
      const t = await getJSON(new URL("trace?request=" + encodeURIComponent(id), base));
      const steps = [];
      const notes = [];
      for (const n of t.nodes) {
        for (const s of n.steps) steps.push([n, s]);
        notes.push((n.role || "node") + " " + short(n.node) + ": " + (n.error ? n.error : n.steps.length + " steps"));
      }
      steps.sort((a, b) => Date.parse(a[1].at) - Date.parse(b[1].at));
      const t0 = steps.length ? Date.parse(steps[0][1].at) : 0;
      const frag = document.createDocumentFragment();
      for (const [n, s] of steps) {
        const tr = el("tr");
        tr.appendChild(el("td", (Date.parse(s.at) - t0).toFixed(0), "n"));
        tr.appendChild(el("td", (n.role || "") + " " + short(n.node)));
        tr.appendChild(el("td", s.actor));
        tr.appendChild(el("td", s.dir));
        tr.appendChild(el("td", s.type));
        tr.appendChild(el("td", who(s)));
        tr.appendChild(detailCell(s.detail));
        frag.appendChild(tr);
      }
      $("trace").tBodies[0].replaceChildren(frag);
      $("trace-note").textContent = notes.join(" · ");
    } catch (e) {
      $("trace-note").textContent = e.message;
    }
  }

  $("detail-close").addEventListener("click", () => {
    selected = null;
    $("detail").hidden = true;
    for (const row of rows.values()) row.tr.classList.remove("selected");
  });
  $("trace-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = $("trace-id").value.trim();
    if (id) trace(id);
  });
  poll();
  setInterval(poll, POLL_MS);
})();
