// 报表 page: the export form goes to /reporting/export/<kind>.<format>?… (no inline script: CSP).
(function () {
  "use strict";
  var form = document.querySelector("[data-testid=export-form]");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var kind = data.get("kind"), format = data.get("format");
    var params = new URLSearchParams();
    ["period", "region", "by"].forEach(function (key) { if (data.get(key)) { params.set(key, data.get(key)); } });
    window.location.href = form.dataset.exportBase.replace(/reports\/$/, "export/") + kind + "." + format + "?" + params.toString();
  });
})();
