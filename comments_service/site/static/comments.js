/* Article comments: keeps the baked thread current, posts the form in place, fills list
   counts; no framework, no other host. Set up once (Material re-runs it on instant
   navigation), then reacts to each page through document$. */
(function () {
  "use strict";
  if (window.commentsScript) return;
  window.commentsScript = true;

  /* Every sentence comes from the page's #comments-i18n block, in the site's language
     (site/script_messages.py): t(key, {name: ...}, n), n picking a plural form. */
  var LANG = document.documentElement.lang || "en", L = {};
  try { L = JSON.parse(document.getElementById("comments-i18n").textContent); } catch (e) { /* keys show */ }
  function t(key, vars, n) {
    var s = L[key];
    if (s && typeof s === "object") s = s[new Intl.PluralRules(LANG).select(n)] || s.other;
    return String(s == null ? key : s).replace(/\{(\w+)\}/g, function (m, k) {
      return k === "n" ? n : vars && vars[k] != null ? vars[k] : m;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  // The bake writes UTC; the reader sees their own time, in the page's language.
  function displayTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    return new Intl.DateTimeFormat(LANG, { day: "numeric", month: "long", year: "numeric",
      hour: "2-digit", minute: "2-digit" }).format(d);
  }

  function countText(n) { return n === 0 ? t("none") : t("count", null, n); }

  function api(section, path) {
    return (section.getAttribute("data-service") || "") + path;
  }

  // no-cache: revalidated by ETag, an unchanged thread costs a 304 from either host.
  function getJSON(url) {
    return fetch(url, { cache: "no-cache", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      });
  }

  /* The static copy the bake writes beside the pages (data-static, comments-data/) is the
     service's own answer, re-written within seconds of every staff action, and costs the
     service nothing; the API answers where there is none (a site built without the
     database, or static threads turned off). */
  function staticFirst(holder, file, path) {
    var base = holder.getAttribute("data-static");
    var live = function () { return getJSON(api(holder, path)); };
    return base ? getJSON(base + file).catch(live) : live();
  }

  /* Mirrors templates/_comments.html. Only body_html, which the service sanitised when the
     comment was written, is inserted as HTML; everything else is text. */
  function buildItem(c, open) {
    var li = el("li", "cs-item");
    li.setAttribute("data-comment-id", c.id);
    var art = el("article", "cs-comment" + (c.staff ? " cs-staff" : ""));
    art.id = "comment-" + c.id;
    var meta = el("header", "cs-meta");
    meta.appendChild(el("bdi", "cs-author", c.author));
    if (c.staff) {
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("strong", "cs-badge", t("staff")));
    }
    meta.appendChild(document.createTextNode(" "));
    var anchor = el("a", "cs-anchor");
    anchor.href = "#comment-" + c.id;
    var time = el("time", null, displayTime(c.created_at));
    time.setAttribute("datetime", c.created_at);
    anchor.appendChild(time);
    meta.appendChild(anchor);
    meta.appendChild(el("a", "cs-report", t("report"))).href =
      api(document.getElementById("comments"), "/comments/" + c.id + "/report");
    art.appendChild(meta);
    var body = el("div", "cs-body");
    body.setAttribute("data-nosnippet", "");
    body.innerHTML = c.body_html;
    if (c.content_note) {
      // Folded, as baked: the reader chooses to open a comment staff marked as difficult.
      var details = el("details", "cs-note");
      details.appendChild(el("summary", null, t("note", { note: c.content_note })));
      details.appendChild(body);
      art.appendChild(details);
    } else {
      art.appendChild(body);
    }
    if (c.staff && c.signature) art.appendChild(el("p", "cs-signature", c.signature));
    var actions = el("p", "cs-actions");
    actions.hidden = !open;
    var reply = el("a", "cs-reply", t("reply"));
    reply.href = "#comment-form";
    reply.setAttribute("data-reply", c.id);
    reply.appendChild(el("span", "cs-sr", " " + t("to", { author: c.author })));
    actions.appendChild(reply);
    art.appendChild(actions);
    li.appendChild(art);
    return li;
  }

  // A comment's content note as the page shows it, so a note added or removed after the
  // bake counts as a change to the thread (the comment is rebuilt, not just moved).
  function noteKey(note) { return note ? "[" + note + "]" : ""; }

  function domNote(li) {
    var summary = li.querySelector(":scope > article > details.cs-note > summary");
    var pre = t("note", { note: "" });
    return summary ? summary.textContent.replace(pre, "") : "";
  }

  function shape(list, kids) {
    return list.map(function (c) {
      var sub = kids[c.id];
      return c.id + noteKey(c.content_note) + (sub ? "(" + shape(sub, kids) + ")" : "");
    }).join(",");
  }

  function domShape(ol) {
    if (!ol) return "";
    var parts = [];
    for (var li = ol.firstElementChild; li; li = li.nextElementSibling) {
      if (!li.hasAttribute("data-comment-id")) continue;
      var sub = li.querySelector(":scope > ol.cs-replies");
      var inner = domShape(sub);
      parts.push(li.getAttribute("data-comment-id") + noteKey(domNote(li)) +
        (inner ? "(" + inner + ")" : ""));
    }
    return parts.join(",");
  }

  /* Makes the thread match the service's list: comments approved since the build appear
     in place, removed ones disappear. Existing nodes are moved, not rebuilt, so a reader's
     place and the form (which may sit under a comment) survive. */
  function reconcile(section, comments, total) {
    var open = section.getAttribute("data-state") === "open";
    var thread = section.querySelector(".cs-thread");
    if (!thread) {
      thread = el("div", "cs-thread");
      section.querySelector(".cs-count").after(thread);
    }
    var ids = {}, kids = {}, roots = [];
    comments.forEach(function (c) { ids[c.id] = true; });
    comments.forEach(function (c) {
      if (c.parent_id != null && ids[c.parent_id]) (kids[c.parent_id] = kids[c.parent_id] || []).push(c);
      else roots.push(c);
    });
    // The editor's order (the static file is oldest first).
    var dir = section.getAttribute("data-order") === "newest" ? -1 : 1;
    roots.sort(function (a, b) {
      return dir * (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id - b.id);
    });
    var root = thread.querySelector(":scope > ol.cs-list");
    if (shape(roots, kids) !== domShape(root)) {
      var existing = {};
      thread.querySelectorAll("li.cs-item").forEach(function (li) {
        existing[li.getAttribute("data-comment-id")] = li;
      });
      var form = section.querySelector(".cs-form");
      if (form && form.closest("li.cs-item") && !ids[form.closest("li.cs-item").getAttribute("data-comment-id")]) {
        resetReply(section, false);
      }
      var build = function (list, className) {
        var ol = el("ol", className);
        list.forEach(function (c) {
          var li = existing[c.id];
          if (li && domNote(li) !== (c.content_note || "")) {
            var rebuilt = buildItem(c, open);
            // The form may sit under this comment; keep it where the reader left it.
            var openForm = li.querySelector(":scope > .cs-form");
            if (openForm) rebuilt.appendChild(openForm);
            li = rebuilt;
          }
          li = li || buildItem(c, open);
          var old = li.querySelector(":scope > ol.cs-replies");
          var sub = kids[c.id] ? build(kids[c.id], "cs-list cs-replies") : null;
          if (old && sub) old.replaceWith(sub);
          else if (old) old.remove();
          else if (sub) li.appendChild(sub);
          ol.appendChild(li);
        });
        return ol;
      };
      // Moving a node blurs whatever is focused inside it: a reader who pressed Reply
      // while this load was on its way would lose the caret in the textarea.
      var active = document.activeElement;
      var kept = active && thread.contains(active) ? active : null;
      var caret = kept && typeof kept.selectionStart === "number" ?
        [kept.selectionStart, kept.selectionEnd] : null;
      var fresh = build(roots, "cs-list");
      if (root) root.replaceWith(fresh);
      else thread.insertBefore(fresh, thread.querySelector(":scope > .cs-more"));
      if (!roots.length) fresh.remove();
      if (kept && kept.isConnected && document.activeElement !== kept) {
        kept.focus({ preventScroll: true });
        if (caret) kept.setSelectionRange(caret[0], caret[1]);
      }
    }
    var count = section.querySelector(".cs-count");
    if (total == null) total = comments.length;
    count.setAttribute("data-count", total);
    count.textContent = countText(total);
    section.querySelectorAll(".cs-thread time[datetime]").forEach(function (tm) {
      tm.textContent = displayTime(tm.getAttribute("datetime"));
    });
    showPending(section);
  }

  function load(section, announce) {
    var id = section.getAttribute("data-article-id");
    var st = state(section);
    var roots = section.querySelectorAll(".cs-thread > ol > li[data-comment-id]").length;
    var got = st.on ? getJSON(pageURL(section, roots > st.limit ? "&limit=" + roots : "")) :
      staticFirst(section, encodeURIComponent(id) + ".json",
        "/api/articles/" + encodeURIComponent(id) + "/comments");
    return got.then(function (data) {
      var fresh = took(section, Array.isArray(data) ? { comments: data } : data, announce);
      findTarget(section);
      return fresh;
    }).catch(function () {
      // The baked thread stays as it is; nothing to tell the reader unless it is empty.
      var count = section.querySelector(".cs-count");
      if (count && count.getAttribute("data-count") === "") {
        count.textContent = t("loadFailed");
      }
    });
  }

  // After loading, a link to #comment-ID may point at a comment that was not baked yet.
  function showTarget(section) {
    var hash = location.hash.slice(1);
    if (/^comment-\d+$/.test(hash)) {
      var target = document.getElementById(hash);
      if (target && section.contains(target)) target.scrollIntoView();
    }
  }

  // Big threads, live updates and the reader's own pending comments ---------------------

  // A long thread is baked a page at a time (.cs-more); more pages come by cursor.
  function state(section) {
    if (!section.csState) {
      section.csState = { on: !!section.querySelector(".cs-more"), limit: 50, next: null,
        comments: null, delay: 0, timer: 0 };
    }
    return section.csState;
  }

  function pageURL(section, extra) {
    return api(section, "/api/articles/" + encodeURIComponent(section.getAttribute("data-article-id")) +
      "/comments?order=" + (section.getAttribute("data-order") || "oldest") + extra);
  }

  function took(section, data, announce) {
    var st = state(section);
    var count = section.querySelector(".cs-count");
    var before = Number(count.getAttribute("data-count")) || 0;
    st.comments = data.comments || [];
    st.next = data.next_cursor || null;
    if (data.limit) st.limit = data.limit;
    var total = typeof data.count === "number" ? data.count : st.comments.length;
    reconcile(section, st.comments, total);
    updateMore(section);
    var fresh = total - before;
    if (announce && fresh > 0) speak(section, t("fresh", null, fresh));
    return fresh;
  }

  function speak(section, text) {
    var live = section.querySelector(".cs-live");
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function updateMore(section) {
    var st = state(section);
    var thread = section.querySelector(".cs-thread");
    var more = thread && thread.querySelector(":scope > .cs-more");
    if (!st.comments) return;
    if (!st.next) { if (more) more.remove(); return; }
    if (!more) more = thread.appendChild(el("p", "cs-more"));
    if (more.querySelector("button")) return;
    more.textContent = "";
    var button = more.appendChild(el("button", "md-button cs-more-link", t("more")));
    button.type = "button";
    button.addEventListener("click", function () { loadMore(section, button); });
  }

  function loadMore(section, button) {
    var st = state(section);
    if (!st.next || button.disabled) return;
    button.disabled = true;
    getJSON(pageURL(section, "&cursor=" + encodeURIComponent(st.next))).then(function (data) {
      var seen = {};
      st.comments.forEach(function (c) { seen[c.id] = true; });
      var added = (data.comments || []).filter(function (c) { return !seen[c.id]; });
      took(section, { comments: st.comments.concat(added), next_cursor: data.next_cursor,
        count: data.count });
      var first = added[0] && document.getElementById("comment-" + added[0].id);
      if (first) { first.tabIndex = -1; first.focus(); }
    }).catch(function () {
      speak(section, t("moreFailed"));
    }).then(function () { button.disabled = false; });
  }

  // #comment-N on a later page: ask for the pages up to it.
  function findTarget(section) {
    var st = state(section);
    var match = /^comment-(\d+)$/.exec(location.hash.slice(1));
    if (!match || document.getElementById(match[0]) || !st.on || st.looked === match[1]) {
      return showTarget(section);
    }
    st.looked = match[1];
    getJSON(pageURL(section, "&around=" + match[1])).then(function (data) {
      took(section, data);
      showTarget(section);
    }, function () {});
  }

  // Polls by ETag (304s), never in a hidden tab, less often while nothing changes.
  function poll(section, soon) {
    var st = state(section);
    var base = (Number(section.getAttribute("data-poll")) || 30) * 1000;
    window.clearTimeout(st.timer);
    st.timer = window.setTimeout(function () {
      if (!section.isConnected) return;
      if (document.hidden) { st.hidden = true; return; }
      load(section, true).then(function (fresh) {
        st.delay = fresh ? base : Math.min((st.delay || base) * 2, base * 10);
        poll(section);
      });
    }, soon ? 1 : st.delay || base);
  }

  document.addEventListener("visibilitychange", function () {
    var section = document.querySelector(".cs-comments[data-ready]");
    var st = section && section.csState;
    if (!document.hidden && st && st.hidden) {
      st.hidden = false;
      st.delay = 0;
      poll(section, true);
    }
  });

  // The reader's own pending comment, in this tab only (a shared computer forgets it).
  function pendingKey(section) { return "cs-pending:" + section.getAttribute("data-article-id"); }

  function pendingList(section) {
    try { return JSON.parse(window.sessionStorage.getItem(pendingKey(section))) || []; }
    catch (e) { return []; }
  }

  function remember(section, form, data) {
    var list = pendingList(section);
    list.push({ id: data.id, author: form.elements.author.value.trim(),
      body: form.elements.body.value.trim(), parent: form.elements.parent_id.value || null,
      at: Date.now() });
    try { window.sessionStorage.setItem(pendingKey(section), JSON.stringify(list)); }
    catch (e) { /* storage off: the notice still says it was received */ }
  }

  function showPending(section) {
    section.querySelectorAll("li.cs-pending").forEach(function (li) { li.remove(); });
    var st = state(section);
    var published = {};
    (st.comments || []).forEach(function (c) { published[c.id] = true; });
    var list = pendingList(section).filter(function (p) {
      return !published[p.id] && Date.now() - p.at < 864e5;
    });
    try { window.sessionStorage.setItem(pendingKey(section), JSON.stringify(list)); }
    catch (e) { /* as above */ }
    var thread = section.querySelector(".cs-thread");
    list.forEach(function (p) {
      var li = el("li", "cs-item cs-pending");
      var art = li.appendChild(el("article", "cs-comment"));
      var meta = art.appendChild(el("header", "cs-meta"));
      meta.appendChild(el("bdi", "cs-author", p.author));
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("strong", "cs-badge cs-badge--pending", t("awaiting")));
      var body = art.appendChild(el("div", "cs-body"));
      p.body.split(/\n\s*\n/).forEach(function (part) { body.appendChild(el("p", null, part)); });
      art.appendChild(el("p", "cs-hint", t("onlyYou")));
      var parent = p.parent && section.querySelector('li[data-comment-id="' + p.parent + '"]');
      var ol = parent ? parent.querySelector(":scope > ol.cs-replies") :
        thread.querySelector(":scope > ol.cs-list");
      if (!ol) {
        ol = el("ol", parent ? "cs-list cs-replies" : "cs-list");
        if (parent) parent.appendChild(ol);
        else thread.insertBefore(ol, thread.querySelector(":scope > .cs-more"));
      }
      if (!parent && section.getAttribute("data-order") === "newest") ol.prepend(li);
      else ol.appendChild(li);
    });
  }

  function applyMail(section, status) {
    var field = section.querySelector(".cs-notify");
    if (field && status.mail != null) field.hidden = !status.mail;
  }

  // Form ----------------------------------------------------------------------------------

  function control(form, name) {
    var c = form.elements[name];
    return c && c.type !== "hidden" ? c : null;
  }

  function clearErrors(form) {
    form.querySelectorAll(".cs-error").forEach(function (e) { e.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (c) {
      c.removeAttribute("aria-invalid");
      var ids = (c.getAttribute("aria-describedby") || "").split(" ").filter(function (x) {
        return x && x.slice(-6) !== "-error";
      });
      if (ids.length) c.setAttribute("aria-describedby", ids.join(" "));
      else c.removeAttribute("aria-describedby");
    });
  }

  /* Shows each message under its field and returns the first field at fault; messages for
     fields the form does not have go to the status region instead. */
  function showErrors(form, errors, status) {
    var first = null, general = [];
    Object.keys(errors).forEach(function (name) {
      var c = control(form, name);
      var message = String(errors[name]);
      if (!c) { general.push(message); return; }
      var err = el("p", "cs-error", message);
      err.id = c.id + "-error";
      var field = c.closest(".cs-field");
      if (c.type === "checkbox") field.appendChild(err);
      else c.before(err);
      c.setAttribute("aria-invalid", "true");
      var described = c.getAttribute("aria-describedby");
      c.setAttribute("aria-describedby", (described ? described + " " : "") + err.id);
      if (!first) first = c;
    });
    var count = Object.keys(errors).length - general.length;
    var text = count ? t("fields", null, count) : "";
    say(status, (text + " " + general.join(" ")).trim(), true);
    return first;
  }

  function say(status, text, isError) {
    status.textContent = "";
    status.classList.toggle("cs-status--error", !!isError);
    // A fresh text node after clearing makes screen readers announce repeated messages.
    // A refusal takes focus, unless a field at fault already has it.
    window.setTimeout(function () {
      status.textContent = text;
      if (isError && document.activeElement === document.body) status.focus();
    }, 50);
  }

  function checkLocally(form) {
    var errors = {};
    if (!form.elements.author.value.trim()) errors.author = t("needName");
    var email = form.elements.email.value.trim();
    if (!email) errors.email = t("needEmail");
    else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) errors.email = t("badEmail");
    if (!form.elements.body.value.trim()) errors.body = t("needBody");
    if (!form.elements.accept_terms.checked) errors.accept_terms = t("needTerms");
    return errors;
  }

  function minutesText(seconds) {
    var minutes = Math.max(1, Math.ceil(seconds / 60));
    return t("minutes", null, minutes);
  }

  function payload(form) {
    var data = {};
    ["author", "email", "body", "website", "form_token"].forEach(function (n) {
      if (form.elements[n]) data[n] = form.elements[n].value;
    });
    var parent = form.elements.parent_id.value;
    data.parent_id = parent ? Number(parent) : null;
    data.notify = form.elements.notify.checked;
    data.accept_terms = form.elements.accept_terms.checked;
    return data;
  }

  function submit(section, form, event) {
    event.preventDefault();
    var status = form.querySelector(".cs-status");
    var button = form.querySelector("button[type=submit]");
    if (button.disabled) return;
    clearErrors(form);
    var local = checkLocally(form);
    if (Object.keys(local).length) {
      var bad = showErrors(form, local, status);
      if (bad) bad.focus();
      return;
    }
    button.disabled = true;
    say(status, t("sending"), false);
    var id = section.getAttribute("data-article-id");
    fetch(api(section, "/api/articles/" + encodeURIComponent(id) + "/comments"), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload(form))
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        handleResponse(section, form, status, res, data);
      });
    }).catch(function () {
      say(status, t("noAnswer"), true);
    }).then(function () { button.disabled = false; });
  }

  function handleResponse(section, form, status, res, data) {
    var kept = " " + t("kept");
    // A trusted regular's comment is published at once (status "approved"): nothing to
    // keep as pending; the thread is loaded again to show it.
    var published = res.ok && data && data.status === "approved";
    if (res.ok && data && data.id && !published) { remember(section, form, data); showPending(section); }
    if (res.ok && data && data.crisis_message && showUrgent(section, data)) {
      // Flagged urgent: the crisis alert, not the thank-you box.
      form.elements.body.value = "";
      form.elements.accept_terms.checked = false;
      resetReply(section, false);
      say(status, t("sentWaiting"), false);
      return;
    }
    if (res.ok) {
      var notice = section.querySelector("#comment-pending");
      var message = (data && data.message) || t("thanks");
      notice.textContent = "";
      // An urgent comment's message starts with the crisis notice, a blank line apart.
      message.split(/\n\s*\n/).forEach(function (part) { notice.appendChild(el("p", null, part)); });
      notice.classList.add("cs-notice--shown");
      form.elements.body.value = "";
      form.elements.accept_terms.checked = false;
      resetReply(section, false);
      // The notice (just above the form) takes focus and is read out; the live region
      // adds a short confirmation for those who stay in the form.
      say(status, t(published ? "sentPublished" : "sentWaiting"), false);
      notice.focus();
      if (published) load(section, false);
      return;
    }
    var errors = data && data.errors;
    if (errors && typeof errors === "object" && Object.keys(errors).length) {
      var bad = showErrors(form, errors, status);
      if (bad) bad.focus();
      return;
    }
    var detail = data && data.detail;
    var text;
    if (res.status === 403) {
      text = t("closed");
      // Or paused site-wide since the page loaded: then the form gives way to the notice.
      checkStatus(section).then(function (now) {
        var block = section.querySelector(".cs-paused");
        if (!now || !now.paused || !block || block.querySelector(".cs-kept")) return;
        // The form is hidden now; keep what the reader wrote in front of them to copy.
        var label = el("label", null, t("notSent"));
        label.setAttribute("for", "cs-kept");
        var copy = el("textarea", "cs-kept");
        copy.id = "cs-kept";
        copy.readOnly = true;
        copy.rows = 4;
        copy.value = form.elements.body.value;
        block.appendChild(label);
        block.appendChild(copy);
        copy.focus();
      });
    } else if (res.status === 429) {
      var wait = parseInt(res.headers.get("Retry-After"), 10);
      text = t("tooMany", { wait: minutesText(isNaN(wait) ? 600 : wait) }) + kept;
    } else if (res.status === 413) {
      text = t("tooLong") + kept;
    } else {
      text = (typeof detail === "string" ? detail + " " : t("failed", { status: res.status })) +
        kept;
    }
    say(status, text, true);
  }

  // Crisis signposting, pause and staffed hours ----------------------------------------

  /* The alert baked into the page (#comment-urgent), shown in place of the thank-you box
     and scrolled fully into view below Material's sticky header (scroll-margin-top). */
  function showUrgent(section, data) {
    var alert = section.querySelector("#comment-urgent");
    if (!alert) return false;
    var notice = section.querySelector("#comment-pending");
    if (notice) notice.classList.remove("cs-notice--shown");
    var message = alert.querySelector(".cs-alert-message");
    if (message && data.crisis_message) message.textContent = data.crisis_message;
    alert.classList.add("cs-alert--shown");
    alert.focus({ preventScroll: true });
    alert.scrollIntoView({ block: "start" });
    return true;
  }

  function helpList(section) {
    var list = section.querySelector("#comment-urgent .cs-help-list");
    return list ? list.cloneNode(true) : el("ul", "cs-help-list");
  }

  /* Paused: the form gives way to the crisis resources (comments.css hides what follows
     .cs-paused). A page baked while paused opens again once the service says so. */
  function applyPause(section, status) {
    var block = section.querySelector(".cs-paused");
    if (!status.paused) {
      if (block) block.remove();
      return;
    }
    if (!block) {
      block = el("div", "cs-paused");
      block.id = "comments-paused";
      var line = el("p", "cs-paused-message");
      line.appendChild(el("strong", null, t("paused")));
      line.appendChild(document.createTextNode(" "));
      line.appendChild(el("span", null, ""));
      block.appendChild(line);
      block.appendChild(el("p", null, t("helpNow")));
      block.appendChild(helpList(section));
      var before = section.querySelector("#comment-pending") ||
        section.querySelector(".cs-form-home");
      if (before) section.insertBefore(block, before);
      else section.appendChild(block);
    }
    var text = block.querySelector(".cs-paused-message span");
    if (text && status.pause_message) text.textContent = status.pause_message;
  }

  /* Outside staffed hours: when the next reply can come, and every resource up front. */
  function applyStaffed(section, status) {
    var form = section.querySelector(".cs-form");
    if (!form) return;
    var prominent = form.querySelector(".cs-offhours-help");
    section.classList.toggle("cs-comments--offhours", !status.staffed);
    if (status.staffed) {
      if (prominent) prominent.remove();
      return;
    }
    var note = form.querySelector(".cs-offhours");
    if (!note) {
      note = el("p", "cs-offhours");
      var after = form.querySelector(".cs-danger-line") || form.querySelector(".cs-crisis");
      if (after) after.after(note);
    }
    note.textContent = t("offhours", { when: status.next_staffed_text || t("nextTime") });
    if (!prominent) {
      prominent = el("div", "cs-offhours-help");
      prominent.appendChild(el("p", null, t("helpBefore")));
      prominent.appendChild(helpList(section));
      note.after(prominent);
    }
  }

  function checkStatus(section) {
    return fetch(api(section, "/api/status"), { headers: { Accept: "application/json" } })
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.json(); })
      .then(function (status) {
        applyPause(section, status);
        applyStaffed(section, status);
        applyMail(section, status);
        return status;
      })
      // The baked page already says something sensible; the post path refuses when paused.
      .catch(function () {});
  }

  // Replies: the one form moves under the comment being answered ------------------------

  function resetReply(section, focusBack) {
    var form = section.querySelector(".cs-form");
    var home = section.querySelector(".cs-form-home");
    if (!form || !home) return;
    var from = form.elements.parent_id.value;
    form.elements.parent_id.value = "";
    form.querySelector(".cs-replying").hidden = true;
    form.querySelector(".cs-cancel").hidden = true;
    if (form.parentNode !== home) home.appendChild(form);
    if (focusBack && from) {
      var link = section.querySelector('.cs-reply[data-reply="' + from + '"]');
      if (link) link.focus();
    }
  }

  function startReply(section, link) {
    var form = section.querySelector(".cs-form");
    var li = link.closest("li.cs-item");
    var author = li.querySelector(".cs-author").textContent;
    form.elements.parent_id.value = link.getAttribute("data-reply");
    var note = form.querySelector(".cs-replying");
    // First-strong isolates (U+2068, U+2069): the name's direction stays inside them.
    note.textContent = t("replying", { author: "\u2068" + author + "\u2069" });
    note.hidden = false;
    form.querySelector(".cs-cancel").hidden = false;
    li.querySelector(":scope > article").after(form);
    form.elements.body.focus();
  }

  /* The service counts a name's characters as Unicode code points, but maxlength counts
     UTF-16 code units, in which an emoji or a rare CJK character takes two: without the
     script the page is only stricter than the service; with it, the page counts as the
     service does (maxlength moves to data-max-chars, and longer input is cut there). */
  function limitByCodePoints(form) {
    form.querySelectorAll("input[maxlength]").forEach(function (input) {
      var max = Number(input.getAttribute("maxlength"));
      input.removeAttribute("maxlength");
      input.setAttribute("data-max-chars", String(max));
      input.addEventListener("input", function () {
        var chars = Array.from(input.value);
        if (chars.length > max) input.value = chars.slice(0, max).join("");
      });
    });
  }

  function setUpForm(section) {
    var form = section.querySelector(".cs-form");
    if (!form) return;
    form.noValidate = true;
    limitByCodePoints(form);
    form.addEventListener("submit", function (event) { submit(section, form, event); });
    form.querySelector(".cs-cancel").addEventListener("click", function () {
      resetReply(section, true);
    });
    section.addEventListener("click", function (event) {
      var link = event.target.closest(".cs-reply");
      if (!link) return;
      event.preventDefault();
      // Material's instant navigation also handles same-page links on the document and
      // would re-render the page, sending the form back home.
      event.stopPropagation();
      startReply(section, link);
    });
    section.querySelectorAll(".cs-actions").forEach(function (a) { a.hidden = false; });
  }

  // Counts on article lists (home page) -------------------------------------------------

  /* Home page items carry data-article-id; tag pages list plain links, matched through
     the holder's map of link -> article id. */
  function fillCounts(holder) {
    var map = {};
    try { map = JSON.parse(holder.getAttribute("data-articles") || "{}"); } catch (e) { /* none */ }
    var slots = [];
    document.querySelectorAll("li[data-article-id]").forEach(function (item) {
      slots.push([item.getAttribute("data-article-id"), item.querySelector("p:last-of-type") || item]);
    });
    if (!slots.length) {
      // Compare paths: instant navigation rewrites links to absolute URLs.
      var byPath = {};
      Object.keys(map).forEach(function (href) { byPath[new URL(href, location.href).pathname] = map[href]; });
      document.querySelectorAll(".md-content li > a[href]").forEach(function (a) {
        var id = byPath[a.pathname];
        if (id) slots.push([id, a.parentNode]);
      });
    }
    if (!slots.length) return;
    var ids = [];
    slots.forEach(function (s) { if (ids.indexOf(s[0]) < 0) ids.push(s[0]); });
    // counts.json holds every article's count: one file for any list page.
    staticFirst(holder, "counts.json", "/api/counts?" +
      ids.map(function (id) { return "article=" + encodeURIComponent(id); }).join("&"))
      .then(function (counts) {
        slots.forEach(function (s) {
          var n = counts[s[0]];
          if (typeof n !== "number") return;
          var span = s[1].querySelector(":scope > .cs-list-count");
          if (!span) {
            s[1].appendChild(document.createTextNode(" "));
            span = s[1].appendChild(el("span", "cs-list-count"));
          }
          span.textContent = "\u00b7 " + t("count", null, n);
        });
      })
      .catch(function () { /* Counts are a nicety; the list reads fine without them. */ });
  }

  function start() {
    var section = document.querySelector(".cs-comments[data-article-id]");
    if (section && !section.hasAttribute("data-ready")) {
      section.setAttribute("data-ready", "");
      if (section.getAttribute("data-state") === "open") {
        setUpForm(section);
        checkStatus(section);
      }
      load(section).then(function () { poll(section); });
    }
    var holder = document.querySelector("[data-comment-counts]");
    if (holder && !holder.hasAttribute("data-ready")) {
      holder.setAttribute("data-ready", "");
      fillCounts(holder);
    }
  }

  /* Material's bundle is deferred and comes after this script, so document$ may not exist
     yet: wait for the parse to finish (DOMContentLoaded fires after every deferred script,
     load covers a late insertion), then hook into instant navigation if it is there. */
  var hooked = false;
  function hook() {
    if (hooked) return;
    hooked = true;
    if (window.document$ && window.document$.subscribe) window.document$.subscribe(start);
    else start();
  }
  if (window.document$ || document.readyState === "complete") hook();
  else {
    document.addEventListener("DOMContentLoaded", hook);
    window.addEventListener("load", hook);
  }
})();
