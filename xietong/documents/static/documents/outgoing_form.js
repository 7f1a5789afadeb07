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
