// The registration desk, keyboard first. Enter in a member's block moves to the next member's
// given name, adding a block after the last (as "add a member" does); without this script the
// same button asks the server for the form with one more block. As a member's names are
// typed, the member is checked against the registry and the server's answer (already in the
// user's language) is shown beside the form; the panel follows the member being typed.
"use strict";
(function () {
  const form = document.getElementById("household-form");
  const panel = document.getElementById("possible-duplicates");
  if (!form || !panel) return;
  const csrf = form.querySelector("input[name=csrf]").value;
  const fields = ["given_name", "father_name", "grandfather_name", "family_name", "sex", "age",
    "birth_date", "province_of_origin", "document_number", "phone"];
  let timer = null;
  let latest = 0;
  let shown = null;

  function check(member) {
    const body = new URLSearchParams();
    body.set("csrf", csrf);
    const site = form.querySelector("[name=site]");
    if (site) body.set("site", site.value);
    for (const f of fields) {
      const input = form.querySelector("[name=" + f + "_" + member + "]");
      if (input) body.set(f, input.value);
    }
    const asked = ++latest;
    shown = member;
    fetch("/households/check", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "x-csrf-token": csrf },
    })
      // A session that ended answers with the sign-in page: show nothing rather than that.
      .then(function (r) { return r.ok && !r.redirected ? r.text() : ""; })
      .then(function (html) {
        if (asked === latest) panel.innerHTML = html;
      })
      .catch(function () { /* the desk goes on; the check is advice */ });
  }

  function digits(n) {
    const set = form.dataset.digits || "0123456789";
    return String(n).replace(/[0-9]/g, function (d) { return set[Number(d)]; });
  }

  // A copy of the last member's block, emptied and numbered for the next member.
  function addMember() {
    const blocks = form.querySelectorAll("fieldset.member");
    const last = blocks[blocks.length - 1];
    const next = blocks.length;
    const block = last.cloneNode(true);
    block.dataset.member = String(next);
    block.querySelector("legend").textContent =
      (form.dataset.memberLegend || "#").replace("#", digits(next + 1));
    for (const el of block.querySelectorAll("[name]")) {
      el.name = el.name.replace(/_[0-9]+$/, "_" + next);
      el.removeAttribute("autofocus");
      el.removeAttribute("required");
      if (el.type === "checkbox") el.checked = false;
      else if (el.tagName === "SELECT") el.selectedIndex = 0;
      else el.value = "";
    }
    const more = block.querySelector("details");
    if (more) more.open = false;
    last.after(block);
    block.querySelector("[name^=given_name_]").focus();
  }

  // Enter in a member's block goes to the next member's given name, adding a block after
  // the last one.
  form.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.shiftKey || e.ctrlKey || e.altKey || e.isComposing) return;
    const t = e.target;
    if (t.tagName === "BUTTON" || t.tagName === "SUMMARY" || t.tagName === "TEXTAREA") return;
    const block = t.closest("fieldset.member");
    if (!block) return;
    e.preventDefault();
    const next = form.querySelector("fieldset.member[data-member='" + (Number(block.dataset.member) + 1) + "']");
    if (next) next.querySelector("[name^=given_name_]").focus();
    else addMember();
  });

  form.addEventListener("submit", function (e) {
    if (e.submitter && e.submitter.name === "add_member") {
      e.preventDefault();
      addMember();
    }
  });

  form.addEventListener("input", function (e) {
    const fieldset = e.target.closest("fieldset.member");
    if (!fieldset) return;
    const member = fieldset.dataset.member;
    clearTimeout(timer);
    timer = setTimeout(function () { check(member); }, 350);
  });

  // Back in an earlier member's block, the panel shows that member again.
  form.addEventListener("focusin", function (e) {
    const fieldset = e.target.closest("fieldset.member");
    if (!fieldset || fieldset.dataset.member === shown) return;
    const name = fieldset.querySelector("[name^=given_name_]");
    if (name && name.value.trim() !== "") check(fieldset.dataset.member);
  });
})();
