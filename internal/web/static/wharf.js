// Small, optional behaviour: every page works without it.
"use strict";
document.addEventListener("click", (ev) => {
  const copy = ev.target.closest("[data-copy]");
  if (copy) {
    const src = document.getElementById(copy.dataset.copy);
    if (src && navigator.clipboard) {
      navigator.clipboard.writeText(src.textContent.trim()).then(() => {
        const was = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(() => { copy.textContent = was; }, 1500);
      });
    }
  }
  const all = ev.target.closest("[data-select-all]");
  if (all) {
    for (const box of document.querySelectorAll("input[type=checkbox][name=" + all.dataset.selectAll + "]")) {
      box.checked = all.checked;
    }
  }
});
document.addEventListener("submit", (ev) => {
  const msg = ev.target.dataset.confirm;
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});
