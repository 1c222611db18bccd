/* Marketing dashboard: draws the charts a page describes in its #chart-data JSON block
 * ([{id, type, title, labels, datasets: [{label, data}], stacked?, horizontal?, links?}]).
 * A click on a bar, slice or line point with a link opens the questions behind it. */
(function () {
  "use strict";
  var PALETTE = ["#2f5d8a", "#e07a2e", "#1f7a3f", "#a32020", "#7b4fa0", "#0f8a8a",
                 "#b8860b", "#5c6b7a", "#c2185b", "#3f8f2f"];

  function draw(spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas || !window.Chart) return;
    var many = spec.type === "doughnut" || (spec.datasets.length === 1 && spec.type === "bar");
    var datasets = spec.datasets.map(function (set, i) {
      var colour = PALETTE[i % PALETTE.length];
      return {
        label: set.label, data: set.data, borderWidth: spec.type === "line" ? 2 : 0,
        borderColor: many && spec.type === "doughnut" ? "#fff" : colour,
        backgroundColor: many ? set.data.map(function (_, j) {
          return spec.type === "doughnut" ? PALETTE[j % PALETTE.length] : colour;
        }) : colour,
        tension: 0.25, pointRadius: 3
      };
    });
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, animation: false, indexAxis: spec.horizontal ? "y" : "x",
        aspectRatio: spec.type === "doughnut" ? 1.6 : (spec.aspectRatio || 2),
        plugins: { title: { display: true, text: spec.title },
                   legend: { display: spec.datasets.length > 1 || spec.type === "doughnut" } },
        scales: spec.type === "doughnut" ? {} : {
          x: { stacked: !!spec.stacked }, y: { stacked: !!spec.stacked, beginAtZero: true }
        },
        onClick: function (_event, elements) {
          if (!spec.links || !elements.length) return;
          var element = elements[0];
          var index = spec.type === "line" ? element.datasetIndex : element.index;
          if (spec.links[index]) window.location.assign(spec.links[index]);
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = spec.links && elements.length ? "pointer" : "default";
        }
      }
    });
    canvas.dataset.drawn = "1";
    return chart;
  }

  function start() {
    var block = document.getElementById("chart-data");
    if (!block) return;
    JSON.parse(block.textContent).forEach(draw);
    document.body.dataset.chartsReady = "1";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
