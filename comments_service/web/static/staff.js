/* Staff pages, enhanced: queue shortcuts, the reply box on a row, templates at the cursor.
 * Every feature here has a plain-HTML path that works without this script: row buttons are
 * form buttons, the Reply link opens the comment's page, and "Use template" posts the typed
 * text with the template, which the server appends.
 */
(function () {
  "use strict";

  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("article.row")); };

  function templatesById() {
    var data = document.getElementById("reply-templates");
    var found = {};
    if (!data) { return found; }
    try {
      JSON.parse(data.textContent || "[]").forEach(function (t) { found[String(t.id)] = t.body; });
    } catch (e) { /* a broken list leaves the server-side button working */ }
    return found;
  }

  // Insert the chosen template where the cursor is, keeping everything already typed.
  function insertTemplate(button) {
    var form = button.form;
    var select = form && form.querySelector("select[name=template]");
    var box = form && form.querySelector("textarea.reply-text");
    var text = select && templatesById()[select.value];
    if (!box || typeof text !== "string") { return false; }
    var start = box.selectionStart, end = box.selectionEnd;
    if (document.activeElement !== box && box.dataset.caret) {
      start = end = Number(box.dataset.caret);
    }
    var before = box.value.slice(0, start), after = box.value.slice(end);
    var lead = before && !/\n$/.test(before) ? "\n\n" : "";
    var trail = after && !/^\n/.test(after) ? "\n\n" : "";
    box.setRangeText(lead + text + trail, start, end, "end");
    box.dataset.caret = String(box.selectionEnd);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var use = target && target.closest("button.use-template");
    if (use && insertTemplate(use)) { event.preventDefault(); return; }
    var link = target && target.closest("a[data-quick-reply]");
    if (link && openReply(link.closest("article.row"))) { event.preventDefault(); return; }
    var cancel = target && target.closest("button.quick-reply-cancel");
    if (cancel) { closeReply(cancel.closest("article.row")); }
  });

  // Where the cursor was when the box lost focus (choosing a template moves focus away).
  document.addEventListener("focusout", function (event) {
    var box = event.target;
    if (box instanceof HTMLTextAreaElement && box.classList.contains("reply-text")) {
      box.dataset.caret = String(box.selectionStart);
    }
  });

  function openReply(row) {
    var form = row && row.querySelector("form.quick-reply");
    if (!form) { return false; }
    form.hidden = false;
    row.classList.add("replying");
    form.querySelector("textarea").focus();
    return true;
  }

  function closeReply(row) {
    var form = row && row.querySelector("form.quick-reply");
    if (!form) { return; }
    form.hidden = true;
    row.classList.remove("replying");
    row.focus();
  }

  // A shortcut must never eat a letter meant for a field; a ticked box is not a field.
  function typing(target) {
    if (!(target instanceof Element)) { return false; }
    if (target instanceof HTMLInputElement) {
      return !/^(checkbox|radio|button|submit|reset)$/.test(target.type);
    }
    return target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function currentRow() {
    var active = document.activeElement;
    return active instanceof Element ? active.closest("article.row") : null;
  }

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var index = list.indexOf(currentRow());
    var next = index < 0 ? (step > 0 ? 0 : list.length - 1)
      : Math.min(list.length - 1, Math.max(0, index + step));
    list[next].focus();
    list[next].scrollIntoView({ block: "nearest" });
  }

  function press(row, action) {
    var button = row && row.querySelector('button[value="' + action + ":" + row.dataset.commentId + '"]');
    if (button) { button.click(); }
  }

  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (!help) { return; }
    help.open = !help.open;
    if (help.open) { help.querySelector("summary").focus(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && currentRow() && currentRow().classList.contains("replying")) {
      closeReply(currentRow());
      return;
    }
    if (typing(event.target) || !rows().length) { return; }
    var row = currentRow();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "?": toggleHelp(); break;
      case "a": press(row, "approve"); break;
      case "r": press(row, "reject"); break;
      case "s": press(row, "spam"); break;
      case "x": {
        var box = row && row.querySelector("input[name=ids]");
        if (box) { box.checked = !box.checked; }
        break;
      }
      case "e": if (!openReply(row)) { return; } break;
      case "Enter":
        // Only on the row itself: Enter on a button or link keeps its usual meaning.
        if (!row || event.target !== row || !openReply(row)) { return; }
        break;
      default: return;
    }
    event.preventDefault();
  });
}());
