/* Marketing dashboard: draws the charts a page describes in its #chart-data JSON block
 * ([{id, type, title, labels, datasets: [{label, data}], stacked?, horizontal?, links?,
 *    partial?}]).
 * A click on a bar, slice or line point with a link opens the questions behind it.
 * `partial` lists the indexes of weeks not over yet (or cut by the period): their lines are
 * dashed and their bars paler, so a week under way does not read as a plunge.
 * The doughnut's tooltip gives each slice's count and share of the total. */
(function () {
  "use strict";
  var PALETTE = ["#2f5d8a", "#e07a2e", "#1f7a3f", "#a32020", "#7b4fa0", "#0f8a8a",
                 "#b8860b", "#5c6b7a", "#c2185b", "#3f8f2f"];
  var PALE = "66"; /* alpha appended to a colour for a partial week's bar */

  function isPartial(spec, index) {
    return !!spec.partial && spec.partial.indexOf(index) !== -1;
  }

  function share(value, values) {
    var total = values.reduce(function (sum, v) { return sum + (Number(v) || 0); }, 0);
    if (!total) return "0%";
    return (value / total * 100).toFixed(1).replace(".", ",") + "%";
  }

  function dataset(spec, set, i) {
    var many = spec.type === "doughnut" || (spec.datasets.length === 1 && spec.type === "bar");
    var colour = PALETTE[i % PALETTE.length];
    var fill = many ? set.data.map(function (_, j) {
      return spec.type === "doughnut" ? PALETTE[j % PALETTE.length] : colour;
    }) : colour;
    if (spec.type === "bar" && spec.partial && spec.partial.length) {
      fill = set.data.map(function (_, j) {
        var base = Array.isArray(fill) ? fill[j] : fill;
        return isPartial(spec, j) ? base + PALE : base;
      });
    }
    var out = {
      label: set.label, data: set.data, borderWidth: spec.type === "line" ? 2 : 0,
      borderColor: many && spec.type === "doughnut" ? "#fff" : colour,
      backgroundColor: fill, tension: 0.25, pointRadius: 3
    };
    if (spec.type === "line" && spec.partial && spec.partial.length) {
      out.segment = { borderDash: function (ctx) {
        return isPartial(spec, ctx.p1DataIndex) ? [6, 4] : undefined;
      } };
    }
    return out;
  }

  function tooltip(spec) {
    if (spec.type !== "doughnut") return {};
    return { callbacks: { label: function (ctx) {
      return " " + ctx.label + ": " + ctx.parsed + " (" + share(ctx.parsed, ctx.dataset.data) + ")";
    } } };
  }

  function draw(spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas || !window.Chart) return;
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets.map(function (set, i) {
        return dataset(spec, set, i);
      }) },
      options: {
        responsive: true, animation: false, indexAxis: spec.horizontal ? "y" : "x",
        aspectRatio: spec.type === "doughnut" ? 1.6 : (spec.aspectRatio || 2),
        plugins: { title: { display: true, text: spec.title },
                   legend: { display: spec.datasets.length > 1 || spec.type === "doughnut" },
                   tooltip: tooltip(spec) },
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
