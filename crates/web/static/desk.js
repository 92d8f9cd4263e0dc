// The registration desk's "possibly already registered" panel: as a member's names are typed,
// the member is checked against the registry and the server's answer (already in the user's
// language) is shown beside the form. Without this script the form works the same.
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

  form.addEventListener("input", function (e) {
    const fieldset = e.target.closest("fieldset.member");
    if (!fieldset) return;
    const member = fieldset.dataset.member;
    clearTimeout(timer);
    timer = setTimeout(function () { check(member); }, 350);
  });
})();
