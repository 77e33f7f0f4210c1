// Portal behaviours, loaded as a file (no inline scripts: the pages run under a strict CSP).
document.addEventListener("click", function (event) {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});
