/* Comments on article pages: keeps the baked thread current, sends the form without
   leaving the page, and fills comment counts on article lists. No framework, no other host.
   Material re-runs this file on every instant navigation, so it sets itself up once and
   then reacts to each page through document$. */
(function () {
  "use strict";
  if (window.commentsScript) return;
  window.commentsScript = true;

  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  // Same wording as bake.display_time, so live and baked comments read alike.
  function displayTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + ", " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  }

  function countText(n) {
    return n === 0 ? "No comments yet." : n === 1 ? "1 comment" : n + " comments";
  }

  function api(section, path) {
    return (section.getAttribute("data-service") || "") + path;
  }

  /* Mirrors templates/_comments.html. Only body_html, which the service sanitised when the
     comment was written, is inserted as HTML; everything else is text. */
  function buildItem(c, open) {
    var li = el("li", "cs-item");
    li.setAttribute("data-comment-id", c.id);
    var art = el("article", "cs-comment" + (c.staff ? " cs-staff" : ""));
    art.id = "comment-" + c.id;
    var meta = el("header", "cs-meta");
    meta.appendChild(el("span", "cs-author", c.author));
    if (c.staff) {
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("strong", "cs-badge", "Staff"));
    }
    meta.appendChild(document.createTextNode(" "));
    var anchor = el("a", "cs-anchor");
    anchor.href = "#comment-" + c.id;
    var time = el("time", null, displayTime(c.created_at));
    time.setAttribute("datetime", c.created_at);
    anchor.appendChild(time);
    meta.appendChild(anchor);
    art.appendChild(meta);
    var body = el("div", "cs-body");
    body.setAttribute("data-nosnippet", "");
    body.innerHTML = c.body_html;
    art.appendChild(body);
    if (c.staff && c.signature) art.appendChild(el("p", "cs-signature", c.signature));
    var actions = el("p", "cs-actions");
    actions.hidden = !open;
    var reply = el("a", "cs-reply", "Reply");
    reply.href = "#comment-form";
    reply.setAttribute("data-reply", c.id);
    reply.appendChild(el("span", "cs-sr", " to " + c.author));
    actions.appendChild(reply);
    art.appendChild(actions);
    li.appendChild(art);
    return li;
  }

  function shape(list, kids) {
    return list.map(function (c) {
      var sub = kids[c.id];
      return c.id + (sub ? "(" + shape(sub, kids) + ")" : "");
    }).join(",");
  }

  function domShape(ol) {
    if (!ol) return "";
    var parts = [];
    for (var li = ol.firstElementChild; li; li = li.nextElementSibling) {
      if (!li.hasAttribute("data-comment-id")) continue;
      var sub = li.querySelector(":scope > ol.cs-replies");
      var inner = domShape(sub);
      parts.push(li.getAttribute("data-comment-id") + (inner ? "(" + inner + ")" : ""));
    }
    return parts.join(",");
  }

  /* Makes the thread match the service's list: comments approved since the build appear
     in place, removed ones disappear. Existing nodes are moved, not rebuilt, so a reader's
     place and the form (which may sit under a comment) survive. */
  function reconcile(section, comments) {
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
          var li = existing[c.id] || buildItem(c, open);
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
      else thread.appendChild(fresh);
      if (!roots.length) fresh.remove();
      if (kept && kept.isConnected && document.activeElement !== kept) {
        kept.focus({ preventScroll: true });
        if (caret) kept.setSelectionRange(caret[0], caret[1]);
      }
    }
    var count = section.querySelector(".cs-count");
    count.setAttribute("data-count", comments.length);
    count.textContent = countText(comments.length);
  }

  function load(section) {
    var id = section.getAttribute("data-article-id");
    // no-cache: the browser revalidates with the ETag it kept, so an unchanged thread
    // costs a 304 and no body.
    return fetch(api(section, "/api/articles/" + encodeURIComponent(id) + "/comments"), {
      cache: "no-cache", headers: { Accept: "application/json" }
    }).then(function (res) {
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    }).then(function (data) {
      reconcile(section, Array.isArray(data) ? data : data.comments || []);
      showTarget(section);
    }).catch(function () {
      // The baked thread stays as it is; nothing to tell the reader unless it is empty.
      var count = section.querySelector(".cs-count");
      if (count && count.getAttribute("data-count") === "") {
        count.textContent = "Comments could not be loaded. Please try again later.";
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
    var text = count ? "Please correct " + (count === 1 ? "the field" : "the " + count + " fields") +
      " marked below." : "";
    say(status, (text + " " + general.join(" ")).trim(), true);
    return first;
  }

  function say(status, text, isError) {
    status.textContent = "";
    status.classList.toggle("cs-status--error", !!isError);
    // A fresh text node after clearing makes screen readers announce repeated messages.
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function checkLocally(form) {
    var errors = {};
    if (!form.elements.author.value.trim()) errors.author = "Please enter your name.";
    var email = form.elements.email.value.trim();
    if (!email) errors.email = "Please enter your email address.";
    else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      errors.email = "Please enter an email address such as name@example.org.";
    }
    if (!form.elements.body.value.trim()) errors.body = "Please write your comment.";
    if (!form.elements.accept_terms.checked) {
      errors.accept_terms = "Please confirm that you accept the terms of use.";
    }
    return errors;
  }

  function minutesText(seconds) {
    var minutes = Math.max(1, Math.ceil(seconds / 60));
    return minutes === 1 ? "1 minute" : minutes + " minutes";
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
    say(status, "Sending your comment…", false);
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
      say(status, "Your comment could not be sent: the comments service did not answer. " +
        "Check your connection and try again; what you wrote is still here.", true);
    }).then(function () { button.disabled = false; });
  }

  function handleResponse(section, form, status, res, data) {
    var kept = " What you wrote is still here.";
    if (res.ok) {
      var notice = section.querySelector("#comment-pending");
      var message = (data && data.message) ||
        "Thank you: your comment was received and is awaiting moderation. It will appear here " +
        "once a moderator has approved it.";
      notice.textContent = "";
      // An urgent comment's message starts with the crisis notice, a blank line apart.
      message.split(/\n\s*\n/).forEach(function (part) { notice.appendChild(el("p", null, part)); });
      notice.classList.add("cs-notice--shown");
      form.elements.body.value = "";
      form.elements.accept_terms.checked = false;
      resetReply(section, false);
      // The notice (just above the form) takes focus and is read out; the live region
      // adds a short confirmation for those who stay in the form.
      say(status, "Comment sent: it is awaiting moderation.", false);
      notice.focus();
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
      text = "Comments on this article are closed, so your comment was not sent.";
    } else if (res.status === 429) {
      var wait = parseInt(res.headers.get("Retry-After"), 10);
      text = "You have sent several comments in a short time. Please try again in " +
        minutesText(isNaN(wait) ? 600 : wait) + "." + kept;
    } else if (res.status === 413) {
      text = "Your comment is too long to send. Please shorten it and try again." + kept;
    } else {
      text = (typeof detail === "string" ? detail + " " : "Your comment could not be sent " +
        "because of a problem on our side (error " + res.status + "). Please try again later.") +
        kept;
    }
    say(status, text, true);
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
    note.textContent = "Replying to " + author + ".";
    note.hidden = false;
    form.querySelector(".cs-cancel").hidden = false;
    li.querySelector(":scope > article").after(form);
    form.elements.body.focus();
  }

  function setUpForm(section) {
    var form = section.querySelector(".cs-form");
    if (!form) return;
    form.noValidate = true;
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
    var url = (holder.getAttribute("data-service") || "") + "/api/counts?" +
      ids.map(function (id) { return "article=" + encodeURIComponent(id); }).join("&");
    fetch(url, { cache: "no-cache", headers: { Accept: "application/json" } })
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.json(); })
      .then(function (counts) {
        slots.forEach(function (s) {
          var n = counts[s[0]];
          if (typeof n !== "number") return;
          var span = s[1].querySelector(":scope > .cs-list-count");
          if (!span) {
            s[1].appendChild(document.createTextNode(" "));
            span = s[1].appendChild(el("span", "cs-list-count"));
          }
          span.textContent = "\u00b7 " + (n === 1 ? "1 comment" : n + " comments");
        });
      })
      .catch(function () { /* Counts are a nicety; the list reads fine without them. */ });
  }

  function start() {
    var section = document.querySelector(".cs-comments[data-article-id]");
    if (section && !section.hasAttribute("data-ready")) {
      section.setAttribute("data-ready", "");
      if (section.getAttribute("data-state") === "open") setUpForm(section);
      load(section);
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
