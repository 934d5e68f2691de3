// paperchart release of information: the request list, the review page
// (pages one at a time, redaction boxes drawn by dragging on the page
// image, saved at once) and the confirmation screen. Plain script; the
// pages work without it, except drawing boxes.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const token = () => { const m = $('meta[name="csrf-token"]'); return m ? m.content : ""; };
  const page = document.body.dataset.page;

  const typing = window.paperchart.typing; // app.js, loaded first

  // keys calls handler with each shortcut key (not while typing in a
  // field, not while the help is open); app.js handles ? and Esc in fields.
  function keys(handler) {
    document.addEventListener("keydown", e => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.key === "?") return;
      const help = $("#help");
      if ((help && !help.hidden) || typing(e.target)) return;
      if (handler(e)) e.preventDefault();
    });
  }

  if (page === "release-list") listPage();
  if (page === "release-review") reviewPage();
  if (page === "release-confirm") keys(e => {
    if (e.key === "Escape") { location.href = $("#back").href; return true; }
    return false;
  });

  function listPage() {
    const rows = $$("#requests tbody tr");
    let at = rows.length ? 0 : -1;
    const mark = i => {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((r, j) => r.classList.toggle("marked", j === at));
      rows[at].scrollIntoView({ block: "nearest" });
    };
    mark(0);
    rows.forEach((r, i) => r.addEventListener("click", e => {
      if (e.target.closest("a, button, form")) return;
      mark(i); location.href = r.dataset.href;
    }));
    const status = $("#f-status");
    if (status) status.addEventListener("change", () => status.form.submit());
    keys(e => {
      switch (e.key) {
        case "j": case "ArrowDown": mark(at + 1); return true;
        case "k": case "ArrowUp": mark(at - 1); return true;
        case "Enter": case "o": if (at >= 0) { location.href = rows[at].dataset.href; return true; } return false;
        case "c": location.href = "/review/release/new"; return true;
        case "f": if (status) { status.focus(); return true; } return false;
      }
      return false;
    });
  }

  function reviewPage() {
    const root = $("#release");
    const id = root.dataset.id;
    const editable = root.dataset.editable === "1";
    const stage = $("#stage");
    const figs = $$(".rpage", stage);
    const pos = $("#pos"), saved = $("#saved");
    stage.classList.add("js");
    let cur = 0;

    const boxesOf = f => { try { return JSON.parse(f.dataset.boxes || "[]"); } catch (e) { return []; } };
    function draw(f) {
      const canvas = $(".canvas", f);
      $$(".rbox", canvas).forEach(b => b.remove());
      boxesOf(f).forEach(b => canvas.appendChild(boxEl(b)));
    }
    function boxEl(b, cls) {
      const el = document.createElement("div");
      el.className = "rbox" + (cls ? " " + cls : "");
      place(el, b);
      return el;
    }
    function place(el, b) {
      el.style.left = (b.x0 * 100) + "%";
      el.style.top = (b.y0 * 100) + "%";
      el.style.width = ((b.x1 - b.x0) * 100) + "%";
      el.style.height = ((b.y1 - b.y0) * 100) + "%";
    }
    function show(i) {
      if (!figs.length) return;
      cur = Math.max(0, Math.min(figs.length - 1, i));
      figs.forEach((f, j) => f.classList.toggle("current", j === cur));
      const f = figs[cur];
      pos.textContent = "page " + (cur + 1) + " of " + figs.length;
      $$("#rdocs li").forEach(li => li.classList.toggle("current", li.dataset.doc === f.dataset.doc));
      stage.scrollTop = 0;
    }
    async function save(f) {
      const body = new URLSearchParams();
      body.set("document", f.dataset.doc);
      body.set("page", f.dataset.no);
      body.set("boxes", f.dataset.boxes || "[]");
      saved.textContent = "saving…";
      try {
        const resp = await fetch("/review/release/" + id + "/boxes", {
          method: "POST", credentials: "same-origin", body,
          headers: { "Accept": "application/json", "X-CSRF-Token": token() },
        });
        saved.textContent = resp.ok ? "boxes saved" : "not saved (" + resp.status + ")";
        saved.classList.toggle("bad", !resp.ok);
      } catch (e) {
        saved.textContent = "not saved: no connection";
        saved.classList.add("bad");
      }
    }
    function setBoxes(f, boxes) {
      f.dataset.boxes = JSON.stringify(boxes);
      draw(f);
      save(f);
      counts();
    }
    // counts shows how many boxes there are, in all and per document.
    function counts() {
      const all = $("#box-count");
      if (all) all.textContent = figs.reduce((n, f) => n + boxesOf(f).length, 0);
      $$(".doc-boxes").forEach(s => {
        s.textContent = figs.filter(f => f.dataset.doc === s.dataset.doc).reduce((n, f) => n + boxesOf(f).length, 0);
      });
    }

    figs.forEach(f => {
      draw(f);
      if (!editable) return;
      const canvas = $(".canvas", f);
      let start = null, el = null;
      const at = e => {
        const r = canvas.getBoundingClientRect();
        return { x: Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)), y: Math.max(0, Math.min(1, (e.clientY - r.top) / r.height)) };
      };
      const rect = (a, b) => ({ x0: Math.min(a.x, b.x), y0: Math.min(a.y, b.y), x1: Math.max(a.x, b.x), y1: Math.max(a.y, b.y) });
      canvas.addEventListener("mousedown", e => {
        if (e.button !== 0) return;
        e.preventDefault();
        start = at(e);
        el = boxEl({ x0: start.x, y0: start.y, x1: start.x, y1: start.y }, "drawing");
        canvas.appendChild(el);
      });
      window.addEventListener("mousemove", e => { if (start) place(el, rect(start, at(e))); });
      window.addEventListener("mouseup", e => {
        if (!start) return;
        const b = rect(start, at(e));
        start = null; el.remove(); el = null;
        if (b.x1 - b.x0 < 0.003 || b.y1 - b.y0 < 0.003) return;
        const round = v => Math.round(v * 10000) / 10000;
        setBoxes(f, boxesOf(f).concat([{ x0: round(b.x0), y0: round(b.y0), x1: round(b.x1), y1: round(b.y1) }]));
      });
    });
    show(0);

    const act = {
      next: () => show(cur + 1),
      prev: () => show(cur - 1),
      undo: () => { const f = figs[cur]; if (f) { const b = boxesOf(f); if (b.length) { b.pop(); setBoxes(f, b); } } },
      clear: () => { const f = figs[cur]; if (f && boxesOf(f).length) setBoxes(f, []); },
    };
    $$(".vtools [data-act]").forEach(b => b.addEventListener("click", () => act[b.dataset.act]()));
    keys(e => {
      switch (e.key) {
        case "j": case "ArrowRight": case "ArrowDown": case "PageDown": act.next(); return true;
        case "k": case "ArrowLeft": case "ArrowUp": case "PageUp": act.prev(); return true;
        case "Home": show(0); return true;
        case "End": show(figs.length - 1); return true;
        case "u": if (editable) { act.undo(); return true; } return false;
        case "x": {
          const f = figs[cur];
          const form = f && $("#d" + f.dataset.doc + " .exclude-form");
          if (form) { form.requestSubmit(); return true; }
          return false;
        }
        case "p": { const a = $("#preview"); if (a) { a.click(); return true; } return false; }
        case "r": { const a = $("#to-confirm"); if (a) { location.href = a.href; return true; } return false; }
        case "d": { const i = $("#deny-reason"); if (i) { i.focus(); return true; } return false; }
      }
      return false;
    });
  }
})();
