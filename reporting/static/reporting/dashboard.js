// 驾驶舱 charts (Apache ECharts, served locally). Loaded as a file: the page runs under a
// strict CSP, so the data comes from the <script type="application/json" id="chart-data">
// block and behaviour is bound here, never inline.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var charts = [];
  var palette = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#198754"];

  function init(el, option) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ color: palette, animation: false }, option));
    charts.push(chart);
    el.dataset.ready = "1";
    return chart;
  }

  function gauge(el) {
    var g = data.gauges[Number(el.dataset.index)];
    var value = g.value === null ? 0 : g.value;
    init(el, {
      series: [{
        type: "gauge", min: 0, max: 100, radius: "95%", startAngle: 200, endAngle: -20,
        progress: { show: true, width: 12 }, axisLine: { lineStyle: { width: 12 } },
        axisTick: { show: false }, splitLine: { length: 8 }, axisLabel: { distance: 14, fontSize: 10 },
        pointer: { width: 4 }, title: { show: false },
        detail: { valueAnimation: false, fontSize: 20, offsetCenter: [0, "60%"], formatter: g.value === null ? "—" : "{value}%" },
        data: [{ value: value, name: g.name }]
      }]
    });
  }

  function funnel(el) {
    init(el, {
      tooltip: { trigger: "item", formatter: "{b}: {c} 户" },
      series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", gap: 2,
                 label: { show: true, position: "inside", formatter: "{b} {c}" }, data: data.funnel }]
    });
  }

  function trend(el) {
    var t = data.trend;
    init(el, {
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 50, right: 60, top: 40, bottom: 30 },
      xAxis: { type: "category", data: t.months },
      yAxis: [{ type: "value", name: "笔" }, { type: "value", name: "万元" }],
      series: [
        { name: "推荐", type: "bar", data: t.recommended },
        { name: "已对接", type: "bar", data: t.contacted },
        { name: "授信", type: "bar", data: t.credited },
        { name: "放款", type: "bar", data: t.disbursed },
        { name: "授信金额", type: "line", yAxisIndex: 1, data: t.credit_amount },
        { name: "放款金额", type: "line", yAxisIndex: 1, data: t.disbursed_amount }
      ]
    });
  }

  function ranking(el) {
    var r = data.ranking;
    init(el, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, legend: { top: 0 },
      grid: { left: 110, right: 30, top: 40, bottom: 30 },
      xAxis: { type: "value", name: "万元" },
      yAxis: { type: "category", data: r.banks.slice().reverse() },
      series: [
        { name: "授信金额", type: "bar", data: r.credit_amount.slice().reverse() },
        { name: "放款金额", type: "bar", data: r.disbursed_amount.slice().reverse() }
      ]
    });
  }

  function oneHigh(el) {
    var o = data.one_high;
    init(el, {
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 50, right: 60, top: 40, bottom: 30 },
      xAxis: { type: "category", data: o.months },
      yAxis: [{ type: "value", name: "%" }, { type: "value", name: "利率%", scale: true }],
      series: [
        { name: "小微贷款比年初增速", type: "line", data: o.small_business_growth },
        { name: "各项贷款比年初增速", type: "line", data: o.all_loans_growth },
        { name: "信用贷款占比", type: "line", data: o.credit_loan_share },
        { name: "平均利率", type: "line", yAxisIndex: 1, data: o.average_rate }
      ]
    });
  }

  var kinds = { gauge: gauge, funnel: funnel, trend: trend, ranking: ranking, one_high: oneHigh };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var draw = kinds[el.dataset.chart];
    if (draw) { draw(el); }
  });

  // chart ⇄ table view
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-toggle-view]");
    if (!button) { return; }
    var name = button.dataset.toggleView;
    var chart = document.getElementById("chart-" + name);
    var table = document.getElementById("table-" + name);
    var showTable = table.classList.contains("d-none");
    table.classList.toggle("d-none", !showTable);
    if (chart) { chart.classList.toggle("d-none", showTable); }
    button.setAttribute("aria-pressed", String(showTable));
    button.querySelector("span").textContent = showTable ? "图表" : "表格";
    if (!showTable) { charts.forEach(function (c) { c.resize(); }); }
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
