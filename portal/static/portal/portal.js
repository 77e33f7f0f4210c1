// Portal behaviours, loaded as a file (no inline scripts: the pages run under a strict CSP).
document.addEventListener("click", function (event) {
  const target = event.target.closest("[data-confirm]");
  // data-confirm-if-blank="NAME": ask only when the form's field NAME is empty (e.g. a mark cleared)
  const blank = target && target.dataset.confirmIfBlank;
  if (blank && target.form && target.form.elements[blank] && target.form.elements[blank].value !== "") {
    return;
  }
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});
