// paperchart indexing workstation: keyboard shortcuts, page view, patient
// search, claim renewal and live batch progress. Plain script, no library.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const token = () => { const m = $('meta[name="csrf-token"]'); return m ? m.content : ""; };
  const page = document.body.dataset.page;

  // typing reports whether a key goes to a field rather than to a shortcut.
  function typing(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return !["radio", "checkbox", "button", "submit"].includes(el.type);
    return false;
  }
  // Scripts of single pages (release.js), loaded after this one, use it too.
  window.paperchart = Object.freeze({ typing });

  // request sends a same-origin request with the session's CSRF token.
  async function request(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRF-Token": token() }, credentials: "same-origin" };
    if (body) { opts.body = body; }
    const resp = await fetch(url, opts);
    if (resp.status === 401 || (resp.redirected && resp.url.includes("/review/login"))) {
      location.href = "/review/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("signed out");
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    return { status: resp.status, data };
  }

  // Help overlay.
  const help = $("#help");
  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
    if (!help.hidden) { const b = $("[data-close]", help); if (b) b.focus(); }
  }
  $$("[data-help]").forEach(b => b.addEventListener("click", () => toggleHelp(true)));
  if (help) {
    help.addEventListener("click", e => { if (e.target === help || e.target.closest("[data-close]")) toggleHelp(false); });
  }

  const handlers = {};
  document.addEventListener("keydown", e => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (help && !help.hidden) {
      if (e.key === "Escape" || e.key === "?") { e.preventDefault(); toggleHelp(false); }
      return;
    }
    if (e.key === "Escape") {
      if (handlers.escape && handlers.escape(e)) return;
      if (document.activeElement && document.activeElement !== document.body) { document.activeElement.blur(); }
      return;
    }
    if (typing(e.target)) {
      if (handlers.fieldKey) handlers.fieldKey(e);
      return;
    }
    if (e.key === "?") { e.preventDefault(); toggleHelp(true); return; }
    if (handlers.key && handlers.key(e)) { e.preventDefault(); swallow = e.key; }
  });
  // A shortcut's own character never lands in the field it focused (some
  // input paths deliver the character apart from the key press).
  let swallow = null;
  document.addEventListener("keypress", e => {
    if (swallow !== null && e.key === swallow) e.preventDefault();
    swallow = null;
  }, true);
  document.addEventListener("keyup", () => { swallow = null; }, true);

  if (page === "queue" || page === "types") queuePage();
  if (page === "document") documentPage();
  if (page === "batches") batchesPage();
  if (page === "search") searchPage();

  // The queue: j/k to mark a row, Enter to open, n for the oldest free one.
  function queuePage() {
    const rows = $$("#queue tbody tr");
    let at = rows.length ? 0 : -1;
    const mark = i => {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((r, j) => r.classList.toggle("marked", j === at));
      rows[at].scrollIntoView({ block: "nearest" });
    };
    if (rows.length) mark(0);
    // Opening a document claims it: a POST (the row's form), never a GET.
    const openRow = r => { const f = $("form.open-form", r); if (f) f.requestSubmit(); else location.href = r.dataset.href; };
    rows.forEach((r, i) => r.addEventListener("click", e => {
      if (e.target.closest("a, button, form")) return;
      mark(i); openRow(r);
    }));
    $$("#filters select").forEach(s => s.addEventListener("change", () => s.form.submit()));
    handlers.key = e => {
      switch (e.key) {
        case "j": case "ArrowDown": mark(at + 1); return true;
        case "k": case "ArrowUp": mark(at - 1); return true;
        case "Enter": case "o": if (at >= 0) { openRow(rows[at]); return true; } return false;
        case "n": { const f = $("#next-form"); if (!f) return false; f.requestSubmit(); return true; }
        case "f": $("#f-source").focus(); return true;
        case "b": location.href = "/review/batches"; return true;
        case "/": location.href = "/review/search"; return true;
      }
      return false;
    };
  }

  // Document search: / to type, Enter searches; j/k or the arrows mark a
  // result, Enter opens it at its page (a GET: looking claims nothing).
  function searchPage() {
    const q = $("#q");
    const rows = $$("#results > li");
    let at = -1;
    const mark = i => {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((r, j) => r.classList.toggle("marked", j === at));
      rows[at].scrollIntoView({ block: "nearest" });
    };
    if (rows.length) mark(0);
    rows.forEach((r, i) => r.addEventListener("click", e => {
      if (e.target.closest("a")) return;
      mark(i); location.href = r.dataset.href;
    }));
    // From the words field, the down arrow goes to the results.
    handlers.fieldKey = e => {
      if (e.target === q && e.key === "ArrowDown" && rows.length) { e.preventDefault(); q.blur(); mark(at < 0 ? 0 : at); }
    };
    handlers.key = e => {
      switch (e.key) {
        case "/": q.focus(); q.select(); return true;
        case "j": case "ArrowDown": mark(at + 1); return true;
        case "k": case "ArrowUp": mark(at - 1); return true;
        case "Enter": case "o": if (at >= 0) { location.href = rows[at].dataset.href; return true; } return false;
        case "q": location.href = "/review/"; return true;
      }
      return false;
    };
  }

  // The document view.
  function documentPage() {
    const doc = $("#doc");
    const open = doc.dataset.open === "1";
    const stage = $("#stage"), ocr = $("#ocr");
    const figures = $$(".page", stage);
    const thumbs = $$(".thumb");
    const state = { cur: 1, zoom: 1, rot: {} };

    // Pages: the current one is the one at the top of the stage.
    function setCurrent(n, scroll) {
      n = Math.max(1, Math.min(figures.length, n));
      state.cur = n;
      figures.forEach(f => f.classList.toggle("current", +f.dataset.n === n));
      thumbs.forEach(t => t.classList.toggle("current", +t.dataset.n === n));
      const fig = figures[n - 1];
      $("#cur").textContent = n;
      if (fig) $("#cur-batch").textContent = "(batch page " + fig.dataset.no + ")";
      const th = thumbs[n - 1];
      if (th) th.scrollIntoView({ block: "nearest" });
      if (scroll && fig) {
        stage.scrollTo({ top: fig.offsetTop - stage.offsetTop - 8 });
        const art = $('.text[data-n="' + n + '"]', ocr);
        if (art && !ocr.hidden) ocr.scrollTo({ top: art.offsetTop - ocr.offsetTop - 8 });
      }
      $$(".page-pick").forEach(s => { const o = $('option[data-n="' + n + '"]', s); if (o) s.value = o.value; });
      const sp = $("#split-page");
      if (sp) { const o = $('option[data-n="' + n + '"]', sp); if (o) sp.value = o.value; }
    }
    stage.addEventListener("scroll", () => {
      const top = stage.scrollTop + 40;
      let n = 1;
      figures.forEach(f => { if (f.offsetTop - stage.offsetTop <= top) n = +f.dataset.n; });
      if (n !== state.cur) setCurrent(n, false);
    }, { passive: true });
    thumbs.forEach(t => t.addEventListener("click", e => { e.preventDefault(); setCurrent(+t.dataset.n, true); }));

    // Zoom (the page's width, fit = the stage's width) and rotation (view only).
    const zooms = [0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3];
    function applyView() {
      figures.forEach(f => {
        f.style.width = (state.zoom * 100) + "%";
        f.style.maxWidth = state.zoom > 1 ? "none" : "100%";
        const img = $("img", f);
        const deg = state.rot[f.dataset.n] || 0;
        let t = deg ? "rotate(" + deg + "deg)" : "";
        if (deg % 180 !== 0 && img.naturalWidth) {
          t += " scale(" + (img.naturalWidth / img.naturalHeight).toFixed(3) + ")";
        }
        img.style.transform = t;
      });
      $("#zoom-label").textContent = state.zoom === 1 ? "fit" : Math.round(state.zoom * 100) + "%";
    }
    function zoom(dir) {
      if (dir === 0) state.zoom = 1;
      else {
        let i = zooms.indexOf(state.zoom) + dir;
        state.zoom = zooms[Math.max(0, Math.min(zooms.length - 1, i))];
      }
      applyView();
      setCurrent(state.cur, true);
    }
    function rotate(deg) {
      state.rot[state.cur] = ((state.rot[state.cur] || 0) + deg + 360) % 360;
      applyView();
    }
    function toggleText() {
      ocr.hidden = !ocr.hidden;
      stage.hidden = !ocr.hidden;
      $("#text-toggle").classList.toggle("on", !ocr.hidden);
      setCurrent(state.cur, true);
    }
    const actions = {
      prev: () => setCurrent(state.cur - 1, true), next: () => setCurrent(state.cur + 1, true),
      zoomin: () => zoom(1), zoomout: () => zoom(-1), fit: () => zoom(0),
      rotl: () => rotate(-90), rotr: () => rotate(90), text: toggleText,
    };
    $$(".vtools [data-act]").forEach(b => b.addEventListener("click", () => { actions[b.dataset.act](); b.blur(); }));

    // Candidates: the ranked ones, then those found by a search.
    const cands = () => $$("#cands .cand[data-n], #found .cand");
    function select(li) {
      if (!li || !open) return;
      cands().forEach(c => c.classList.toggle("selected", c === li));
      const r = $("input[type=radio]", li);
      if (r) r.checked = true;
      li.scrollIntoView({ block: "nearest" });
      $("#confirm-note").textContent = "";
    }
    function move(dir) {
      const list = cands();
      if (!list.length) return;
      const i = list.findIndex(c => c.classList.contains("selected"));
      select(list[i < 0 ? (dir > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, i + dir))]);
    }
    function candidateClicks(root) {
      $$(".cand", root).forEach(li => li.addEventListener("click", e => {
        if (li.classList.contains("none")) return;
        select(li);
        if (e.target.tagName === "INPUT") e.target.blur();
      }));
    }
    candidateClicks($("#cands"));

    // Patient search over the index.
    const search = $("#search"), q = $("#q"), found = $("#found"), note = $("#search-note");
    if (search) search.addEventListener("submit", async e => {
      e.preventDefault();
      const text = q.value.trim();
      if (!text) { note.textContent = "Type an MRN, a name (FAMILY, Given) or a birth date."; return; }
      note.textContent = "Searching…";
      try {
        const { status, data } = await request("GET", "/review/patients?q=" + encodeURIComponent(text));
        found.replaceChildren();
        if (status !== 200) { note.textContent = (data && data.error) || "The search failed."; return; }
        note.textContent = data.length ? data.length + " found: ↓ to go through them, Enter to file." : "Nobody found. Try fewer words, or the birth date alone.";
        data.forEach((p, i) => found.appendChild(foundItem(p, i)));
        candidateClicks(found);
      } catch (err) {
        if (err.message !== "signed out") note.textContent = "The search failed: try again.";
      }
    });
    function foundItem(p, i) {
      const li = document.createElement("li");
      li.className = "cand found";
      li.dataset.id = p.id;
      const label = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio"; radio.name = "patient_id"; radio.value = p.id; radio.setAttribute("form", "decide");
      const k = document.createElement("kbd"); k.className = "n"; k.textContent = "s" + (i + 1);
      const who = document.createElement("span"); who.className = "who";
      const name = document.createElement("strong"); name.className = "pname"; name.textContent = p.family + ", " + p.given;
      const meta = document.createElement("span"); meta.className = "pmeta";
      meta.textContent = "MRN " + p.mrn + (p.birth_date ? " · born " + p.birth_date : "") + (p.sex ? " · " + p.sex : "");
      who.append(name, meta);
      const why = document.createElement("span"); why.className = "prob small muted"; why.textContent = "search";
      label.append(radio, k, who, why);
      li.appendChild(label);
      if (p.why && p.why.length) {
        const chips = document.createElement("div"); chips.className = "chips";
        p.why.forEach(w => { const c = document.createElement("span"); c.className = "chip good"; c.textContent = w; chips.appendChild(c); });
        li.appendChild(chips);
      }
      return li;
    }

    // Confirm: file to the picked patient, then the next document opens.
    function confirm() {
      const form = $("#decide");
      if (!form) return;
      if (!$('input[name="patient_id"]:checked')) {
        $("#confirm-note").textContent = "Pick the patient first: 1–9 or j/k for a candidate, / to search.";
        return;
      }
      $("#confirm").disabled = true;
      form.requestSubmit();
    }
    const decide = $("#decide");
    if (decide) decide.addEventListener("submit", e => {
      if (!$('input[name="patient_id"]:checked')) {
        e.preventDefault();
        $("#confirm").disabled = false;
        $("#confirm-note").textContent = "Pick the patient first: 1–9 or j/k for a candidate, / to search.";
      }
    });

    // Page edits: the key arms the form for the page shown; Enter does it.
    function arm(id, focusSel) {
      $$("form.act").forEach(f => f.classList.toggle("armed", f.id === id));
      const f = $("#" + id);
      if (!f) return;
      const el = $(focusSel, f);
      if (el && !el.disabled) { el.focus(); f.scrollIntoView({ block: "nearest" }); }
    }
    function disarm() {
      const armed = $$("form.act.armed");
      armed.forEach(f => f.classList.remove("armed"));
      return armed.length > 0;
    }
    function armSplit() {
      if (state.cur <= 1) {
        $("#confirm-note").textContent = "Go to the page that starts the new document (→), then press s.";
        return;
      }
      setCurrent(state.cur, false);
      arm("split-form", "button[type=submit]");
    }

    // Moving a filed document (records staff): v opens the dialog, the
    // search finds the patient, the arrows pick one, Esc closes it.
    const dlg = $("#move-dialog");
    function openMove() {
      if (!dlg) return false;
      dlg.showModal();
      $("#move-q").focus();
      return true;
    }
    if (dlg) {
      const mq = $("#move-q"), mfound = $("#move-found"), mnote = $("#move-note");
      $("#move-open").addEventListener("click", openMove);
      $("#move-cancel").addEventListener("click", () => dlg.close());
      const pick = li => {
        $$(".cand", mfound).forEach(c => c.classList.toggle("selected", c === li));
      };
      mfound.addEventListener("change", e => pick(e.target.closest(".cand")));
      async function moveSearch() {
        const text = mq.value.trim();
        if (!text) { mnote.textContent = "Type an MRN, a name (FAMILY, Given) or a birth date."; return; }
        mnote.textContent = "Searching…";
        try {
          const { status, data } = await request("GET", "/review/patients?q=" + encodeURIComponent(text));
          $$(".cand:not([data-keep])", mfound).forEach(li => li.remove());
          if (status !== 200) { mnote.textContent = (data && data.error) || "The search failed."; return; }
          mnote.textContent = data.length ? data.length + " found: ↓ to go through them." : "Nobody found. Try fewer words, or the birth date alone.";
          data.forEach(p => {
            const li = document.createElement("li");
            li.className = "cand found";
            const label = document.createElement("label");
            const radio = document.createElement("input");
            radio.type = "radio"; radio.name = "patient_id"; radio.value = p.id;
            const who = document.createElement("span"); who.className = "who";
            const name = document.createElement("strong"); name.className = "pname"; name.textContent = p.family + ", " + p.given;
            const meta = document.createElement("span"); meta.className = "pmeta";
            meta.textContent = "MRN " + p.mrn + (p.birth_date ? " · born " + p.birth_date : "") + (p.sex ? " · " + p.sex : "");
            who.append(name, meta);
            label.append(radio, who);
            li.appendChild(label);
            mfound.appendChild(li);
          });
        } catch (err) {
          if (err.message !== "signed out") mnote.textContent = "The search failed: try again.";
        }
      }
      $("#move-search").addEventListener("click", moveSearch);
      mq.addEventListener("keydown", e => {
        if (e.key === "Enter") { e.preventDefault(); moveSearch(); }
        if (e.key === "ArrowDown") {
          const first = $(".cand.found input", mfound) || $("input", mfound);
          if (first) { e.preventDefault(); first.focus(); first.checked = true; pick(first.closest(".cand")); }
        }
      });
      // Enter searches: it never submits the move (some input paths deliver
      // the key's character apart from the key press).
      mq.addEventListener("keypress", e => { if (e.key === "Enter") e.preventDefault(); });
      $("#move-filed").addEventListener("submit", () => { $("#move-submit").disabled = true; });
    }

    handlers.escape = () => {
      if (dlg && dlg.open) return false; // the dialog closes itself
      const was = disarm();
      if (document.activeElement && document.activeElement !== document.body) { document.activeElement.blur(); return true; }
      return was;
    };
    handlers.fieldKey = e => {
      if (dlg && dlg.open) return;
      const el = e.target;
      if (el === q && e.key === "ArrowDown") {
        const first = $("#found .cand");
        if (first) { e.preventDefault(); q.blur(); select(first); }
        return;
      }
      if (el.tagName === "SELECT" && e.key === "Enter") {
        e.preventDefault();
        if (el.id === "move-to") { el.form.requestSubmit(); return; }
        el.blur();
        return;
      }
      if (el.id === "service-date" && e.key === "Enter") { e.preventDefault(); el.blur(); }
    };
    handlers.key = e => {
      if (dlg && dlg.open) return false;
      const el = document.activeElement;
      if (e.key === "Enter" && el && (el.tagName === "BUTTON" || el.tagName === "A")) return false; // the button's own action
      if (e.key >= "1" && e.key <= "9") {
        const li = $('#cands .cand[data-n="' + e.key + '"]');
        if (li) select(li);
        return true;
      }
      switch (e.key) {
        case "j": case "ArrowDown": move(1); return true;
        case "k": case "ArrowUp": move(-1); return true;
        case "ArrowRight": case "l": case "PageDown": actions.next(); return true;
        case "ArrowLeft": case "h": case "PageUp": actions.prev(); return true;
        case "+": case "=": zoom(1); return true;
        case "-": zoom(-1); return true;
        case "0": zoom(0); return true;
        case "[": rotate(-90); return true;
        case "]": rotate(90); return true;
        case "o": toggleText(); return true;
      }
      if (!open) {
        // A filed document: records staff move it with v.
        if (e.key === "v" && openMove()) return true;
        // A document in review nobody works on: w (or Enter) takes it.
        const of = $("#open-form");
        if (of && (e.key === "w" || e.key === "Enter")) { of.requestSubmit(); return true; }
        // A filed document whose type waits for a check: t picks, Enter confirms.
        const tc = $("#typecheck");
        if (!tc) return false;
        switch (e.key) {
          case "Enter": $("#confirm-type").disabled = true; tc.requestSubmit(); return true;
          case "t": $("#type").focus(); return true;
        }
        return false;
      }
      switch (e.key) {
        case "Enter": confirm(); return true;
        case "/": q.focus(); q.select(); return true;
        case "t": $("#type").focus(); return true;
        case "d": $("#service-date").focus(); return true;
        case "s": armSplit(); return true;
        case "m": arm("merge-form", "button[type=submit]"); return true;
        case "x": setCurrent(state.cur, false); arm("remove-form", "#remove-reason"); return true;
        case "v": setCurrent(state.cur, false); arm("move-form", "#move-to"); return true;
        case "r": arm("reject-form", "#reject-reason"); return true;
        case "n": $("#skip-form").requestSubmit(); return true;
        case "u": $("#leave-form").requestSubmit(); return true;
      }
      return false;
    };
    $$("form.act").forEach(f => f.addEventListener("focusout", () => setTimeout(() => {
      if (!f.contains(document.activeElement)) f.classList.remove("armed");
    }, 0)));

    // Keep the claim while the person works; let it lapse when they left.
    let active = Date.now();
    ["keydown", "mousedown", "wheel", "scroll"].forEach(ev => document.addEventListener(ev, () => { active = Date.now(); }, { passive: true, capture: true }));
    const renew = +doc.dataset.renew;
    if (open && renew > 0) {
      setInterval(async () => {
        if (Date.now() - active > 3 * renew * 1000) return;
        try {
          const { status, data } = await request("POST", "/review/doc/" + doc.dataset.id + "/claim");
          const note = $("#claim-note");
          if (status === 200 && data && data.claimed_until) {
            const t = new Date(data.claimed_until);
            $("#claim-until").textContent = t.toTimeString().slice(0, 5);
          } else if (note) {
            note.textContent = (data && data.by) ? data.by + " has this document now" : "this document is no longer yours";
            note.classList.add("bad");
          }
        } catch (e) { /* the next tick tries again */ }
      }, renew * 1000);
    }

    figures.forEach(f => { const img = $("img", f); if (img) img.addEventListener("load", applyView); });
    // ?page=N (a search hit) opens the document at that page.
    const want = parseInt(new URLSearchParams(location.search).get("page"), 10);
    if (want > 1 && want <= figures.length) {
      setCurrent(want, true);
      window.addEventListener("load", () => setCurrent(want, true), { once: true });
    } else {
      setCurrent(1, false);
    }
    const sel = $("#cands .cand.selected");
    if (sel) sel.scrollIntoView({ block: "nearest" });
  }

  // Batch progress: refreshed every few seconds while the page is seen.
  function batchesPage() {
    const body = $("#batch-rows"), updated = $("#updated");
    const cell = (cls, text) => { const s = document.createElement("span"); if (cls) s.className = cls; s.textContent = text; return s; };
    function row(b) {
      const tr = document.createElement("tr");
      tr.dataset.id = b.id;
      tr.className = b.trouble ? "trouble" : (b.finished ? "finished" : "");
      const td = (cls) => { const c = document.createElement("td"); if (cls) c.className = cls; tr.appendChild(c); return c; };
      td("num").textContent = b.id;
      const name = td(); name.append(cell("source", b.source), document.createTextNode(" / "), cell("bname", b.name));
      const st = td(); st.appendChild(cell("bstate state-" + b.state, b.state_label));
      if (b.reason) { const d = document.createElement("div"); d.className = "small reason"; d.textContent = b.reason; st.appendChild(d); }
      const pg = td();
      const p1 = document.createElement("progress"); p1.className = "pages"; p1.max = b.pages || 1; p1.value = b.pages_done;
      const s1 = cell("small", "");
      s1.append(cell("pdone", b.pages_done), document.createTextNode(" of "), cell("ptotal", b.pages));
      if (b.pages_failed) { s1.append(document.createTextNode(" · "), cell("bad", b.pages_failed + " failed")); }
      pg.append(p1, s1);
      const dc = td();
      const p2 = document.createElement("progress"); p2.className = "docs"; p2.max = b.documents || 1; p2.value = b.documents_filed;
      const s2 = cell("small", "");
      s2.append(cell("dfiled", b.documents_filed), document.createTextNode(" filed · "), cell("dreview", b.documents_review),
        document.createTextNode(" in review · "), cell("drej", b.documents_rejected), document.createTextNode(" rejected"));
      dc.append(p2, s2);
      const age = td("num small");
      age.textContent = ago(new Date(b.created_at)) + " ago";
      age.title = new Date(b.created_at).toLocaleString();
      return tr;
    }
    function ago(t) {
      const s = Math.max(0, (Date.now() - t.getTime()) / 1000);
      if (s < 60) return Math.round(s) + " s";
      if (s < 3600) return Math.floor(s / 60) + " min";
      if (s < 48 * 3600) return Math.floor(s / 3600) + " h";
      return Math.floor(s / 86400) + " d";
    }
    async function refresh() {
      if (document.hidden) return;
      try {
        const { status, data } = await request("GET", "/review/batches.json");
        if (status !== 200 || !data) { updated.textContent = "could not update: trying again"; return; }
        if (data.batches.length) body.replaceChildren(...data.batches.map(row));
        updated.textContent = "updated " + new Date().toTimeString().slice(0, 8);
      } catch (e) {
        updated.textContent = "could not update: trying again";
      }
    }
    setInterval(refresh, 3000);
    document.addEventListener("visibilitychange", refresh);
    handlers.key = e => {
      if (e.key === "q") { location.href = "/review/"; return true; }
      return false;
    };
  }
})();
