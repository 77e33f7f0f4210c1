// The run pages (批量匹配, a run's page): while a full run is in progress, poll its progress
// (JSON: batch_matching.views.RunProgressView) every second and update what the page shows of
// it — counts, the bar and its percentage, state, end time, the per-product figures — without
// a reload; stop when the run is over. The status line is an aria-live region, announced when
// the percentage or the state changes (not at every poll). Loaded as a file: the CSP forbids
// inline scripts.
(function () {
  "use strict";
  var BADGES = { succeeded: "text-bg-success", failed: "text-bg-danger", running: "text-bg-primary", finalizing: "text-bg-primary" };
  var ALL_BADGES = ["text-bg-success", "text-bg-danger", "text-bg-primary", "text-bg-secondary"];

  function text(value, empty) {
    if (value === null || value === undefined || value === "") return empty || "";
    return String(value);
  }

  function timings(t) {
    if (!t || t.chunks === undefined) return "";
    return "分块 " + t.chunks + " · 索引 " + t.index + " · 追平 " + t.catch_up + " · 切换 " + t.swap;
  }

  function fill(root, data) {
    root.querySelectorAll("[data-run-field]").forEach(function (el) {
      if (el.closest("[data-run-product]") && !root.matches("[data-run-product]")) return;
      var name = el.dataset.runField;
      var value = name === "timings" ? timings(data.timings) : data[name];
      el.textContent = text(value, el.dataset.runEmpty);
    });
  }

  function status(data) {
    if (data.finished) {
      if (data.succeeded) {
        return data.state_label + "(100%), 结束于 " + data.finished_at + (data.in_force ? "; 新的匹配结果已生效" : "");
      }
      return data.state_label + (data.message ? ": " + data.message : "");
    }
    if (data.finalizing) return data.state_label + ": 全部分块已完成(" + data.percent + "%)";
    return data.state_label + ": 已完成 " + data.chunks_done + " / " + data.chunks_total + " 个分块(" + data.percent + "%)";
  }

  function apply(data) {
    var scopes = document.querySelectorAll('[data-run="' + data.id + '"]');
    scopes.forEach(function (scope) {
      fill(scope, data);
      scope.querySelectorAll("[data-run-badge]").forEach(function (badge) {
        ALL_BADGES.forEach(function (c) { badge.classList.remove(c); });
        badge.classList.add(BADGES[data.state] || "text-bg-secondary");
      });
      scope.querySelectorAll("[data-run-progress]").forEach(function (bar) {
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
      });
      scope.querySelectorAll("[data-run-show]").forEach(function (el) {
        el.hidden = !data[el.dataset.runShow];
      });
      (data.products || []).forEach(function (product) {
        scope.querySelectorAll('[data-run-product="' + product.id + '"]').forEach(function (row) {
          fill(row, product);
        });
      });
      scope.querySelectorAll("[data-run-status]").forEach(function (el) {
        var next = status(data);
        if (el.textContent !== next) el.textContent = next; // announced only when it changes
      });
    });
    if (data.finished) {
      document.querySelectorAll('[data-run-enable="' + data.id + '"]').forEach(function (button) {
        button.disabled = false;
      });
    }
  }

  function poll(card) {
    var url = card.dataset.runPoll;
    var failures = 0;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          apply(data);
          if (!data.finished) window.setTimeout(tick, 1000);
          else delete card.dataset.runPoll;
        })
        .catch(function () {
          failures += 1; // a lost connection: back off, give up after a minute of failures
          if (failures < 12) window.setTimeout(tick, 5000);
        });
    }
    window.setTimeout(tick, 1000);
  }

  document.querySelectorAll("[data-run-poll]").forEach(poll);
})();
