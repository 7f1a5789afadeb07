// 起草发文: the live 标题 hint, the default 行文方向 per 文种, ordering attachments.
(function () {
  const names = JSON.parse(document.getElementById("doc-type-names").textContent);
  const directions = JSON.parse(document.getElementById("doc-type-directions").textContent);
  const type = document.getElementById("id_doc_type"), title = document.getElementById("id_title");
  const direction = document.getElementById("id_direction");
  const hint = document.getElementById("title-hint"), hintType = document.getElementById("title-hint-type");
  function check() {
    const name = names[type.value] || "";
    hintType.textContent = name;
    hint.classList.toggle("d-none", !title.value.trim() || title.value.trim().endsWith(name));
  }
  type.addEventListener("change", function () { if (directions[type.value]) direction.value = directions[type.value]; check(); });
  title.addEventListener("input", check);
  check();
  const list = document.getElementById("attachment-list");
  // The numbers shown are the order the attachments will be printed in (附件说明).
  function renumber() {
    list.querySelectorAll(".doc-out-attachment-seq").forEach(function (seq, index) { seq.textContent = (index + 1) + "."; });
  }
  list.addEventListener("click", function (event) {
    const button = event.target.closest("button"); if (!button) return;
    const row = button.closest("li");
    if (button.hasAttribute("data-remove")) row.remove();
    else if (row.previousElementSibling) row.parentNode.insertBefore(row, row.previousElementSibling);
    renumber();
  });
})();

// 修改后复核: mark the elements of substance and warn, while editing, that a change to one of
// them sends the document back to its signer for 复审 (条例 第二十五条(一)).
(function () {
  const form = document.getElementById("outgoing-form");
  if (!form || !form.dataset.substantive) return;
  const keys = form.dataset.substantive.split(" ");
  const warning = document.getElementById("resign-warning");
  const list = document.getElementById("attachment-list");
  function badge(target) {
    if (!target) return;
    const mark = document.createElement("span");
    mark.className = "badge doc-out-substantive ms-1";
    mark.textContent = form.dataset.substantiveLabel;
    target.appendChild(mark);
  }
  const fields = [];
  keys.forEach(function (key) {
    if (key === "attachments") { badge(document.querySelector("#attachments legend")); return; }
    const field = document.getElementById("id_" + key);
    if (!field) return;
    badge(document.querySelector("label[for='id_" + key + "']"));
    fields.push(field);
  });
  function value(field) {
    return field.multiple ? Array.from(field.selectedOptions).map(function (o) { return o.value; }).join(",") : field.value;
  }
  function attachments() {
    return Array.from(list.querySelectorAll("li")).map(function (row) {
      return row.querySelector("[name=attachment_id]").value + ":" + row.querySelector("[name=attachment_title]").value.trim();
    }).join("|");
  }
  const start = fields.map(value);
  const startAttachments = attachments();
  const uploads = form.querySelectorAll("[name=new_attachment], [name=body_docx]");
  function check() {
    const changed = fields.some(function (field, index) { return value(field) !== start[index]; })
      || attachments() !== startAttachments
      || Array.from(uploads).some(function (input) { return input.files && input.files.length > 0; });
    warning.classList.toggle("d-none", !changed);
  }
  form.addEventListener("input", check);
  form.addEventListener("change", check);
  list.addEventListener("click", function () { setTimeout(check, 0); });
  check();
})();
